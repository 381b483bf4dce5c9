#!/usr/bin/env bash
# Installs what is missing, builds alphareq and runs it on the built-in sample.
# Arguments are passed to `alphareq demo` (e.g. --alpha 1.5 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target alphareq_cli
./build/alphareq demo "$@"
