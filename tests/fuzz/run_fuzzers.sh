#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan), replays every
# committed input (tests/fuzz/regressions/ and the seed corpora), then fuzzes both targets
# at once for SECONDS each (default 25). Fails, naming the input, on any finding.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS]
#
# Working corpora grow in build-fuzz/corpus/ (kept between runs); findings are written to
# build-fuzz/findings/. To keep a finding as a regression test, copy it to
# tests/fuzz/regressions/<npy|cli>/ under a name that says what it found (README.md here).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-25}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

build=build-fuzz
bin=$build/tests/fuzz
mkdir -p "$build/corpus/npy" "$build/corpus/cli" "$build/findings"
# The .npy target writes each input to a per-process file: keep those in a folder of ours.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/alphareq-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export ALPHAREQ_FUZZ_SCRATCH_DIR=$scratch
# OpenBLAS's worker threads only slow the tiny products down; one thread also keeps every
# input's run deterministic.
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -A max_len=([npy]=8192 [cli]=1024)
declare -A target=([npy]=npy_reader_fuzzer [cli]=cli_arguments_fuzzer)

# 1. Every committed input, once (regressions first: they are what broke before).
for kind in npy cli; do
  for dir in tests/fuzz/regressions/$kind tests/fuzz/known_issues/$kind tests/fuzz/corpus/$kind; do
    [[ -d $dir ]] && [[ -n $(ls -A "$dir") ]] || continue
    "$bin/${target[$kind]}" -runs=0 "$dir" > "$build/replay-$kind.log" 2>&1 ||
      { cat "$build/replay-$kind.log"; echo "fuzz: replaying $dir failed" >&2; exit 1; }
  done
done
echo "fuzz: every committed input replays cleanly"

# 2. Both targets at once, one core each.
pids=()
for kind in npy cli; do
  "$bin/${target[$kind]}" "$build/corpus/$kind" "tests/fuzz/corpus/$kind" \
    -dict="tests/fuzz/$kind.dict" -max_len="${max_len[$kind]}" -timeout=20 \
    -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/findings/$kind-" > "$build/fuzz-$kind.log" 2>&1 &
  pids+=($!)
done
status=0
for i in 0 1; do
  kind=$([[ $i == 0 ]] && echo npy || echo cli)
  if ! wait "${pids[$i]}"; then
    status=1
    tail -n 60 "$build/fuzz-$kind.log"
    echo "fuzz: ${target[$kind]} found a problem; the input is in $build/findings/" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$kind.log")
  echo "fuzz: ${target[$kind]}: ${runs:-?} inputs in ${seconds} s"
done
exit $status
