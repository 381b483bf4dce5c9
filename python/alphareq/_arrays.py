"""Reading arrays in place: DLPack, the CUDA array interface and the NumPy array interface.

Every input becomes a :class:`BatchView` — pointer, rows, columns, row stride (elements),
dtype, memory space, device and stream — that the extension module hands to the C++
accumulator. Nothing is copied: an array whose layout cannot be described that way is
refused with a ValueError that says how to make it readable.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

from . import _alphareq as _ext

# DLPack device types (dlpack.h, DLDeviceType).
_DL_CPU = 1
_DL_CUDA = 2
_DL_CUDA_HOST = 3
_DL_CUDA_MANAGED = 13
_DL_DEVICE_NAMES = {
    1: "cpu", 2: "cuda", 3: "cuda_host", 4: "opencl", 7: "vulkan", 8: "metal", 9: "vpi",
    10: "rocm", 11: "rocm_host", 12: "ext_dev", 13: "cuda_managed", 14: "oneapi",
    15: "webgpu", 16: "hexagon", 17: "maia",
}

HOST_DTYPES = ("float32", "float64")
DEVICE_DTYPES = ("float16", "bfloat16", "float32", "float64")

# Array-interface type strings of the float types (byte order checked separately).
_TYPESTR_DTYPES = {"f2": "float16", "f4": "float32", "f8": "float64"}


@dataclass(frozen=True)
class BatchView:
    """A batch as the C++ accumulator reads it (rows = samples, cols = features)."""

    data: int  #: address of the first element
    rows: int
    cols: int
    row_stride: int  #: elements between the starts of consecutive rows
    dtype: str  #: "float16", "bfloat16", "float32" or "float64"
    on_device: bool  #: CUDA device (or managed) memory
    #: CUDA ordinal; -1 for host memory, -2 where no one device owns it (managed memory read
    #: through the CUDA array interface, an empty array of it, or no CUDA on this machine)
    device: int
    stream: int  #: cudaStream_t as an integer; 0 is the legacy default stream
    source: str  #: "dlpack", "cuda_array_interface" or "array_interface"
    #: For CUDA batches: to be called once an accumulator has queued its reads of the batch,
    #: before the view's block ends (see _order_release).
    after_reads: Optional[Callable[[], None]] = field(default=None, compare=False, repr=False)


def stream_handle(stream: Any) -> Optional[int]:
    """An integer cudaStream_t from an int, a torch.cuda.Stream, a cupy Stream or None."""
    if stream is None:
        return None
    if isinstance(stream, bool):
        raise TypeError("stream: expected an integer cudaStream_t or a stream object, got a bool")
    if isinstance(stream, int):
        return stream
    for attribute in ("cuda_stream", "ptr", "handle"):
        value = getattr(stream, attribute, None)
        if isinstance(value, int):
            return value
    raise TypeError(
        f"stream: expected an integer cudaStream_t, a torch.cuda.Stream or a cupy Stream, "
        f"got {type(stream).__name__}"
    )


def _library_stream(stream: int) -> int:
    # DLPack and the CUDA array interface spell the legacy default stream 1; cudaStream_t 0
    # (nullptr) is the same stream for the library.
    return 0 if stream in (0, 1) else stream


def _describe(x: Any) -> str:
    kind = type(x)
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__


def flatten_rows(shape: Sequence[int], strides: Sequence[int], what: str) -> Tuple[int, int, int]:
    """(rows, cols, row_stride) of an array of `shape` with element `strides`, read as
    shape[0] rows of prod(shape[1:]) features the way x.reshape(n, -1) reads it. Refuses
    layouts that no single row stride describes."""
    shape = tuple(int(s) for s in shape)
    strides = tuple(int(s) for s in strides)
    if len(shape) < 2:
        raise ValueError(
            f"{what}: expected an array of shape (n, D) — n samples of D features — or "
            f"(n, ...) read as n x prod(...), got shape {shape}; for a single feature use "
            f"x.reshape(-1, 1), for a single sample x.reshape(1, -1)"
        )
    if any(size < 0 for size in shape) or len(strides) != len(shape):
        raise ValueError(f"{what}: malformed shape {shape} / strides {strides}")
    if any(size == 0 for size in shape[1:]):
        raise ValueError(f"{what}: the array is empty (shape {shape})")
    rows = shape[0]
    cols = math.prod(shape[1:])
    if rows == 0:
        return 0, cols, cols  # no samples: what reads it decides (Accumulator.add: nothing to add)
    expected = 1
    for size, stride in zip(reversed(shape[1:]), reversed(strides[1:])):
        if size == 1:
            continue
        if stride != expected:
            raise ValueError(
                f"{what}: the feature dimensions (shape {shape[1:]}, element strides "
                f"{strides[1:]}) are not contiguous in C order, so the array cannot be read as "
                f"{rows} rows of {cols} features without a copy (a transposed, Fortran-order or "
                f"channels-last array, or a slice of a feature dimension); make a contiguous "
                f"copy first, e.g. numpy.ascontiguousarray(x) or x.contiguous()"
            )
        expected *= size
    row_stride = strides[0] if rows > 1 else cols
    if row_stride < cols:
        raise ValueError(
            f"{what}: rows overlap or run backwards (row stride {row_stride} elements for "
            f"{cols} features: a reversed or broadcast array); make a contiguous copy first"
        )
    return rows, cols, row_stride


def _check_dtype(dtype: str, on_device: bool, what: str) -> None:
    allowed = DEVICE_DTYPES if on_device else HOST_DTYPES
    if dtype in allowed:
        return
    if not on_device and dtype in DEVICE_DTYPES:
        raise TypeError(
            f"{what}: {dtype} is read from CUDA device memory only; host arrays must be float32 "
            f"or float64 (convert first, e.g. x.astype(numpy.float32) or x.float())"
        )
    where = "CUDA device arrays" if on_device else "host arrays"
    raise TypeError(f"{what}: unsupported dtype {dtype}; {where} must be {', '.join(allowed)}")


def _check_alignment(data: int, itemsize: int, what: str) -> None:
    if data % itemsize != 0:
        raise ValueError(
            f"{what}: the data pointer is not aligned to its {itemsize}-byte elements; "
            f"make an aligned copy first (e.g. x.copy(), or numpy.require(x, requirements='A'); "
            f"numpy.ascontiguousarray returns an already contiguous array as it is)"
        )


def _element_strides(byte_strides: Sequence[int], itemsize: int, what: str) -> Tuple[int, ...]:
    strides = []
    for stride in byte_strides:
        if int(stride) % itemsize != 0:
            raise ValueError(
                f"{what}: a stride of {stride} bytes is not a whole number of {itemsize}-byte "
                f"elements; make a contiguous copy first"
            )
        strides.append(int(stride) // itemsize)
    return tuple(strides)


def _c_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * int(shape[i + 1])
    return tuple(strides)


def _typestr_dtype(typestr: str, what: str) -> str:
    order, kind = typestr[:1], typestr[1:]
    native = "<" if sys.byteorder == "little" else ">"
    dtype = _TYPESTR_DTYPES.get(kind)
    if dtype is None:
        raise TypeError(
            f"{what}: unsupported dtype {typestr!r}; expected float32 or float64 (float16 and "
            f"bfloat16 in CUDA device memory)"
        )
    if order not in (native, "=", "|"):
        raise ValueError(
            f"{what}: the array is {'big' if order == '>' else 'little'}-endian; convert it to "
            f"the machine's byte order first (e.g. x.astype(x.dtype.newbyteorder('=')))"
        )
    return dtype


def _is_torch_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _producer_module(x: Any) -> str:
    """The library that made `x`: "torch" for any torch.Tensor, subclasses from other
    packages included (a torchvision tv_tensors.Image is PyTorch's memory and streams)."""
    if _is_torch_tensor(x):
        return "torch"
    return type(x).__module__.split(".")[0]


@contextlib.contextmanager
def _device_current(x: Any, device: int) -> Iterator[None]:
    """The array's device made current while it is exported: PyTorch exports a CUDA tensor
    through DLPack only then (older versions synchronised on the current device's stream
    instead), and CuPy orders the export on the current device's stream."""
    module = _producer_module(x)
    if module == "torch":
        import torch

        with torch.cuda.device(device):
            yield
    elif module == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            yield
    else:
        yield


def _order_release(x: Any, data: int, device: int, stream: int, recordable: bool = True) -> None:
    """Keeps the producer from reusing a CUDA batch's memory before the accumulator's reads
    of it have run. The accumulator only queues those reads, ordered before any later work
    on `stream`. PyTorch's caching allocator can be told to wait for that stream; every
    other producer, and a PyTorch tensor over memory that allocator does not own, is
    waited for here."""
    # record_stream keeps `stream` until the block is freed: only for streams PyTorch owns
    # (its pool streams and the default stream live as long as the process); a CuPy stream
    # or a raw cudaStream_t may be destroyed first (torch.cuda.ExternalStream's caveat).
    if recordable and _producer_module(x) == "torch" and _torch_allocator_owns(x):
        import torch

        # The caching allocator reuses a freed block in its allocation stream's order only;
        # record_stream also orders it after `stream` (nothing to do when they are one).
        recorded = (torch.cuda.ExternalStream(stream, device=device) if stream
                    else torch.cuda.default_stream(device))
        x.record_stream(recorded)
    else:
        # CuPy's pool reuses a block in the order of the stream it was allocated on, which
        # need not be `stream`; JAX/XLA, Numba and unknown producers give no order at all.
        _ext.wait_for_stream(stream, data)


def _torch_owned_stream(stream: Any) -> bool:
    """Whether the stream a caller chose outlives any tensor (so that record_stream may
    keep it): None (PyTorch's current stream), the legacy default stream, or a
    torch.cuda.Stream from PyTorch's pool (not an ExternalStream)."""
    if stream is None or (isinstance(stream, int) and not isinstance(stream, bool) and stream in (0, 1)):
        return True
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    return (cuda is not None and isinstance(stream, cuda.Stream)
            and not isinstance(stream, cuda.ExternalStream))


def _torch_allocator_owns(x: Any) -> bool:
    """Whether PyTorch's CUDA allocator owns the tensor's memory, so that record_stream
    protects it. A tensor wrapping another library's memory (``torch.from_dlpack`` of a JAX
    or CuPy array) is freed by that library, which record_stream does not reach. The check
    is a private PyTorch function (the one its CUDA graph trees use); without it, the
    tensor is treated as foreign and waited for, which is safe."""
    import torch

    try:
        return bool(torch._C._has_Standard_Deleter(x.untyped_storage()._cdata))
    except (AttributeError, RuntimeError, TypeError):
        return False


def _producer_stream(x: Any, device: int) -> int:
    """The stream the producer's current work is on: torch's and CuPy's current stream of
    the array's device, else the legacy default stream (0)."""
    module = _producer_module(x)
    if module == "torch":
        import torch

        return int(torch.cuda.current_stream(device).cuda_stream)
    if module == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            return int(cupy.cuda.get_current_stream().ptr)
    return 0


def _call_dlpack(x: Any, stream: Optional[int], what: str) -> Any:
    attempts = (
        {"stream": stream, "max_version": (1, 0), "copy": False},
        {"stream": stream, "max_version": (1, 0)},
        {"stream": stream},
    )
    last_error: Optional[TypeError] = None
    for keywords in attempts:
        try:
            return x.__dlpack__(**keywords)
        except TypeError as error:  # an older producer without these keywords
            # "unexpected keyword argument" (Python, Cython), "incompatible function
            # arguments" (pybind11, nanobind); anything else is the producer's own error.
            if "keyword" not in str(error) and "incompatible function arguments" not in str(error):
                raise  # retrying would export again
            last_error = error
        except BufferError as error:
            raise ValueError(f"{what}: {_describe(x)} cannot be read in place through DLPack: {error}") from error
    if stream is None:
        return x.__dlpack__()
    raise TypeError(f"{what}: {_describe(x)}.__dlpack__ does not accept a stream: {last_error}")


@contextlib.contextmanager
def _from_dlpack(x: Any, stream: Optional[int], what: str, recordable: bool = True) -> Iterator[BatchView]:
    device_type, device_id = (int(v) for v in x.__dlpack_device__())
    if device_type not in (_DL_CPU, _DL_CUDA_HOST, _DL_CUDA, _DL_CUDA_MANAGED):
        name = _DL_DEVICE_NAMES.get(device_type, f"type {device_type}")
        raise ValueError(
            f"{what}: the array lives on a {name} device; alphareq reads host memory and CUDA "
            f"device memory"
        )
    on_device = device_type in (_DL_CUDA, _DL_CUDA_MANAGED)
    if on_device:
        with _device_current(x, device_id):
            consumer = stream if stream is not None else _producer_stream(x, device_id)
            # The producer makes its data ready on our stream (DLPack: 1 = legacy default).
            capsule = _call_dlpack(x, consumer if consumer != 0 else 1, what)
    else:
        consumer = 0
        capsule = _call_dlpack(x, None, what)
    with _ext.DLPackTensor(capsule) as tensor:
        dtype = tensor.dtype
        _check_dtype(dtype, on_device, what)
        rows, cols, row_stride = flatten_rows(tensor.shape, tensor.strides, what)
        _check_alignment(tensor.data, tensor.itemsize, what)
        library_stream = _library_stream(consumer)
        # Host memory has been read when add() returns; device memory only queued for reading.
        after_reads = (functools.partial(_order_release, x, tensor.data, device_id, library_stream,
                                         recordable) if on_device else None)
        yield BatchView(
            data=tensor.data, rows=rows, cols=cols, row_stride=row_stride, dtype=dtype,
            on_device=on_device, device=device_id if on_device else -1,
            stream=library_stream, source="dlpack", after_reads=after_reads,
        )


def _from_cuda_array_interface(x: Any, stream: Optional[int], what: str) -> BatchView:
    interface = x.__cuda_array_interface__
    if interface.get("mask") is not None:
        raise ValueError(f"{what}: masked arrays are not supported")
    dtype = _typestr_dtype(interface["typestr"], what)
    itemsize = int(interface["typestr"][2:])
    shape = tuple(interface["shape"])
    data = int(interface["data"][0])
    byte_strides = interface.get("strides")
    strides = _c_strides(shape) if byte_strides is None else _element_strides(byte_strides, itemsize, what)
    rows, cols, row_stride = flatten_rows(shape, strides, what)
    _check_alignment(data, itemsize, what)
    # Version 3: 'stream' is where the producer's work is queued (None: nothing to wait
    # for). Read in its order; a stream the caller chose first waits for it.
    producer = interface.get("stream")
    chosen = stream if stream is not None else (int(producer) if producer is not None else 0)
    # The interface names no device: the pointer's own (a Numba array on a GPU that is not
    # current is then read there, not refused). An empty array's pointer may be NULL.
    # No CUDA here (a build without it, no driver or no device): device unknown, and no
    # stream to order; the accumulator then says it cannot read device memory. Asked first,
    # so that a CUDA error where CUDA works is raised, not taken for its absence.
    cuda_usable = rows > 0 and bool(_ext.cuda_available()[0])
    device = -2
    if cuda_usable:
        try:
            device = _ext.device_memory_owner(data)
        except ValueError as error:  # host memory behind a CUDA array interface
            raise ValueError(f"{what}: {_describe(x)}.__cuda_array_interface__: {error}") from None
    if producer is not None and cuda_usable and _library_stream(chosen) != _library_stream(int(producer)):
        _ext.make_stream_wait(_library_stream(chosen), _library_stream(int(producer)), data)
    return BatchView(
        data=data, rows=rows, cols=cols, row_stride=row_stride, dtype=dtype, on_device=True,
        device=device, stream=_library_stream(chosen), source="cuda_array_interface",
        after_reads=functools.partial(_order_release, x, data, device, _library_stream(chosen)),
    )


def _from_array_interface(x: Any, interface: dict, what: str) -> BatchView:
    if interface.get("mask") is not None:
        raise ValueError(f"{what}: masked arrays are not supported")
    dtype = _typestr_dtype(interface["typestr"], what)
    _check_dtype(dtype, False, what)
    itemsize = int(interface["typestr"][2:])
    shape = tuple(interface["shape"])
    data = interface.get("data")
    if not isinstance(data, tuple):
        raise TypeError(f"{what}: {_describe(x)}.__array_interface__ gives no data pointer")
    address = int(data[0])
    byte_strides = interface.get("strides")
    strides = _c_strides(shape) if byte_strides is None else _element_strides(byte_strides, itemsize, what)
    rows, cols, row_stride = flatten_rows(shape, strides, what)
    _check_alignment(address, itemsize, what)
    return BatchView(
        data=address, rows=rows, cols=cols, row_stride=row_stride, dtype=dtype, on_device=False,
        device=-1, stream=0, source="array_interface",
    )


@contextlib.contextmanager
def batch_view(x: Any, stream: Any = None, what: str = "batch") -> Iterator[BatchView]:
    """Reads `x` in place as a BatchView, valid inside the `with` block.

    Accepted: anything with ``__dlpack__`` (PyTorch, CuPy, JAX, NumPy, ...), the CUDA array
    interface, the NumPy array interface and the buffer protocol. A PyTorch tensor that
    requires grad is read through ``detach()`` (same memory). For CUDA arrays the data is
    read in the order of `stream` (default: the producer's current stream for PyTorch and
    CuPy, else the legacy default stream), after the producer's pending work on it. The
    producer must not reuse a CUDA batch's memory before the accumulator has read it: call
    the view's ``after_reads`` once the reads are queued, inside the block. PyTorch tensors
    are then tied to the stream (``record_stream``) when PyTorch's allocator owns their
    memory; any other producer (CuPy, JAX, Numba, a tensor wrapping their memory, ...) is
    waited for.
    """
    import numpy as np

    chosen = stream_handle(stream)
    recordable = _torch_owned_stream(stream)
    if isinstance(x, np.ma.MaskedArray):
        # Its array interface describes the data alone: the masked values would be read.
        raise ValueError(
            f"{what}: masked arrays are not supported (the masked values would be read as "
            f"data); drop the masked samples (x[~numpy.ma.getmaskarray(x).any(axis=1)]) or "
            f"fill them (x.filled(value)) first"
        )
    if isinstance(x, np.ndarray):
        yield _from_array_interface(x, x.__array_interface__, what)
        return
    if _is_torch_tensor(x):
        if x.is_neg() or x.is_conj():
            # Lazy views whose sign or conjugation DLPack does not carry: read in place they
            # would give the values without it.
            raise ValueError(
                f"{what}: a lazily negated or conjugated PyTorch view; call x.resolve_neg() "
                f"(or x.resolve_conj()) first"
            )
        x = x.detach()
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        with _from_dlpack(x, chosen, what, recordable) as view:
            yield view
        return
    if hasattr(x, "__cuda_array_interface__"):
        yield _from_cuda_array_interface(x, chosen, what)
        return
    interface = getattr(x, "__array_interface__", None)
    if isinstance(interface, dict):
        yield _from_array_interface(x, interface, what)
        return
    if isinstance(x, (bytes, bytearray)):
        raise TypeError(
            f"{what}: expected an array, got {_describe(x)}; raw bytes have no shape or dtype: "
            f"wrap them with numpy.frombuffer(x, dtype).reshape(n, d)"
        )
    if isinstance(x, (str, list, tuple, dict, int, float, complex)) or x is None:
        raise TypeError(
            f"{what}: expected an array (NumPy, PyTorch, CuPy, JAX or anything with __dlpack__ "
            f"or an array interface), got {_describe(x)}; wrap lists with numpy.asarray(x)"
        )
    try:
        buffer = memoryview(x)
    except TypeError:
        raise TypeError(
            f"{what}: expected an array (NumPy, PyTorch, CuPy, JAX or anything with __dlpack__ "
            f"or an array interface), got {_describe(x)}"
        ) from None
    array = np.asarray(buffer)  # a view of the buffer, no copy
    yield _from_array_interface(x, array.__array_interface__, what)
