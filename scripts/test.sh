#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# GPU tests (label gpu) skip with their reason on machines without a device.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default
