#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool), from the repository root, with .deps carried
# (made here by scripts/fetch_gpu_deps.sh):
#   bash scripts/gpu_session.sh PHASE [PHASE ...]
# Phases (each step under its own limit, in seconds, cut further to what is left of the call):
#   tests     ctest -L gpu (200; incl. the CUDA example built against the installed
#             package), pytest with CUDA tensors, CuPy and JAX (150), the CPU-labelled
#             cases that take the CUDA backend (40)
#   memcheck  compute-sanitizer memcheck over every GPU test binary, all at once (180)
#   bench     bench_cuda_backend, one run per group of cases: the stage table (65), SYRK
#             vs GEMM (65), the ceilings (35), the host stream (65); bench_cpu_backend (80)
#   table1    `alphareq table1 --backend cuda` at full size (260)
#   torch     the PyTorch pipeline beside alphareq.alpha (90), a PyTorch probe loop beside
#             `alphareq probe` (70), on the same device-resident data
#   sanitize  racecheck, synccheck and initcheck (180 each, eight at a time)
#   table1cpu `alphareq table1 --backend cpu` (240; the ImageNet probe extrapolated)
#   profile   Nsight Compute over the accumulation's and the eigensolver's kernels (2 × 60)
#   cputests  ctest -L cpu (180): CI runs these on every change, so only when time is left
#   all       every phase, in this order (more than one call can hold)
# The device tool limits a command to 10 minutes and brings back at most 8 files from $OUT.
# So: every log and result is written to a folder of this call's own and packed, after
# every step, into $OUT/gpu-session-PHASES.tar.gz (with summary.txt, one line per step,
# beside it); and the whole call keeps to GPU_SESSION_SECONDS (default 560, for the
# tool's timeout_s=600): each step's time limit is cut to what is left, a step that no
# longer fits is skipped and says so, and the archive is always written. The phases run in
# the order given, so name first what matters most; inside a phase, what an issue asks for
# comes first.
#
# The plan: three calls, 25 minutes of commands (1,500 s), in the session's 30 minutes of
# device time, which also count the machine's start (1-2 min), the gaps between calls and
# the 30 s it stays warm after the last (give it back at once instead). Three is the fewest
# that hold 25 minutes (10 a call), and every gap over 30 s loses the warm machine: send
# each call as soon as the previous one answers, and read its output afterwards.
#   1. GPU_SESSION_SECONDS=530 bash scripts/gpu_session.sh tests                 (timeout_s 570)
#      the build on a fresh machine (about 2 min, estimated), then 390 s of tests
#   2. GPU_SESSION_SECONDS=520 bash scripts/gpu_session.sh memcheck bench        (timeout_s 560)
#      the build should be seconds on the warm machine (it keeps build-sm90/ and /tmp/deps;
#      unless the tool's copy of the tree renews file times, which 'build ok in N s' in
#      this call's summary would show), then 490 s of memcheck and benchmarks
#   3. GPU_SESSION_SECONDS=450 bash scripts/gpu_session.sh table1 torch sanitize table1cpu profile
#                                                                                (timeout_s 490)
#      table1 and torch take 420 s at their limits; sanitize, table1cpu and profile run only
#      in what those leave (a step is skipped when less than 35 s of the call is left)
# The order is the order of importance: the GPU test suite and the CUDA pytest run, one
# memcheck, the benchmarks, Table 1 on the GPU, the PyTorch comparisons, then the rest. At
# their limits the calls take 1,500 s; with 2 min of start, 2 gaps and the give-back ≈ 28 min.
# The limits are maxima set from lengths read off the code, never yet run. If a reply's
# lease says the machine went back (warm: false), the next call starts a bare one (1-2 min
# more) and rebuilds inside its own budget: give it at most budget_left_s - 150 seconds.
# GoogleTest, Google Benchmark and OpenBLAS are unpacked into /tmp/deps (never into /).
# Afterwards, here, the results file from every call's files_at folder, in the order of
# the calls:
#   python3 bench/summarise_gpu_run.py FILES_AT_1 FILES_AT_2 FILES_AT_3 \
#     --output bench/results/DATE-cuda-h100.md --readme-section /tmp/perf.md
set -uo pipefail
cd "$(dirname "$0")/.."
session_start=$(date +%s)
budget=${GPU_SESSION_SECONDS:-560}
device_out=${OUT:-/tmp/out}  # what the device tool brings back
out=/tmp/gpu-session/$session_start  # this call's logs and results (a warm machine keeps older ones)
mkdir -p "$device_out" "$out"
summary=$out/summary.txt
note() { echo "$*" | tee -a "$summary"; }

# The phases run in the order given: the caller puts first what must not be cut when the
# call's budget runs out (a fixed order here would cut what the caller ranked first).
phases=("$@")
all_phases=(tests memcheck bench table1 torch sanitize table1cpu profile cputests)
[[ ${#phases[@]} -eq 0 || ${phases[0]} == all ]] && phases=("${all_phases[@]}")
for phase in "${phases[@]}"; do
  case $phase in
    tests | memcheck | bench | table1 | torch | sanitize | table1cpu | profile | cputests) ;;
    *) echo "gpu_session.sh: unknown phase '$phase' (${all_phases[*]}, or all)" >&2
       exit 2 ;;
  esac
done
archive=gpu-session-$(IFS=-; echo "${phases[*]}").tar.gz

seconds_left() { echo $((budget - ($(date +%s) - session_start))); }

# Packs this call's folder into $OUT (atomically: a kill mid-pack leaves the last archive).
# The Nsight Compute reports go beside it when they fit the tool's 16 MiB a file.
pack() {
  cp "$summary" "$device_out/summary.txt" 2>/dev/null
  # Sanitizer runs may still be writing their logs: tar's "file changed" (status 1) is fine.
  tar --warning=no-file-changed -czf "$device_out/archive.partial" -C "$out" --exclude='*.ncu-rep' .
  local status=$?
  if ((status <= 1)) && (($(stat -c %s "$device_out/archive.partial") >= 16000000)); then
    # Over the tool's 16 MiB a file: without the bulkiest logs (the build's, ncu's details).
    tar --warning=no-file-changed -czf "$device_out/archive.partial" -C "$out" --exclude='*.ncu-rep' \
      --exclude=build.log --exclude='ncu-details-*.csv' .
    status=$?
  fi
  ((status <= 1)) && mv "$device_out/archive.partial" "$device_out/$archive"
  local report
  for report in "$out"/*.ncu-rep; do
    [[ -f $report && $(stat -c %s "$report") -lt 16000000 ]] && cp "$report" "$device_out/"
  done
  return 0
}
trap pack EXIT

# --- dependencies: what Debian's postinst scripts would do, under /tmp/deps -------------
deps=/tmp/deps
multiarch=$deps/usr/lib/x86_64-linux-gnu
if [[ ! -d $deps/usr ]]; then
  for deb in .deps/*.deb; do dpkg -x "$deb" "$deps" || { note "dpkg -x $deb failed"; exit 1; }; done
  # update-alternatives would link these: FindBLAS looks for libopenblas in the multiarch
  # folder itself (the installed package's config, used by the example, links what it found).
  for lib in libopenblas.so libopenblas.so.0 libblas.so libblas.so.3 liblapack.so liblapack.so.3; do
    ln -sf "openblas-pthread/$lib" "$multiarch/$lib"
  done
  # The carried libquadmath (libgfortran5 needs it) only where the image has none: on
  # LD_LIBRARY_PATH, a copy from another GCC would shadow the image's own for every program.
  if ldconfig -p | grep -q 'libquadmath\.so\.0 '; then rm -f "$multiarch"/libquadmath.so.0*; fi
fi
export CMAKE_PREFIX_PATH=$deps/usr
export LD_LIBRARY_PATH=$multiarch/openblas-pthread:$multiarch:${LD_LIBRARY_PATH:-}
export PATH=$PATH:/usr/local/cuda/bin
# Also what a failed link or extension build would need to be explained: the image's own
# libquadmath/libgfortran beside the carried ones, and whether python3 has its C headers.
{ date -u; nvidia-smi; nvcc --version; cmake --version | head -n 1; python3 --version; lscpu | head -n 20
  echo "--- ldconfig -p | grep -E 'quadmath|gfortran' (the image's):"; ldconfig -p | grep -E 'quadmath|gfortran'
  echo "--- carried in $multiarch:"; (shopt -s nullglob; cd "$multiarch" && printf '%s\n' *quadmath* *gfortran*)
  python3 -c 'import sysconfig; i = sysconfig.get_paths()["include"]; import os.path as p
print("--- python3 include dir:", i, "(Python.h " + ("present" if p.isfile(p.join(i, "Python.h")) else "MISSING") + ")")'
} > "$out/machine.txt" 2>&1
note "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"

# --- the Python side: the machine's python3 (the image's venv, with PyTorch, CuPy, JAX,
# NumPy, pytest and nanobind); nanobind, pytest and what pytest needs from the carried wheels
# (.deps/wheels, from fetch_gpu_deps.sh: the machine reaches no registry) where missing ------
python_site=/tmp/alphareq-python  # the package: python/alphareq/ plus the extension built below
tools_site=/tmp/site              # the carried wheels, installed where python3 lacks them
# pip --target installs every dependency anew, ignoring python3's own, and whatever lies in
# tools_site shadows python3's copy through PYTHONPATH: so one wheel per module python3
# cannot import, with --no-deps.
tool_wheels=()
missing_wheels=()
carried() {  # carried MODULE: its carried wheel (the newest), when python3 cannot import MODULE
  python3 -c "import $1" 2> /dev/null && return
  local wheels
  shopt -s nocaseglob nullglob
  wheels=(.deps/wheels/"$1"-[0-9]*.whl)
  shopt -u nocaseglob nullglob
  if ((${#wheels[@]})); then
    tool_wheels+=("$(printf '%s\n' "${wheels[@]}" | sort --version-sort | tail -n 1)")
  else
    missing_wheels+=("$1")
  fi
}
carried nanobind
if ! python3 -c "import pytest" 2> /dev/null; then
  # pytest's requirements on Python 3.10-3.13 (pytest 9: Requires-Dist), exceptiongroup's too.
  for module in pytest pluggy iniconfig packaging pygments; do carried $module; done
  if python3 -c "import sys; sys.exit(sys.version_info >= (3, 11))"; then
    carried exceptiongroup
    carried tomli
    carried typing_extensions
  fi
fi
((${#missing_wheels[@]})) &&
  note "no carried wheel for ${missing_wheels[*]} in .deps/wheels (scripts/fetch_gpu_deps.sh)"
if ((${#tool_wheels[@]})); then
  if python3 -m pip install -q --no-index --no-deps --upgrade --target "$tools_site" "${tool_wheels[@]}" \
    > "$out/pip-tools.log" 2>&1; then
    export PYTHONPATH=$tools_site${PYTHONPATH:+:$PYTHONPATH}
  else
    note "the carried wheels did not install (pip-tools.log): the Python steps may not run"
  fi
fi
python_flags=()
if nanobind_dir=$(python3 -m nanobind --cmake_dir 2> /dev/null); then
  python_flags=(-DALPHAREQ_BUILD_PYTHON=ON "-Dnanobind_DIR=$nanobind_dir" "-DPython_EXECUTABLE=$(command -v python3)")
else
  note "no nanobind for python3: the Python tests and the PyTorch scripts cannot run"
fi

# --- build (Release, sm_90 only; the extension module in the same build, so the library's
# kernels are compiled once) ----------------------------------------------------------------
start=$(date +%s)
configure() {  # configure [EXTRA CMAKE ARGUMENTS...]
  cmake -S . -B build-sm90 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DALPHAREQ_WITH_CUDA=ON -DGTest_DIR=$multiarch/cmake/GTest -Dbenchmark_DIR=$multiarch/cmake/benchmark \
    "$@" >> "$out/configure.log" 2>&1
}
build() {  # within what is left of the budget, less 60 s: a build the tool killed would run on
  local limit=$(($(seconds_left) - 60))
  ((limit < 30)) && limit=30
  timeout --kill-after=10 "$limit" cmake --build build-sm90 -j 16 >> "$out/build.log" 2>&1
}
# The extension module must not cost the C++ steps: without it if it cannot be configured or built.
if ((${#python_flags[@]})) && ! { configure "${python_flags[@]}" && build; }; then
  note "the Python extension could not be configured or built (configure.log, build.log): building without it"
  python_flags=()
fi
if ((${#python_flags[@]} == 0)); then
  configure -DALPHAREQ_BUILD_PYTHON=OFF || { tail -n 40 "$out/configure.log"; exit 1; }
  build || { tail -n 60 "$out/build.log"; note "build failed (build.log)"; exit 1; }
fi
grep -E "BLAS|LAPACK" build-sm90/CMakeCache.txt | grep -E "_LIBRARIES|openblas" | head -n 4 >> "$out/configure.log"
note "build ok in $(($(date +%s) - start)) s"
pack

# Runs a command under a time limit, its output to a log; notes the exit status. The limit
# is cut to what is left of the call's budget, less 20 s to pack; 125 when nothing is left.
run_logged() {  # run_logged SECONDS LOG COMMAND...
  local limit=$1 log=$2; shift 2
  local left=$(($(seconds_left) - 20))
  if ((left < 15)); then
    note "SKIPPED, the call's ${budget} s are spent: $*"
    return 125
  fi
  ((limit > left)) && limit=$left
  local status
  if [[ $log == *.md ]]; then
    # A result document (table1's table, the PyTorch scripts' tables), read as it is by
    # the summary: the program's stderr (progress, notes, warnings, an error) goes beside
    # it, to NAME.stderr.log, not into the table; its last line into the summary on failure.
    local errors=${log%.md}.stderr.log
    timeout --kill-after=10 "$limit" "$@" > "$log" 2> "$errors"
    status=$?
    if ((status != 0 && status != 124 && status != 137)); then
      note "exit $status: $* ($(basename "$errors"): $(tail -n 1 "$errors" 2>/dev/null))"
    fi
  else
    # Logs: both streams, in the order they came.
    timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
    status=$?
  fi
  [[ $status -eq 124 || $status -eq 137 ]] && note "TIMED OUT after ${limit}s: $*"
  return $status
}

# The package as `pip install .` lays it out (python/alphareq/ and the extension module),
# for the machine's python3 through PYTHONPATH. A venv would not do: python3 there is itself
# a venv, and a venv made from it does not see its packages.
python_package() {
  if ((${#python_flags[@]} == 0)); then  # not built this call (an older module may be there)
    note "no extension module was built: the Python steps cannot run"
    return 1
  fi
  rm -rf "$python_site" && mkdir -p "$python_site/alphareq"
  cp python/alphareq/*.py "$python_site/alphareq/" &&
    cp build-sm90/_alphareq*.so "$python_site/alphareq/" 2> /dev/null ||
    { note "no extension module in build-sm90: the Python steps will fail"; return 1; }
  export PYTHONPATH=$python_site${PYTHONPATH:+:$PYTHONPATH}
}

# OPENBLAS_NUM_THREADS=1 wherever test programs run side by side (ctest -j, eight sanitizer
# runs): each would otherwise start one OpenBLAS thread per core, 16 times the cores in all
# at -j 16, and the oversubscribed waits slow every case towards its timeout. Every BLAS
# call then runs on its caller's thread; the results are the same.
phase_tests() {
  OPENBLAS_NUM_THREADS="1" run_logged 200 "$out/ctest-gpu.log" ctest --test-dir build-sm90 -L gpu --output-on-failure -j 4 --timeout 120
  note "ctest gpu: $(grep -E 'tests passed|tests failed' "$out/ctest-gpu.log" 2>/dev/null)"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|Exception|SEGFAULT)" "$out/ctest-gpu.log" 2>/dev/null | head -n 20 | tee -a "$summary"
  # How many GPU cases were skipped: on one GPU, 4 (the two-device merge and the three
  # "without a device" cases); more needs looking at.
  note "ctest gpu skipped: $(grep -c '\*\*\*Skipped' "$out/ctest-gpu.log" 2>/dev/null)"
  pack

  # The Python package on the GPU: CUDA tensors read in place, CuPy, JAX, LayerMonitor.
  # JAX takes 75 % of the GPU's memory at its first use unless told not to, and the tests
  # after its own in this one process (alphareq's cudaMalloc, PyTorch, CuPy) would run
  # out of memory: it allocates as it goes instead.
  if python_package; then
    ALPHAREQ_CLI="$PWD/build-sm90/alphareq" XLA_PYTHON_CLIENT_PREALLOCATE="false" run_logged 150 "$out/pytest.log" \
      python3 -m pytest tests/python -q -rs
    note "pytest: $(tail -n 1 "$out/pytest.log" 2>/dev/null)"
    grep -E "^(FAILED|ERROR|SKIPPED)" "$out/pytest.log" 2>/dev/null | head -n 20 | tee -a "$summary"
    pack
  fi

  # CPU-labelled cases that take the CUDA backend where a device is present. The rest of
  # `ctest -L cpu` is CI's, run on every change: the phase cputests, when time is left.
  OPENBLAS_NUM_THREADS="1" run_logged 40 "$out/ctest-cuda-in-cpu.log" ctest --test-dir build-sm90 -L cpu -j 8 --timeout 35 \
    --output-on-failure -R 'RegressionExperiment.Cuda|CliSynthetic'
  note "ctest cpu-labelled CUDA cases: $(grep -E 'tests passed|tests failed' "$out/ctest-cuda-in-cpu.log" 2>/dev/null)"
  pack
}

# compute-sanitizer TOOL over every GPU test binary but FILTER's cases, eight runs at a time
# (the tools' cost is mostly host-side; the tests use little of the GPU's memory), each run
# under LIMIT seconds. The CLI test runs its kernels in child processes, which racecheck,
# synccheck and initcheck do not follow: memcheck alone takes it.
sanitize_all() {  # sanitize_all LIMIT FILTER TOOL...
  local limit=$1 filter=$2 tool binary running=0
  shift 2
  for tool in "$@"; do
    for binary in build-sm90/tests/cuda_*_test build-sm90/tests/capi_gpu_test; do
      [[ -x $binary ]] || continue
      [[ $tool != memcheck && $(basename "$binary") == cuda_cli_test ]] && continue
      sanitize_one "$limit" "$tool" "$binary" "$filter" &
      if ((++running >= 8)); then wait -n; ((running--)); pack; fi
    done
  done
  wait
  pack
}
sanitize_one() {  # sanitize_one LIMIT TOOL BINARY FILTER
  local log
  log=$out/sanitizer-$2-$(basename "$3").log
  # Its own temporary folder: two tools may run the same binary at once.
  TEST_TMPDIR=$(mktemp -d)/ OPENBLAS_NUM_THREADS=1 run_logged "$1" "$log" compute-sanitizer --tool "$2" --error-exitcode 9 \
    "$3" --gtest_brief=1 "--gtest_filter=$4"
  local status=$?  # before any $(...) below, which would reset $?
  ((status == 125)) && return  # skipped: run_logged said so
  note "$2 $(basename "$3"): exit $status ($(grep -m1 'ERROR SUMMARY' "$log" || echo 'no summary'))"
}
# Left out under every tool: the long concurrency/determinism loops, the same kernels many
# times over, which the tools slow by orders of magnitude. (gtest matches the whole name,
# parameterised prefix included: hence the leading '*'.)
sanitizer_repeats='-*UnderLoad*:*CudaConcurrency.*:*CudaDeterminism*'

phase_memcheck() {
  # Once, over every GPU binary at once (eight), so the phase takes one limit's time at most.
  sanitize_all 180 "$sanitizer_repeats" memcheck
}

phase_sanitize() {
  # racecheck, synccheck and initcheck, also without the long interval and spanning cases.
  sanitize_all 180 "$sanitizer_repeats:*IntervalCovers*:*SpanningSeveral*" racecheck synccheck initcheck
}

bench_cuda_notes() {  # bench_cuda_notes GROUP STATUS: its medians to the output, how it ended to the summary
  local log=$out/bench_cuda_$1.txt
  (($2 == 125)) && return  # skipped: run_logged said so
  grep -E "median|ERROR OCCURRED" "$log" 2>/dev/null | head -n 40
  grep "ERROR OCCURRED" "$log" 2>/dev/null | head -n 10 >> "$summary"
  # 134 (SIGABRT): Google Benchmark's check on a case that failed in only some repetitions.
  note "bench cuda $1: exit $2, $(grep -c '_median ' "$log" 2>/dev/null) medians"
  pack
}

phase_bench() {
  # bench_cuda_backend once per group of cases, each with its own JSON file: Google Benchmark
  # 1.7 aborts the whole program when a case fails in only some of its repetitions, which
  # would lose every case after it; so a failure loses its group at most (the summary reads
  # a cut-off file up to its last complete entry). In order of what the issues need: the
  # stage table, SYRK against GEMM, the ceilings the targets are fractions of, then the
  # host stream (its two groups share the 10.5 GB host features, made once a process).
  # min_time 0.1 s a repetition (each is a median of many iterations anyway): the default
  # 0.5 s would take the step past its limit.
  run_logged 65 "$out/bench_cuda_pipeline.txt" build-sm90/bench/bench_cuda_backend \
    --benchmark_filter='^BM_CudaPipelineDeviceResident/' --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cuda_pipeline.json" --benchmark_out_format=json
  bench_cuda_notes pipeline $?
  run_logged 65 "$out/bench_cuda_product.txt" build-sm90/bench/bench_cuda_backend \
    --benchmark_filter='^BM_CudaProductRoutine/' --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cuda_product.json" --benchmark_out_format=json
  bench_cuda_notes product $?
  run_logged 35 "$out/bench_cuda_ceilings.txt" build-sm90/bench/bench_cuda_backend \
    --benchmark_filter='^BM_(CublasGemmCeiling|CusolverSyevdAlone)/' --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cuda_ceilings.json" --benchmark_out_format=json
  bench_cuda_notes ceilings $?
  run_logged 65 "$out/bench_cuda_host.txt" build-sm90/bench/bench_cuda_backend \
    --benchmark_filter='^BM_(CudaStreamFromHost|BareHostToDeviceCopy)/' --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cuda_host.json" --benchmark_out_format=json
  bench_cuda_notes host $?
  # min_time 0.2 s a repetition: the default 0.5 s spends most of the step on the
  # microsecond cases (BM_Fit); the millisecond cases run one or two iterations either way.
  run_logged 80 "$out/bench_cpu.txt" build-sm90/bench/bench_cpu_backend --benchmark_repetitions=3 \
    --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_cpu.json" --benchmark_out_format=json
  grep median "$out/bench_cpu.txt" 2>/dev/null
  pack
}

phase_torch() {
  # What a PyTorch user would write instead, beside alphareq on the same device-resident data
  # (without the package, torch_pipeline.py times PyTorch alone and says why).
  python_package
  run_logged 90 "$out/torch_pipeline.md" python3 bench/torch_pipeline.py --device cuda \
    --json "$out/torch_pipeline.json"
  cat "$out/torch_pipeline.md" 2>/dev/null
  pack
  run_logged 70 "$out/torch_probe.md" python3 bench/torch_probe.py --device cuda \
    --alphareq-cli build-sm90/alphareq --json "$out/torch_probe.json"
  cat "$out/torch_probe.md" 2>/dev/null
  pack
}

phase_table1() {
  run_logged 260 "$out/table1_cuda.md" build-sm90/alphareq table1 --backend cuda --quiet
  cat "$out/table1_cuda.md" 2>/dev/null
  pack
}

phase_table1cpu() {
  # The CPU rows on this machine's 16 cores (the ImageNet probe extrapolated from 2 epochs).
  run_logged 240 "$out/table1_cpu.md" build-sm90/alphareq table1 --backend cpu --quiet --repeats 1
  cat "$out/table1_cpu.md" 2>/dev/null
  pack
}

# Nsight Compute's basic set (speed of light, launch statistics) over at most COUNT of the
# kernels that KERNEL-FILTER names (all, if empty) after the first SKIP of them, in one
# iteration of each case (--benchmark_min_time=0: the case's warm-up, then one timed run;
# ncu measures each kernel on its own, so the warm-up's are as good as the timed run's).
# A kernel filter that matched nothing (the libraries' kernel names are guesses, never
# yet seen here) is retried without it, after the data generator's one launch.
profile_one() {  # profile_one NAME SECONDS SKIP COUNT KERNEL-FILTER BENCHMARK-FILTER
  local name=$1 limit=$2 skip=$3 count=$4 kernels=$5 cases=$6
  local filter=()
  [[ -n $kernels ]] && filter=(--kernel-name-base demangled --kernel-name "$kernels")
  # --clock-control none: ncu otherwise locks the GPU's clocks to base for each kernel, and
  # the card's settings are not ours to change (device METHOD.md); its clocks as found.
  run_logged "$limit" "$out/ncu-$name.txt" ncu --clock-control none --set basic "${filter[@]}" \
    --launch-skip "$skip" --launch-count "$count" -o "$out/$name" \
    build-sm90/bench/bench_cuda_backend "--benchmark_filter=$cases" --benchmark_min_time=0
  if [[ -n $kernels && ! -f $out/$name.ncu-rep ]] && grep -q "No kernels were profiled" "$out/ncu-$name.txt"; then
    note "ncu $name: no kernel matched $kernels; again over the first $count launches"
    run_logged "$limit" "$out/ncu-$name.txt" ncu --clock-control none --set basic \
      --launch-skip 1 --launch-count "$count" -o "$out/$name" \
      build-sm90/bench/bench_cuda_backend "--benchmark_filter=$cases" --benchmark_min_time=0
  fi
  tail -n 5 "$out/ncu-$name.txt" 2>/dev/null
  if [[ -f $out/$name.ncu-rep ]]; then
    ncu --import "$out/$name.ncu-rep" --page details --csv > "$out/ncu-details-$name.csv" 2>&1
    note "ncu $name: $(grep -c '"Duration"' "$out/ncu-details-$name.csv") kernels profiled"
  fi
  pack
}

phase_profile() {
  # What bounds each stage, chosen by kernel name and by case rather than by a launch count
  # over the whole pipeline, which caught the warm-up's first kernels, mostly the
  # eigensolver's many small ones, and never the later stages.
  # The accumulation: a float32 add_batch at n = 16,384, D = 2,048, SYRK and GEMM
  # (BM_CudaProductRoutine): its own kernels (shift and convert, the float64 add, column
  # sums) and cuBLAS's product, matched by name ('.*(...).*' reads the same whether ncu
  # searches or matches whole names); the data generator (power_law_features) is left out.
  profile_one accumulation 60 0 40 \
    'regex:.*(shift_and_convert|rescale_float32|shift_from_column|add_float32|flag_trace|syrk|gemm|xmma|cutlass).*' \
    '^BM_CudaProductRoutine/16384/2048/1/[01]/'
  # The eigensolver: cusolverDnXsyevd at D = 2,048 (BM_CusolverSyevdAlone), its first 60
  # kernels (cuSOLVER's own names), after the data generator's one launch.
  profile_one eigensolver 60 1 60 '' '^BM_CusolverSyevdAlone/2048/'
}

phase_cputests() {
  # The whole CPU suite: CI runs it on every change; here it checks the build against this
  # machine's toolchain and the unpacked OpenBLAS, when a call has time left for it.
  OPENBLAS_NUM_THREADS="1" run_logged 180 "$out/ctest-cpu.log" ctest --test-dir build-sm90 -L cpu -j 16 --timeout 120
  note "ctest cpu: $(grep -E 'tests passed|tests failed' "$out/ctest-cpu.log" 2>/dev/null)"
  pack
}

done_phases=()
for phase in "${phases[@]}"; do
  # A phase named twice runs once: its second run would only overwrite the first's files.
  if [[ " ${done_phases[*]} " == *" $phase "* ]]; then
    note "phase $phase was named twice: run once"
    continue
  fi
  done_phases+=("$phase")
  "phase_$phase"
done
note "phases ${phases[*]} done in $(($(date +%s) - session_start)) s"
