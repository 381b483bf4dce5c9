#!/usr/bin/env bash
# Installs the Debian packages alphareq needs to build and test, where they are missing,
# then checks that the cmake on the PATH is new enough.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

# CMakePresets.json (version 4) and cmake_minimum_required need CMake 3.24. The distribution's
# package is that new from Debian 12 and Ubuntu 24.04 on; Ubuntu 22.04's is 3.22, Debian 11's
# 3.18.
cmake_required=3.24
cmake_version() { { cmake --version 2>/dev/null || true; } | awk 'NR == 1 { print $3 }'; }
cmake_new_enough() {
  local version
  version=$(cmake_version)
  [[ -n $version ]] && printf '%s\n' "$cmake_required" "$version" | sort --version-sort --check=quiet
}

packages=(
  ninja-build      # generator used by the presets
  g++              # C++17 compiler
  libopenblas-dev  # multithreaded BLAS + LAPACK: the CPU backend (dsyrk, dsyevd)
  libgtest-dev     # GoogleTest: the test suite
  libbenchmark-dev # Google Benchmark: bench/
  clang            # .ci/run's fuzz job: libFuzzer targets (tests/fuzz) need clang
  libclang-rt-dev  # clang's runtimes (libFuzzer, ASan, UBSan): only recommended by clang,
                   # so --no-install-recommends below would leave them out
)
# The build system, unless a new enough cmake is already on the PATH (one from pip, say:
# the distribution's older one would then only be installed beside it).
cmake_new_enough || packages+=(cmake)

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
if ((${#missing[@]})); then
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
fi

# Said here, where the remedy can be named, rather than by the first cmake --preset.
if ! cmake_new_enough; then
  cmake_found=$(cmake_version)
  cat >&2 <<EOF
setup: alphareq needs CMake >= $cmake_required (CMakePresets.json, CMakeLists.txt), but the
  cmake on the PATH ($(command -v cmake || echo none)) reports version ${cmake_found:-none}.
  The distribution's package is older than that on Ubuntu 22.04 (3.22) and Debian 11 (3.18).
  Install a newer one from PyPI, for example
    python3 -m pip install --user cmake      (pip: the python3-pip package)
  make sure ~/.local/bin comes first on the PATH (then hash -r), and run this again.
EOF
  exit 1
fi
