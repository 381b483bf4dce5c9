#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool), from the repository root, with .deps carried
# (made here by scripts/fetch_gpu_deps.sh):
#   bash scripts/gpu_session.sh PHASE [PHASE ...]
# Phases: tests     the GPU and CPU ctest suites (incl. the CUDA example built against the
#                   installed package), pytest with CUDA tensors, CuPy and JAX
#         sanitize  compute-sanitizer memcheck, racecheck, synccheck, initcheck
#         bench     bench_cuda_backend and bench_cpu_backend (the stage tables and ceilings)
#         torch     the PyTorch pipeline beside alphareq.alpha, a PyTorch probe loop beside
#                   `alphareq probe`, on the same device-resident data
#         table1    `alphareq table1` at full size (CUDA, then CPU)
#         profile   Nsight Compute over one device-resident pipeline run
#         all       tests sanitize bench torch table1
# The device tool limits a command to 10 minutes: give each call the phases that fit
# (build ≈ 1–2 min; tests ≈ 3; sanitize ≈ 4; bench ≈ 5; torch ≈ 4; table1 ≈ 5;
# profile ≈ 2; the limits below are the worst cases), e.g. `tests sanitize`, then
# `bench profile`, then `torch table1`. Each phase runs under its own time limit, so one
# that hangs cannot eat the others'. GoogleTest, Google Benchmark and OpenBLAS are unpacked
# into /tmp/deps (never into /). Logs and results go to $OUT, which the device tool brings
# back; $OUT/summary.txt has one line per step. Afterwards, here, the results file:
#   python3 bench/summarise_gpu_run.py OUTDIR --output bench/results/DATE-cuda-h100.md
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/out}
mkdir -p "$out"
summary=$out/summary.txt
note() { echo "$*" | tee -a "$summary"; }

phases=("$@")
[[ ${#phases[@]} -eq 0 || ${phases[0]} == all ]] && phases=(tests sanitize bench torch table1)
wants() { local p; for p in "${phases[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }

# --- dependencies: what Debian's postinst scripts would do, under /tmp/deps -------------
deps=/tmp/deps
multiarch=$deps/usr/lib/x86_64-linux-gnu
if [[ ! -d $deps/usr ]]; then
  for deb in .deps/*.deb; do dpkg -x "$deb" "$deps" || { note "dpkg -x $deb failed"; exit 1; }; done
  # update-alternatives would link these: FindBLAS (also in the installed package's config,
  # used by the example) looks for libopenblas in the multiarch folder itself.
  for lib in libopenblas.so libopenblas.so.0 libblas.so libblas.so.3 liblapack.so liblapack.so.3; do
    ln -sf "openblas-pthread/$lib" "$multiarch/$lib"
  done
fi
export CMAKE_PREFIX_PATH=$deps/usr
export LD_LIBRARY_PATH=$multiarch/openblas-pthread:$multiarch:${LD_LIBRARY_PATH:-}
export PATH=$PATH:/usr/local/cuda/bin
{ date -u; nvidia-smi; nvcc --version; cmake --version | head -n 1; python3 --version; lscpu | head -n 20; } \
  > "$out/machine.txt" 2>&1
note "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"

# --- build (Release, sm_90 only) ----------------------------------------------------------
start=$(date +%s)
cmake -S . -B build-sm90 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DALPHAREQ_WITH_CUDA=ON -DGTest_DIR=$multiarch/cmake/GTest -Dbenchmark_DIR=$multiarch/cmake/benchmark \
  > "$out/configure.log" 2>&1 || { tail -n 40 "$out/configure.log"; exit 1; }
grep -E "BLAS|LAPACK" build-sm90/CMakeCache.txt | grep -E "_LIBRARIES|openblas" | head -n 4 >> "$out/configure.log"
cmake --build build-sm90 -j 16 > "$out/build.log" 2>&1 || { tail -n 60 "$out/build.log"; exit 1; }
note "build ok in $(($(date +%s) - start)) s"

# Runs a command under a time limit, its output to a log; notes the exit status.
run_logged() {  # run_logged SECONDS LOG COMMAND...
  local limit=$1 log=$2; shift 2
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
  local status=$?
  [[ $status -eq 124 || $status -eq 137 ]] && note "TIMED OUT after ${limit}s: $*"
  return $status
}

# The Python package in a venv that sees the machine's PyTorch, CuPy and JAX.
python_package() {
  [[ -x /tmp/venv/bin/python ]] && /tmp/venv/bin/python -c "import alphareq" 2>/dev/null && return 0
  python3 -m venv --system-site-packages /tmp/venv > /dev/null 2>&1
  { /tmp/venv/bin/pip install --no-index --find-links .deps/wheels scikit-build-core nanobind pytest &&
    /tmp/venv/bin/pip install --no-index --no-build-isolation -C build-dir=build-python-sm90 \
      -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 -Ccmake.define.CMAKE_PREFIX_PATH=$deps/usr . ; } \
    > "$out/pip.log" 2>&1 || { note "pip install failed:"; tail -n 30 "$out/pip.log"; }
}

if wants tests; then
  run_logged 240 "$out/ctest-gpu.log" ctest --test-dir build-sm90 -L gpu --output-on-failure -j 4 --timeout 120
  note "ctest gpu: $(grep -E 'tests passed|tests failed' "$out/ctest-gpu.log")"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|Exception|SEGFAULT)" "$out/ctest-gpu.log" | head -n 20 | tee -a "$summary"
  # How many GPU cases were skipped: on a GPU machine it should be only the two-device ones.
  note "ctest gpu skipped: $(grep -c 'Skipped' "$out/ctest-gpu.log")"
  run_logged 240 "$out/ctest-cpu.log" ctest --test-dir build-sm90 -L cpu -j 16 --timeout 120
  note "ctest cpu: $(grep -E 'tests passed|tests failed' "$out/ctest-cpu.log")"

  # The Python package on the GPU: CUDA tensors read in place, CuPy, JAX, LayerMonitor.
  python_package
  ALPHAREQ_CLI="$PWD/build-sm90/alphareq" run_logged 300 "$out/pytest.log" \
    /tmp/venv/bin/python -m pytest tests/python -q -rs
  note "pytest: $(tail -n 1 "$out/pytest.log")"
  grep -E "^(FAILED|ERROR|SKIPPED)" "$out/pytest.log" | head -n 20 | tee -a "$summary"
fi

if wants sanitize; then
  # memcheck over every GPU binary; racecheck, synccheck and initcheck over all but the CLI
  # test (its kernels run in child processes, which the tools do not follow) and without the
  # long concurrency/determinism loops, which the tools slow by orders of magnitude. Four
  # runs at a time (one GPU, 16 cores), each under its own limit.
  sanitize_one() {  # sanitize_one TOOL BINARY FILTER
    local log=$out/sanitizer-$1-$(basename "$2").log
    run_logged 240 "$log" compute-sanitizer --tool "$1" --error-exitcode 9 "$2" --gtest_brief=1 \
      "--gtest_filter=$3"
    note "$1 $(basename "$2"): exit $? ($(grep -m1 'ERROR SUMMARY' "$log" || echo 'no summary'))"
  }
  light='-*UnderLoad*:CudaConcurrency.*:CudaDeterminism*:*IntervalCovers*:*SpanningSeveral*'
  running=0
  for tool in memcheck racecheck synccheck initcheck; do
    for binary in build-sm90/tests/cuda_*_test build-sm90/tests/capi_gpu_test; do
      [[ -x $binary ]] || continue
      [[ $tool != memcheck && $(basename "$binary") == cuda_cli_test ]] && continue
      filter=$([[ $tool == memcheck ]] && echo '-*UnderLoad*' || echo "$light")
      sanitize_one $tool "$binary" "$filter" &
      if ((++running >= 4)); then wait -n; ((running--)); fi
    done
  done
  wait
fi

if wants bench; then
  run_logged 300 "$out/bench_cuda.txt" build-sm90/bench/bench_cuda_backend --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cuda.json" --benchmark_out_format=json
  grep -E "median|TIMED" "$out/bench_cuda.txt" | head -n 80
  run_logged 240 "$out/bench_cpu.txt" build-sm90/bench/bench_cpu_backend --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cpu.json" --benchmark_out_format=json
  grep median "$out/bench_cpu.txt"
fi

if wants torch; then
  # What a PyTorch user would write instead, beside alphareq on the same device-resident data.
  python_package
  run_logged 300 "$out/torch_pipeline.md" /tmp/venv/bin/python bench/torch_pipeline.py --device cuda \
    --json "$out/torch_pipeline.json"
  cat "$out/torch_pipeline.md"
  run_logged 240 "$out/torch_probe.md" /tmp/venv/bin/python bench/torch_probe.py --device cuda \
    --alphareq-cli build-sm90/alphareq --json "$out/torch_probe.json"
  cat "$out/torch_probe.md"
fi

if wants table1; then
  run_logged 300 "$out/table1_cuda.md" build-sm90/alphareq table1 --backend cuda --quiet
  cat "$out/table1_cuda.md"
  run_logged 240 "$out/table1_cpu.md" build-sm90/alphareq table1 --backend cpu --quiet --repeats 1
  cat "$out/table1_cpu.md"
fi

if wants profile; then
  # What bounds each stage: one device-resident pipeline at n = 10,000, D = 2,048.
  run_logged 300 "$out/ncu.txt" ncu --set full --launch-count 40 -o "$out/pipeline" \
    build-sm90/bench/bench_cuda_backend --benchmark_filter='BM_CudaPipelineDeviceResident/10000/2048/0/' \
    --benchmark_min_time=0.01
  tail -n 20 "$out/ncu.txt"
  [[ -f $out/pipeline.ncu-rep ]] && ncu --import "$out/pipeline.ncu-rep" --page details --csv \
    > "$out/ncu-details.csv" 2>&1
fi
note "phases ${phases[*]} done in $(($(date +%s) - start)) s"
