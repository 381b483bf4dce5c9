#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool), from the repository root, with .deps carried:
#   bash scripts/gpu_session.sh [tests|sanitize|bench|all]
# Unpacks GoogleTest, Google Benchmark and OpenBLAS into /tmp/deps (never into /), builds
# for sm_90 in Release, then runs the GPU tests, compute-sanitizer, and the benchmarks.
# Logs and results go to $OUT (the device tool brings them back).
set -uo pipefail
what=${1:-all}
out=${OUT:-/tmp/out}
mkdir -p "$out"
deps=/tmp/deps
if [[ ! -d $deps/usr ]]; then
  for deb in .deps/*.deb; do dpkg -x "$deb" "$deps"; done
fi
multiarch=$deps/usr/lib/x86_64-linux-gnu
export CMAKE_PREFIX_PATH=$deps/usr
export LD_LIBRARY_PATH=$multiarch/openblas-pthread:$multiarch:${LD_LIBRARY_PATH:-}
{ nvidia-smi; nvcc --version; } > "$out/machine.txt" 2>&1

cmake -S . -B build-sm90 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DALPHAREQ_WITH_CUDA=ON \
  -DBLAS_LIBRARIES=$multiarch/openblas-pthread/libopenblas.so \
  -DLAPACK_LIBRARIES=$multiarch/openblas-pthread/libopenblas.so \
  -DGTest_DIR=$multiarch/cmake/GTest -Dbenchmark_DIR=$multiarch/cmake/benchmark \
  > "$out/configure.log" 2>&1 || { tail -n 40 "$out/configure.log"; exit 1; }
cmake --build build-sm90 -j 16 > "$out/build.log" 2>&1 || { tail -n 60 "$out/build.log"; exit 1; }
echo "build ok"

if [[ $what == tests || $what == all ]]; then
  ctest --test-dir build-sm90 -L gpu --output-on-failure -j 4 > "$out/ctest-gpu.log" 2>&1
  tail -n 15 "$out/ctest-gpu.log"
  ctest --test-dir build-sm90 -L cpu -j 8 > "$out/ctest-cpu.log" 2>&1
  tail -n 3 "$out/ctest-cpu.log"
fi
if [[ $what == tests || $what == all ]]; then
  # The Python package on the GPU: CUDA tensors read in place, LayerMonitor on CUDA.
  python3 -m venv --system-site-packages /tmp/venv > /dev/null 2>&1
  { /tmp/venv/bin/pip install --no-index --find-links .deps/wheels scikit-build-core nanobind pytest &&
    /tmp/venv/bin/pip install --no-index --no-build-isolation \
      -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 -Ccmake.define.CMAKE_PREFIX_PATH=$deps/usr \
      -Ccmake.define.BLAS_LIBRARIES=$multiarch/openblas-pthread/libopenblas.so \
      -Ccmake.define.LAPACK_LIBRARIES=$multiarch/openblas-pthread/libopenblas.so . ; } \
    > "$out/pip.log" 2>&1 || tail -n 30 "$out/pip.log"
  /tmp/venv/bin/python -m pytest tests/python -q -rs > "$out/pytest.log" 2>&1
  tail -n 15 "$out/pytest.log"
fi
if [[ $what == sanitize || $what == all ]]; then
  for tool in memcheck racecheck synccheck initcheck; do
    for binary in cuda_accumulator_test cuda_pipeline_test cuda_probe_test; do
      compute-sanitizer --tool $tool --error-exitcode 9 build-sm90/tests/$binary \
        --gtest_brief=1 > "$out/sanitizer-$tool-$binary.log" 2>&1
      echo "$tool $binary: exit $? ($(grep -c 'ERROR SUMMARY: 0' "$out/sanitizer-$tool-$binary.log") clean summaries)"
    done
  done
fi
if [[ $what == bench || $what == all ]]; then
  build-sm90/bench/bench_cuda_backend --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/bench_cuda.json" --benchmark_out_format=json > "$out/bench_cuda.txt" 2>&1
  grep median "$out/bench_cuda.txt" | head -n 60
  build-sm90/bench/bench_cpu_backend --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/bench_cpu.json" --benchmark_out_format=json > "$out/bench_cpu.txt" 2>&1
  grep median "$out/bench_cpu.txt"
  build-sm90/alphareq table1 --backend cuda --quiet > "$out/table1_cuda.md" 2>&1; cat "$out/table1_cuda.md"
  build-sm90/alphareq table1 --backend cpu --quiet --repeats 1 > "$out/table1_cpu.md" 2>&1; cat "$out/table1_cpu.md"
fi
