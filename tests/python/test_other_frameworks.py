"""CuPy and JAX arrays through DLPack (and CuPy's CUDA array interface). Skipped where the
package (or a GPU) is missing."""

from __future__ import annotations

import numpy as np
import pytest

import alphareq
from alphareq._arrays import batch_view
from numpy_reference import reference_report


def _cupy():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no CUDA device")
    except Exception as error:  # no driver
        pytest.skip(f"no CUDA device: {error}")
    if not alphareq.cuda_available():
        pytest.skip("alphareq was built without a usable CUDA backend")
    return cupy


def test_cupy_array_is_read_in_place_on_its_stream(features):
    cupy = _cupy()
    x = features(3000, 150, seed=21)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        device_x = cupy.asarray(x)
        with batch_view(device_x) as view:
            assert view.on_device and view.data == device_x.data.ptr and view.stream == stream.ptr
        report = alphareq.alpha(device_x)
    assert report.backend == "cuda"
    assert report.alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9)


def test_cupy_cuda_array_interface_path(features):
    cupy = _cupy()

    class InterfaceOnly:
        def __init__(self, array):
            self.array = array
            self.__cuda_array_interface__ = array.__cuda_array_interface__

    x = features(2000, 120, seed=22, dtype=np.float32)
    report = alphareq.alpha(InterfaceOnly(cupy.asarray(x)))
    assert report.alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9)


def test_cuda_array_interface_on_a_gpu_that_is_not_current(features):
    """The interface names no device: the array is read on the GPU its memory belongs to
    (as a Numba array on GPU 1 while GPU 0 is current), not refused on the current one."""
    cupy = _cupy()
    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two CUDA devices")

    class InterfaceOnly:
        def __init__(self, array):
            self.array = array
            self.__cuda_array_interface__ = array.__cuda_array_interface__

    x = features(2000, 120, seed=24)
    with cupy.cuda.Device(1):
        on_gpu1 = InterfaceOnly(cupy.asarray(x))
    with cupy.cuda.Device(0):
        report = alphareq.alpha(on_gpu1)
        with pytest.raises(ValueError, match="lives on CUDA device 1"):
            alphareq.Accumulator(120, "cuda", device=0).add(on_gpu1)
    assert report.alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9)


def test_jax_arrays(features):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    x = features(2000, 130, seed=23)
    for device in jax.devices():
        if device.platform == "gpu" and not alphareq.cuda_available():
            continue
        if device.platform not in ("cpu", "gpu"):
            continue
        array = jax.device_put(x, device)
        report = alphareq.alpha(array)
        assert report.alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9), device
