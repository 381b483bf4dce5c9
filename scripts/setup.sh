#!/usr/bin/env bash
# Installs the Debian packages alphareq needs to build and test, where they are missing.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

packages=(
  cmake            # build system (>= 3.24)
  ninja-build      # generator used by the presets
  g++              # C++17 compiler
  libopenblas-dev  # multithreaded BLAS + LAPACK: the CPU backend (dsyrk, dsyevd)
  libgtest-dev     # GoogleTest: the test suite
  libbenchmark-dev # Google Benchmark: bench/
  clang            # .ci/run's fuzz job: libFuzzer targets (tests/fuzz) need clang
  libclang-rt-dev  # clang's runtimes (libFuzzer, ASan, UBSan): only recommended by clang,
                   # so --no-install-recommends below would leave them out
)

# The Python package (scripts/test.sh builds it with pip in a virtual environment) needs a
# python3 with venv and its C headers; one that has them (pyenv's, say) needs no package.
if ! python3 -c 'import ensurepip, os, sys, sysconfig, venv
sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  packages+=(python3 python3-venv python3-dev)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
# Through env, not export: sudo's env_reset drops the caller's environment, and apt-get
# would stop at a debconf question (tzdata, say) instead of taking the default.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
