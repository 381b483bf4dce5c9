"""Arrays are read in place through the array interface, DLPack and the buffer protocol;
inputs that cannot be read raise ValueError/TypeError with a message, never crash."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import alphareq
import alphareq._alphareq as extension
from alphareq._arrays import batch_view
from numpy_reference import reference_report
from witnesses import ExtensionSpy

TOLERANCE = 1e-9


class DLPackOnly:
    """Exposes only the DLPack protocol of a NumPy array, recording the stream asked for."""

    def __init__(self, array, device=(1, 0), legacy=False):
        self.array, self.device, self.legacy, self.streams = array, device, legacy, []

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, *, stream=None, **keywords):
        if self.legacy and keywords:
            raise TypeError("__dlpack__() got an unexpected keyword argument")
        self.streams.append(stream)
        return self.array.__dlpack__(**({} if self.legacy else {"max_version": (1, 0)}))


class ArrayInterfaceOnly:
    def __init__(self, array):
        self.array = array
        self.__array_interface__ = array.__array_interface__


def test_numpy_arrays_are_read_in_place(features):
    x = features(100, 20)
    with batch_view(x) as view:
        assert view.data == x.ctypes.data and view.source == "array_interface"
        assert (view.rows, view.cols, view.row_stride, view.dtype, view.on_device) == (100, 20, 20, "float64", False)


def test_row_strided_views_need_no_copy_and_give_the_same_alpha(features):
    base = features(2000, 150, seed=1)
    every_other_row = base[::2]
    first_columns = base[:, :120]
    with batch_view(every_other_row) as view:
        assert view.row_stride == 300 and view.data == base.ctypes.data
    with batch_view(first_columns) as view:
        assert view.row_stride == 150 and view.cols == 120
    for strided in (every_other_row, first_columns):
        expected = alphareq.alpha(np.ascontiguousarray(strided), backend="cpu")
        assert alphareq.alpha(strided, backend="cpu").alpha == pytest.approx(expected.alpha, rel=1e-12)


@pytest.mark.parametrize("legacy", [False, True])
def test_dlpack_producers_are_read_in_place(features, legacy):
    x = features(1500, 130, seed=2)
    wrapped = DLPackOnly(x, legacy=legacy)
    with batch_view(wrapped) as view:
        assert view.source == "dlpack" and view.data == x.ctypes.data
    assert wrapped.streams == [None]  # host data: no stream
    report = alphareq.alpha(wrapped, backend="cpu")
    assert report.alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9)


def test_array_interface_and_buffer_protocol_objects(features):
    x = features(1000, 110, seed=3, dtype=np.float32)
    expected = alphareq.alpha(x, backend="cpu").alpha
    assert alphareq.alpha(ArrayInterfaceOnly(x), backend="cpu").alpha == expected
    assert alphareq.alpha(memoryview(x), backend="cpu").alpha == expected


def test_read_only_memory_mapped_file(tmp_path, features):
    path = tmp_path / "x.npy"
    np.save(path, features(900, 100, seed=4))
    mapped = np.load(path, mmap_mode="r")
    assert not mapped.flags.writeable
    assert alphareq.alpha(mapped, backend="cpu").alpha == alphareq.alpha(path, backend="cpu").alpha


@pytest.mark.parametrize("make", [
    lambda x: np.asfortranarray(x),
    lambda x: x.T.copy().T,
    lambda x: x.reshape(100, 6, 5).transpose(0, 2, 1),
    lambda x: x[:, ::2],
])
def test_feature_layouts_without_one_row_stride_raise(features, make):
    with pytest.raises(ValueError, match="not contiguous"):
        alphareq.alpha(make(features(100, 30)))


def test_reversed_rows_raise(features):
    with pytest.raises(ValueError, match="backwards"):
        alphareq.alpha(features(100, 30)[::-1])


@pytest.mark.parametrize("x, message", [
    (np.ones(50), "shape"),
    (np.float64(3.0), "shape"),
    (np.ones((0, 5)), "empty"),
    (np.ones((5, 0)), "empty"),
])
def test_bad_shapes_raise_value_error(x, message):
    with pytest.raises(ValueError, match=message):
        alphareq.alpha(x)


def test_a_batch_of_no_samples_adds_nothing_but_its_width_is_checked(features):
    """numpy.array_split gives empty chunks when there are fewer samples than chunks: the
    README's streaming loop must not fail on them (alpha() of nothing still raises)."""
    x = features(5, 3)
    acc = alphareq.Accumulator(3, backend="cpu")
    for batch in np.array_split(x, 10):
        acc.add(batch)
    assert acc.n == 5
    np.testing.assert_allclose(acc.mean(), x.mean(axis=0), rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError, match="has 4 features per sample"):
        acc.add(np.ones((0, 4)))
    with pytest.raises(TypeError, match="unsupported dtype"):  # checked as any batch is
        acc.add(np.ones((0, 3), dtype=np.int64))
    assert acc.n == 5


@pytest.mark.parametrize("dtype, message", [
    (np.int64, "unsupported dtype"),
    (np.complex128, "unsupported dtype"),
    (np.bool_, "unsupported dtype"),
    (np.float16, "device memory only"),
])
def test_bad_dtypes_raise_type_error(dtype, message):
    with pytest.raises(TypeError, match=message):
        alphareq.alpha(np.ones((10, 4), dtype=dtype))


def test_other_byte_order_raises():
    with pytest.raises(ValueError, match="endian"):
        alphareq.alpha(np.ones((10, 4), dtype=np.dtype(np.float64).newbyteorder()))


def test_misaligned_data_raises():
    raw = np.zeros(8 * 40 + 1, dtype=np.uint8)
    raw[1:] = np.random.default_rng(3).standard_normal(40).view(np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=np.float64, count=40, offset=1).reshape(10, 4)
    with pytest.raises(ValueError, match="aligned") as caught:
        alphareq.alpha(misaligned)
    # The advice works: numpy.ascontiguousarray would hand the same array back.
    assert "x.copy()" in str(caught.value)
    assert alphareq.alpha(misaligned.copy(), first=1, last=3).n == 10


def test_masked_arrays_raise_instead_of_reading_the_masked_values(features):
    x = features(40, 6)
    masked = np.ma.masked_array(x, mask=np.zeros_like(x, dtype=bool))
    masked[3, 2] = np.ma.masked
    with pytest.raises(ValueError, match="masked arrays are not supported"):
        alphareq.Accumulator(6).add(masked)


def test_raw_bytes_raise_with_advice_for_bytes():
    with pytest.raises(TypeError, match="frombuffer"):
        alphareq.alpha(b"\x00" * 64)


def test_integer_options_name_the_parameter(features):
    accumulator = alphareq.Accumulator(6).add(features(40, 6))
    with pytest.raises(TypeError, match="first: expected a 1-based rank"):
        accumulator.report(first=11.0)
    with pytest.raises(ValueError, match="d: 9223372036854775808 is out of range"):
        alphareq.Accumulator(2**63)


def test_reports_compare_by_value_apart_from_timings(features):
    x = features(300, 20)
    a, b = alphareq.alpha(x, 2, 15, backend="cpu"), alphareq.alpha(x, 2, 15, backend="cpu")  # bit-identical
    assert a == b and not (a != b)
    assert a != alphareq.alpha(x, 3, 15, backend="cpu")
    assert a != alphareq.alpha(x[:-1], 2, 15, backend="cpu")  # other eigenvalues
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


@pytest.mark.parametrize("x", [[[1.0, 2.0], [3.0, 4.0]], None, 3.5, object()])
def test_non_arrays_raise_type_error(x):
    with pytest.raises(TypeError, match="expected an array"):
        alphareq.Accumulator(2).add(x)


def test_nan_and_inf_name_row_and_column(features):
    x = features(100, 20)
    x[37, 11] = np.nan
    with pytest.raises(ValueError, match=r"row 37.*column 11|column 11.*row 37"):
        alphareq.alpha(x, backend="cpu")
    accumulator = alphareq.Accumulator(20, backend="cpu")
    y = features(10, 20)
    y[2, 3] = np.inf
    with pytest.raises(ValueError):
        accumulator.add(y)
    assert accumulator.n == 0  # unchanged


def test_too_few_samples_and_bad_windows(features):
    with pytest.raises(ValueError, match="2 samples"):
        alphareq.alpha(features(1, 20))
    x = features(300, 40)
    with pytest.raises(ValueError, match="first rank"):
        alphareq.alpha(x, first=0)
    with pytest.raises(ValueError, match="below first rank"):
        alphareq.alpha(x, first=20, last=10)
    with pytest.raises(ValueError, match="at least 3"):
        alphareq.alpha(features(300, 12))


def test_bad_option_names_raise_value_error(features):
    x = features(300, 40)
    for keywords, message in [({"backend": "gpu"}, "backend"), ({"method": "lasso"}, "method"),
                              ({"normalization": "n+1"}, "normalization"), ({"precision": "float8"}, "precision"),
                              ({"solver": "float16"}, "solver")]:
        with pytest.raises(ValueError, match=message):
            alphareq.alpha(x, first=2, last=30, **keywords)


@pytest.mark.skipif(alphareq.cuda_available(), reason="a CUDA device is present")
def test_cuda_backend_without_a_device_raises_backend_unavailable():
    with pytest.raises(alphareq.BackendUnavailableError) as caught:
        alphareq.Accumulator(10, backend="cuda")
    assert isinstance(caught.value, RuntimeError) and "cuda" in str(caught.value)


def test_device_array_for_a_cpu_accumulator_raises_and_dlpack_gets_the_legacy_stream(features):
    fake_cuda = DLPackOnly(features(10, 5), device=(2, 0))
    with pytest.raises(ValueError, match="CPU backend"):
        alphareq.Accumulator(5, backend="cpu").add(fake_cuda)
    assert fake_cuda.streams == [1]  # DLPack's legacy default stream: ordered after the producer
    explicit = DLPackOnly(features(10, 5), device=(2, 0))
    with batch_view(explicit, stream=0x1234) as view:
        assert view.on_device and view.stream == 0x1234 and view.device == 0
    assert explicit.streams == [0x1234]


def cuda_interface_only(x: np.ndarray, stream=None):
    """`x`'s memory described only by a version-3 CUDA array interface (as a Numba array
    is), its producer stream `stream`: stands in for device memory where there is no GPU."""

    class InterfaceOnly:
        __cuda_array_interface__ = {**x.__array_interface__, "version": 3, "stream": stream}

    return InterfaceOnly()


def recording_stream_calls(monkeypatch):
    """Replaces the extension's stream functions (they need a GPU) by recorders."""
    import alphareq._arrays as arrays

    calls = []
    monkeypatch.setattr(arrays._ext, "wait_for_stream", lambda stream, pointer: calls.append(("wait", stream, pointer)))
    monkeypatch.setattr(arrays._ext, "make_stream_wait",
                        lambda waiting, producer, pointer: calls.append(("order", waiting, producer, pointer)))
    monkeypatch.setattr(arrays._ext, "device_memory_owner", lambda pointer: 0)  # GPU 0's memory
    monkeypatch.setattr(arrays._ext, "cuda_available", lambda: (True, ""))
    return calls


def test_device_batches_of_unknown_producers_are_waited_for_before_release(features, monkeypatch):
    calls = recording_stream_calls(monkeypatch)
    x = features(10, 5)
    with batch_view(x) as view:
        assert view.after_reads is None  # host memory: read when add() returns
    with batch_view(DLPackOnly(x, device=(2, 0))) as view:
        assert calls == []  # nothing before the reads are queued
        view.after_reads()
    assert calls == [("wait", 0, x.ctypes.data)]


def test_an_empty_device_batch_is_checked_but_neither_read_nor_waited_for(monkeypatch):
    """CuPy (and XLA) allocate nothing for a size-0 array: its pointer is NULL, which
    wait_for_stream/make_stream_wait would refuse (cudaPointerGetAttributes)."""
    calls = recording_stream_calls(monkeypatch)

    class CudaImpl:  # a CUDA accumulator's extension object, without a GPU
        dim, backend, device = 5, "cuda", 0

        def add(self, *arguments):
            raise AssertionError("an empty batch has nothing to read")

    accumulator = alphareq.Accumulator._wrap(CudaImpl(), {})
    accumulator.add(DLPackOnly(np.empty((0, 5)), device=(2, 0)))

    class EmptyInterface:
        __cuda_array_interface__ = {"shape": (0, 5), "typestr": "<f8", "data": (0, False),
                                    "version": 3, "stream": 0x55}

    accumulator.add(EmptyInterface(), stream=0x66)
    assert calls == []
    with pytest.raises(ValueError, match="has 4 features per sample"):
        accumulator.add(DLPackOnly(np.empty((0, 4)), device=(2, 0)))


def test_cupy_batches_are_read_on_cupys_stream_and_waited_for(features, monkeypatch):
    calls = recording_stream_calls(monkeypatch)

    class CupyLike(DLPackOnly):
        pass

    CupyLike.__module__ = "cupy._core.core"  # what alphareq looks at to know the producer
    import alphareq._arrays as arrays

    monkeypatch.setattr(arrays, "_producer_stream", lambda x, device: 0x44)  # CuPy's current stream
    monkeypatch.setattr(arrays, "_device_current", lambda x, device: contextlib.nullcontext())  # no CuPy here
    x = features(10, 5)
    # CuPy's pool reuses a block on the stream it was allocated on, which need not be 0x44.
    with batch_view(CupyLike(x, device=(2, 0))) as view:
        assert view.stream == 0x44
        view.after_reads()
    assert calls == [("wait", 0x44, x.ctypes.data)]


def test_cuda_array_interface_stream_is_ordered_before_a_chosen_stream(features, monkeypatch):
    calls = recording_stream_calls(monkeypatch)
    x = features(12, 4)

    with batch_view(cuda_interface_only(x, 0x55), stream=0x66) as view:
        assert view.stream == 0x66 and calls == [("order", 0x66, 0x55, x.ctypes.data)]
        view.after_reads()
    assert calls[-1] == ("wait", 0x66, x.ctypes.data)
    calls.clear()
    with batch_view(cuda_interface_only(x, 1)) as view:  # 1: the legacy default stream, read in its order
        assert view.stream == 0 and calls == []
    with batch_view(cuda_interface_only(x), stream=0x66) as view:  # nothing to wait for
        assert calls == []


def test_a_cuda_array_interface_batch_is_read_on_the_device_that_owns_its_memory(features, monkeypatch):
    """The interface names no device (a Numba array on GPU 1 while GPU 0 is current): the
    pointer's owner is asked for, so alpha() reads it on GPU 1 and an accumulator on
    another device refuses it by name; managed memory (-2) is read on any device."""
    import alphareq._accumulator as accumulators

    calls = recording_stream_calls(monkeypatch)
    x = features(12, 4)
    owner = {"device": 1}
    monkeypatch.setattr(extension, "device_memory_owner",
                        lambda pointer: owner["device"] if pointer == x.ctypes.data else pytest.fail("wrong pointer"))

    with batch_view(cuda_interface_only(x)) as view:
        assert view.device == 1 and view.on_device

    class CudaImpl:  # a CUDA accumulator's extension object on GPU 0, without a GPU
        dim, backend, device = 4, "cuda", 0
        added = []

        def add(self, *arguments):
            self.added.append(arguments[:3])

    on_gpu0 = alphareq.Accumulator._wrap(CudaImpl(), {})
    with pytest.raises(ValueError, match="lives on CUDA device 1 but the accumulator is on device 0"):
        on_gpu0.add(cuda_interface_only(x))
    assert CudaImpl.added == [] and calls == []

    placed = []

    class Placed(Exception):
        pass

    def accumulator_on(dim, backend, precision, solver, device, deterministic):
        placed.append(device)
        raise Placed

    monkeypatch.setattr(accumulators._ext, "Accumulator", accumulator_on)
    with pytest.raises(Placed):
        alphareq.alpha(cuda_interface_only(x))
    assert placed == [1]

    owner["device"] = -2  # managed memory
    on_gpu0.add(cuda_interface_only(x))
    assert CudaImpl.added == [(x.ctypes.data, "float64", 12)]
    assert calls == [("wait", 0, x.ctypes.data)]


def test_a_cuda_array_interface_over_host_memory_or_without_cuda_is_refused_by_name(features, monkeypatch):
    """Host memory behind the interface is named as such; on a machine without CUDA (no
    driver, no device, a build without it) the owner cannot be asked, and the CPU
    accumulator says it cannot read device memory."""
    x = features(12, 4)

    def host_memory(pointer):
        raise ValueError("the batch's pointer is not CUDA device memory")

    monkeypatch.setattr(extension, "cuda_available", lambda: (True, ""))
    monkeypatch.setattr(extension, "device_memory_owner", host_memory)
    with pytest.raises(ValueError, match=r"x: .*__cuda_array_interface__: the batch's pointer is not CUDA"):
        alphareq.alpha(cuda_interface_only(x))

    # Where CUDA works, its errors are raised, not taken for its absence (which skipped the
    # stream ordering silently).
    def sticky_error(pointer):
        raise RuntimeError("CUDA error cudaErrorIllegalAddress in cudaPointerGetAttributes")

    monkeypatch.setattr(extension, "device_memory_owner", sticky_error)
    with pytest.raises(RuntimeError, match="cudaErrorIllegalAddress"):
        with batch_view(cuda_interface_only(x, 0x55), stream=0x66):
            pass

    calls = recording_stream_calls(monkeypatch)
    monkeypatch.setattr(extension, "cuda_available", lambda: (False, "no usable CUDA device"))
    monkeypatch.setattr(extension, "device_memory_owner", lambda pointer: pytest.fail("asked without CUDA"))

    with batch_view(cuda_interface_only(x, 0x55), stream=0x66) as view:  # no stream to order without CUDA
        assert view.on_device and view.device == -2 and calls == []
    with pytest.raises(ValueError, match="lives in CUDA device memory but this accumulator uses the CPU backend"):
        alphareq.Accumulator(4, "cpu").add(cuda_interface_only(x))


def test_unsupported_devices_raise(features):
    with pytest.raises(ValueError, match="rocm"):
        alphareq.alpha(DLPackOnly(features(10, 5), device=(10, 0)))


def test_a_consumed_capsule_cannot_be_read_twice(features):
    capsule = features(10, 5).__dlpack__()
    with extension.DLPackTensor(capsule) as tensor:
        assert tensor.shape == (10, 5) and tensor.strides == (5, 1) and tensor.dtype == "float64"
    with pytest.raises(ValueError, match="consumed"):
        extension.DLPackTensor(capsule)
    with pytest.raises(TypeError):
        extension.DLPackTensor(object())


def test_accumulator_argument_errors(features):
    with pytest.raises(ValueError, match="features"):
        alphareq.Accumulator(0)
    with pytest.raises(TypeError):
        alphareq.Accumulator("3")
    accumulator = alphareq.Accumulator(10, backend="cpu")
    with pytest.raises(ValueError, match="11 features per sample"):
        accumulator.add(features(5, 11))
    with pytest.raises(TypeError):
        accumulator.merge(features(5, 10))
    with pytest.raises(ValueError, match="widths"):
        accumulator.merge(alphareq.Accumulator(9, backend="cpu"))
    with pytest.raises(ValueError, match="samples"):
        accumulator.report()
    with pytest.raises(TypeError):
        accumulator.add(features(5, 10), stream="default")


def test_device_arguments_are_read_or_refused_by_name():
    from alphareq._accumulator import _device_ordinal

    assert _device_ordinal(None) == -1 and _device_ordinal("cuda") == -1
    assert _device_ordinal("cuda:1") == 1 and _device_ordinal(np.int64(2)) == 2 and _device_ordinal(3) == 3
    for bad in ("cuda:x", "cuda:-1", "cpu", "cuda:\u0663", "cuda:\u00b2"):
        with pytest.raises(ValueError, match="device: expected 'cuda' or 'cuda:N'"):
            _device_ordinal(bad)
    for bad in (True, 1.5, object()):
        with pytest.raises(TypeError, match="device: expected a CUDA ordinal"):
            _device_ordinal(bad)


# Kills A5 (byte strides divided by 8 instead of the item size: float32 strided views raise).

def test_float32_strided_views_are_read_in_place_like_float64(features):
    from alphareq._arrays import batch_view

    base = features(2000, 150, seed=1, dtype=np.float32)
    for strided, row_stride, cols in ((base[::2], 300, 150), (base[:, :120], 150, 120)):
        with batch_view(strided) as view:
            assert (view.row_stride, view.cols, view.dtype) == (row_stride, cols, "float32")
            assert view.data == base.ctypes.data
        report = alphareq.alpha(strided, first=2, last=60, backend="cpu")
        assert report.alpha == pytest.approx(reference_report(strided, 2, 60)["alpha"], abs=TOLERANCE)


# Kills A3 (size-1 dimensions no longer skipped in the contiguity check). NumPy's own array
# interface hides their strides (relaxed strides: strides None), but DLPack exports them as
# they are: NumPy gives x[:, None, :] stride 0 there, PyTorch's channels-last map of one
# channel stride 1. Both are C-contiguous features and must be read as such.
def test_size_one_dimensions_with_any_stride_are_read(features):
    class DLPackOnly:
        def __init__(self, array):
            self.array = array

        def __dlpack_device__(self):
            return (1, 0)

        def __dlpack__(self, **keywords):
            return self.array.__dlpack__()

    x = features(800, 40, seed=2)
    expected = reference_report(x, 2, 30)["alpha"]
    for view in (x[:, None, :], x[:, :, None], x[:, None, :, None]):
        report = alphareq.alpha(DLPackOnly(view), first=2, last=30, backend="cpu")
        assert report.alpha == pytest.approx(expected, abs=TOLERANCE)
    torch = pytest.importorskip("torch")
    one_channel = torch.from_numpy(x.reshape(800, 1, 5, 8)).to(memory_format=torch.channels_last)
    assert one_channel.stride() == (40, 1, 8, 1)
    assert alphareq.alpha(one_channel, first=2, last=30, backend="cpu").alpha == pytest.approx(expected, abs=TOLERANCE)


# Kills A4 (overlapping rows left to the extension, whose message gives no advice).
def test_overlapping_rows_are_refused_with_advice(features):
    row = features(1, 30)[0]
    for overlapping in (np.broadcast_to(row, (50, 30)),
                        np.lib.stride_tricks.sliding_window_view(features(1, 300)[0], 30)):
        with pytest.raises(ValueError, match="rows overlap.*contiguous copy"):
            alphareq.alpha(overlapping, backend="cpu")


# Kills C24 (the seed's range no longer checked: a negative seed gave nanobind's
# "incompatible function arguments" TypeError instead of a ValueError naming the seed).
def test_a_negative_seed_is_refused_by_name(features):
    with pytest.raises(ValueError, match="seed: must be in"):
        alphareq.alpha(features(100, 10), 2, 8, backend="cpu", bootstrap=3, seed=-1)


# The seed's message and the extension (uint64) take seeds up to 2**64 - 1, as the CLI's
# --bootstrap-seed does, but the int64 check refused [2**63, 2**64).
def test_seeds_up_to_2_64_are_accepted_as_the_cli_accepts_them(features):
    for seed in (2**63, 2**64 - 1):
        report = alphareq.alpha(features(100, 10), 2, 8, backend="cpu", bootstrap=3, seed=seed)
        assert report.diagnostics["bootstrap_resamples"] == 3
    with pytest.raises(ValueError, match="seed: 18446744073709551616 is out of range"):
        alphareq.alpha(features(100, 10), 2, 8, backend="cpu", bootstrap=3, seed=2**64)


# Kills A16 (pinned host memory, DLPack kDLCUDAHost, taken for device memory).
def test_pinned_host_memory_through_dlpack_is_host_memory(features):
    from alphareq._arrays import batch_view

    class PinnedDLPack:  # a producer exporting page-locked host memory (DLPack device type 3)
        def __init__(self, array):
            self.array = array

        def __dlpack_device__(self):
            return (3, 0)

        def __dlpack__(self, *, stream=None, **keywords):
            assert stream is None  # host memory: no stream to order
            return self.array.__dlpack__()

    x = features(1000, 60, seed=3)
    with batch_view(PinnedDLPack(x)) as view:
        assert not view.on_device and view.device == -1 and view.after_reads is None
    report = alphareq.Accumulator(60, backend="cpu").add(PinnedDLPack(x)).report(2, 40)
    assert report.alpha == pytest.approx(reference_report(x, 2, 40)["alpha"], abs=TOLERANCE)


# Kills A18 (a "mask" in a foreign __array_interface__ ignored: masked values read as data).
def test_a_masked_array_interface_is_refused(features):
    x = features(40, 6)

    class MaskedInterface:
        __array_interface__ = {**x.__array_interface__, "mask": np.zeros(x.shape, dtype=bool)}

    with pytest.raises(ValueError, match="masked arrays are not supported"):
        alphareq.alpha(MaskedInterface(), backend="cpu")


# Kills C5, C13/C13b, C16 (solver part), C21, C22: options the CPU backend does not act on
# (solver, deterministic) must still reach the extension, or they are silently lost on CUDA.
def test_every_entry_point_hands_its_options_to_the_extension(features, tmp_path, monkeypatch):
    import alphareq._accumulator as accumulators

    x = features(600, 30, seed=4)
    path = tmp_path / "x.npy"
    np.save(path, x)
    spies = {name: ExtensionSpy(getattr(accumulators._ext, name))
             for name in ("Accumulator", "compute_alpha_view", "compute_alpha_npy")}
    for name, spy in spies.items():
        monkeypatch.setattr(accumulators._ext, name, spy)

    alphareq.Accumulator(30, "cpu", precision="float32", solver="float32", deterministic=True)
    alphareq.alpha(x, 2, 20, "ols", "cpu", precision="float32", solver="float32", deterministic=True)
    assert spies["Accumulator"].calls == [(30, "cpu", "float32", "float32", -1, True)] * 2

    alphareq.alpha(x, 3, 25, "ols", "cpu", normalization="n-1", precision="float32", solver="float32",
                   deterministic=True, bootstrap=4, seed=7, confidence=0.8)
    (view_call,) = spies["compute_alpha_view"].calls
    assert view_call[7:] == ("cpu", "float32", "float32", -1, 3, 25, "ols", "n-1", True, 4, 7, 0.8)

    for entry in (alphareq.alpha, alphareq.alpha_npy):
        entry(path, 3, 25, "ols", "cpu", normalization="n-1", precision="float32", solver="float32",
              deterministic=True, bootstrap=4, seed=7, confidence=0.8)
    assert [call[1:] for call in spies["compute_alpha_npy"].calls] == [
        ("cpu", "float32", "float32", -1, 3, 25, "ols", "n-1", True, 4, 7, 0.8)] * 2
