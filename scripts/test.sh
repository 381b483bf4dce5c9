#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# GPU tests (label gpu) skip with their reason on machines without a device.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default

# The Python package: `pip install .` into a virtual environment kept under build-python/
# (its CMake build directory too, so a rebuild is incremental), then pytest, which compares
# the package with the command-line tool built above. PyTorch, CuPy and JAX tests run where
# those packages are installed in that environment and skip otherwise.
venv=build-python/venv
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q numpy pytest scikit-build-core nanobind
"$venv/bin/python" -m pip install -q --no-build-isolation -C build-dir=build-python/build .
ALPHAREQ_CLI="$PWD/build/alphareq" "$venv/bin/python" -m pytest tests/python
