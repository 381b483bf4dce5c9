#!/usr/bin/env bash
# Run HERE (a machine with Debian's package registry) before a GPU session: downloads the
# .deb files the GPU machine lacks (it reaches no registry) into .deps/, a git-ignored
# folder to name in the device tool's `carry`. scripts/gpu_session.sh unpacks them there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps
cd .deps
# libgfortran5 (OpenBLAS's LAPACK) needs libquadmath.so.0 (readelf -d: NEEDED), which the
# GPU machine's image may lack: carried too, and used there only where the image has none.
packages=(libgtest-dev googletest libbenchmark-dev libbenchmark1debian
  libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread
  liblapack-dev liblapack3 libblas-dev libblas3 libgfortran5 libquadmath0)
# Into a fresh folder, replacing the old .debs only once every package came: gpu_session.sh
# unpacks every .deb here, so an older version left beside a newer one could win.
rm -rf new && mkdir new
if ! (cd new && apt-get download "${packages[@]}" > ../download.log 2>&1); then
  # Most often stale package lists: the versions they name are gone from the mirror.
  echo "apt-get download failed ($(tail -n 1 download.log)); apt-get update, then again"
  apt-get update > update.log 2>&1 || { tail -n 5 update.log; exit 1; }
  (cd new && apt-get download "${packages[@]}" > ../download.log 2>&1) || { tail -n 5 download.log; exit 1; }
fi
rm -f ./*.deb && mv new/*.deb . && rmdir new
ls -la ./*.deb
# Pure-Python build and test tools, in case the GPU machine's python3 lacks them (its image
# has had nanobind, scikit-build-core and pytest; gpu_session.sh installs nanobind, pytest and
# pytest's requirements from here only then). pytest's requirements on Python 3.10-3.13:
# pluggy, iniconfig, packaging, pygments, and below 3.11 exceptiongroup (which needs
# typing_extensions) and tomli.
python3 -m pip download --quiet --no-deps -d wheels scikit-build-core nanobind pytest pluggy \
  iniconfig packaging pygments pathspec exceptiongroup typing_extensions 2>&1 | tail -n 2
# tomli (Python < 3.11): the pure wheel, not this machine's compiled one.
python3 -m pip download --quiet --no-deps --only-binary=:all: --platform any --python-version 3.10 \
  -d wheels tomli 2>&1 | tail -n 2
ls wheels
