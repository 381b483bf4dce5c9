"""alphareq.alpha and alphareq.Accumulator: the Python face of the C++ accumulator."""

from __future__ import annotations

import contextlib
import operator
import os
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _alphareq as _ext
from ._arrays import BatchView, batch_view
from ._report import Report

PathLike = Union[str, "os.PathLike[str]"]


def _integer(value: Any, name: str, meaning: str, limits: Tuple[int, int] = (-(2**63), 2**63)) -> int:
    """operator.index with the parameter's name in the error; within [low, high), by default
    int64 (the C++ side's)."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected {meaning} (an int), got {type(value).__name__} {value!r}") from None
    low, high = limits
    if not low <= number < high:
        raise ValueError(f"{name}: {number} is out of range")
    return number


def _device_ordinal(device: Any) -> int:
    """-1 (the current device) for None; else the CUDA ordinal of an int, "cuda:N",
    torch.device or cupy Device."""
    if device is None:
        return -1
    if isinstance(device, bool):
        raise TypeError("device: expected a CUDA ordinal, 'cuda:N' or a device object, got a bool")
    if isinstance(device, str):
        kind, _, index = device.partition(":")
        if kind == "cuda" and (not index or (index.isascii() and index.isdigit())):
            return int(index) if index else -1
        raise ValueError(f"device: expected 'cuda' or 'cuda:N' (N a device ordinal), got {device!r}")
    try:
        return operator.index(device)  # int, numpy.int64, ...
    except TypeError:
        pass
    kind = getattr(device, "type", None)
    if kind is not None:  # torch.device
        if kind != "cuda":
            raise ValueError(f"device: expected a CUDA device, got {device!r}")
        index = getattr(device, "index", None)
        return -1 if index is None else int(index)
    ident = getattr(device, "id", None)  # cupy.cuda.Device
    if isinstance(ident, int):
        return ident
    raise TypeError(f"device: expected a CUDA ordinal, 'cuda:N' or a device object, got {device!r}")


def _read_then_release(view: BatchView, read: Callable[[], Any]) -> Any:
    """read() (which reads the view's memory, or queues reads of it), then the view's
    after_reads, before batch_view's block ends and the producer may reuse the memory —
    also when read() raises, as reads may have been queued before the error (which is the
    one reported)."""
    try:
        result = read()
    except BaseException:
        if view.after_reads is not None:
            with contextlib.suppress(Exception):
                view.after_reads()
        raise
    if view.after_reads is not None:
        view.after_reads()
    return result


class Accumulator:
    """Streaming covariance accumulator: batches of activations in, α out.

    ``d`` is the number of features. ``backend`` is ``"auto"`` (CUDA when a device is
    present, else the CPU), ``"cpu"`` or ``"cuda"``. ``precision`` ("float64", "float32",
    "tf32") is that of each batch's product (the running sum is float64 always); ``solver``
    ("float64", "float32") that of the eigensolver; ``device`` the CUDA device (default:
    the current one). ``deterministic=True`` makes the CUDA backend bit-identical run to run
    (same input, options, GPU model, driver and toolkit), even beside other work on the
    device, for one 32 MiB cuBLAS workspace per accumulator; the CPU backend always is, for
    a fixed OpenBLAS thread count (OPENBLAS_NUM_THREADS).

    Batches are (n, d) arrays — or (n, ...) arrays read as (n, prod(...)) — from NumPy,
    PyTorch, CuPy, JAX or anything with ``__dlpack__`` or an array interface, read in place.
    Host arrays: float32/float64. CUDA arrays (CUDA backend): float16, bfloat16, float32,
    float64, read on the producer's current stream (or ``stream=``). A PyTorch tensor from
    PyTorch's allocator read on one of PyTorch's streams is not waited for (its allocator is
    told which stream reads it); a CuPy, JAX or other producer's array, whose memory may be
    reused as soon as add() returns, and a tensor read on a stream PyTorch does not own, are
    waited for on the host before add() returns.

    One accumulator may be shared between threads (calls are serialised); the GIL is
    released while it computes. It pickles (its float64 state and options), so workers in
    other processes can send theirs to be merged.
    """

    def __init__(self, d: int, backend: str = "auto", *, precision: str = "float64",
                 solver: str = "float64", device: Any = None, deterministic: bool = False) -> None:
        dim = _integer(d, "d", "the number of features")
        self._options = {"precision": str(precision), "solver": str(solver), "deterministic": bool(deterministic)}
        self._impl = _ext.Accumulator(dim, str(backend), str(precision), str(solver), _device_ordinal(device),
                                      bool(deterministic))

    @classmethod
    def _wrap(cls, impl: Any, options: Dict[str, Any]) -> "Accumulator":
        accumulator = cls.__new__(cls)
        accumulator._impl = impl
        accumulator._options = dict(options)
        return accumulator

    @property
    def d(self) -> int:
        """Number of features."""
        return self._impl.dim

    @property
    def n(self) -> int:
        """Number of samples added so far."""
        return self._impl.count

    @property
    def backend(self) -> str:
        """"cpu" or "cuda": the backend doing the work."""
        return self._impl.backend

    @property
    def device(self) -> Optional[int]:
        """CUDA device ordinal of a CUDA accumulator; None for the CPU backend."""
        device = self._impl.device
        return None if device < 0 else device

    def add(self, batch: Any, *, stream: Any = None) -> "Accumulator":
        """Adds the samples (rows) of `batch`; returns self. Raises ValueError for a width
        other than d, a layout that cannot be read in place, a CUDA array given to a CPU
        accumulator (or on another device), NaN/Inf (with its column and its row counted
        over every sample added so far, this batch's first row being row n); TypeError
        for an unsupported type or dtype. The accumulator is unchanged when it raises (the
        CUDA backend reports NaN/Inf from the next report instead). A batch of no samples
        (shape (0, d), as numpy.array_split or a filtered loader may give) adds nothing."""
        with batch_view(batch, stream=stream) as view:
            self._add_view(view)
        return self

    def _add_view(self, view: BatchView) -> None:
        if view.cols != self.d:
            raise ValueError(
                f"batch: has {view.cols} features per sample but the accumulator has {self.d}"
            )
        if view.on_device:
            if self.backend != "cuda":
                raise ValueError(
                    "batch: lives in CUDA device memory but this accumulator uses the CPU backend; "
                    "create it with backend='cuda' (or 'auto' on a machine with a GPU), or move the "
                    "batch to the host explicitly (e.g. tensor.cpu())"
                )
            if view.device >= 0 and view.device != self.device:
                raise ValueError(
                    f"batch: lives on CUDA device {view.device} but the accumulator is on device "
                    f"{self.device}; create one accumulator per device and merge them"
                )
        if view.rows == 0:  # checked as any batch is: it adds nothing, and nothing reads it
            return  # (its pointer may be NULL: CuPy and XLA allocate nothing for size 0)
        _read_then_release(view, lambda: self._impl.add(view.data, view.dtype, view.rows, view.cols,
                                                        view.row_stride, view.on_device, view.stream))

    def merge(self, other: "Accumulator") -> "Accumulator":
        """Adds every sample of `other` (same d, any backend); `other` is unchanged."""
        if not isinstance(other, Accumulator):
            raise TypeError(f"merge: expected an alphareq.Accumulator, got {type(other).__name__}")
        self._impl.merge(other._impl)
        return self

    def report(self, first: int = 11, last: int = 100, method: str = "weighted", *,
               normalization: str = "n") -> Report:
        """Eigenvalues and the power-law fit over ranks first..last ("weighted": weights
        1/i, the authors' fit; "ols"). normalization "n" (the paper's) or "n-1". Raises
        ValueError with fewer than 2 samples or an unusable window."""
        return Report._from_dict(
            self._impl.report(_integer(first, "first", "a 1-based rank"), _integer(last, "last", "a 1-based rank"),
                              str(method), str(normalization))
        )

    def eigenvalues(self, normalization: str = "n") -> np.ndarray:
        """All d eigenvalues of the covariance, descending, float64."""
        return self._impl.eigenvalues(str(normalization))

    def mean(self) -> np.ndarray:
        """Per-feature mean, float64."""
        return self._impl.mean()

    def covariance(self, normalization: str = "n") -> np.ndarray:
        """The d x d covariance, float64."""
        return self._impl.covariance(str(normalization))

    def copy(self) -> "Accumulator":
        """An independent accumulator with the same state (same backend and device)."""
        return Accumulator._wrap(self._impl.copy(), self._options)

    __copy__ = copy

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Accumulator":
        return self.copy()  # exact, and on the same device (a pickle round trip is not)

    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickling (multiprocessing, ``torch.distributed.all_gather_object``, saving to
        resume): the float64 state — count, mean, second moment, whether it carries float32
        rounding — and the options. Unpickled, it is a new accumulator on the same backend
        (for CUDA, the current device) holding those samples, ready to add() to or merge()."""
        count, mean, m2, float32_rounded = self._impl.state()
        return (_restore_accumulator,
                (self.d, self.backend, self._options, count, mean, m2, float32_rounded))

    def __repr__(self) -> str:
        where = f"cuda:{self.device}" if self.backend == "cuda" else "cpu"
        return f"alphareq.Accumulator(d={self.d}, n={self.n}, backend={where!r})"


def _restore_accumulator(d: int, backend: str, options: Dict[str, Any], count: int, mean: np.ndarray,
                         m2: np.ndarray, float32_rounded: bool = False) -> Accumulator:
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    m2 = np.ascontiguousarray(m2, dtype=np.float64)
    # Before the D x D state is allocated: a small pickle claiming a large d is refused cheaply.
    if mean.shape != (d,) or m2.shape != (d, d):
        raise ValueError(f"Accumulator state: d = {d} but the mean has shape {mean.shape} and the "
                         f"second moment {m2.shape}")
    accumulator = Accumulator(d, backend, **options)
    accumulator._impl.merge_state(count, mean, m2, bool(float32_rounded))
    return accumulator


def _bootstrap_arguments(bootstrap: Any, seed: Any, confidence: Any) -> Tuple[int, int, float]:
    resamples = _integer(bootstrap, "bootstrap", "a number of resamples")
    if resamples < 0:
        raise ValueError(f"bootstrap: the number of resamples must be >= 0, got {resamples}")
    # A uint64, as the CLI's --bootstrap-seed: the int64 default would refuse [2**63, 2**64).
    seed = _integer(seed, "seed", "a seed", limits=(-(2**64), 2**64))
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed: must be in [0, 2**64), got {seed}")
    return resamples, seed, float(confidence)


def alpha(x: Any, first: int = 11, last: int = 100, method: str = "weighted", backend: str = "auto",
          *, normalization: str = "n", precision: str = "float64", solver: str = "float64",
          stream: Any = None, deterministic: bool = False, bootstrap: int = 0, seed: int = 0,
          confidence: float = 0.95) -> Report:
    """α of the features `x`: an (n, D) array (or (n, ...) read as (n, prod(...))), read
    in place on its own device, or the path of a .npy file (streamed as the command-line
    tool streams it). See Accumulator for the options and what raises.

    ``bootstrap=B`` (> 0) adds a confidence interval for α from B Poisson resamples of the
    samples (seeded by ``seed``; at ``confidence``) to ``report.diagnostics``:
    ``alpha_interval_low``/``_high``, ``alpha_standard_error``, ``bootstrap_bias``. Each
    resample costs one more accumulation (on the GPU they run as a batch)."""
    resamples, seed, confidence = _bootstrap_arguments(bootstrap, seed, confidence)
    if isinstance(x, (str, os.PathLike)):
        return alpha_npy(x, first, last, method, backend, normalization=normalization,
                         precision=precision, solver=solver, deterministic=deterministic,
                         bootstrap=resamples, seed=seed, confidence=confidence)
    with batch_view(x, stream=stream, what="x") as view:
        if view.rows == 0:
            raise ValueError(f"x: the array is empty (no samples of {view.cols} features)")
        device = view.device if view.on_device and view.device >= 0 else None
        if resamples == 0:
            accumulator = Accumulator(view.cols, backend, precision=precision, solver=solver,
                                      device=device, deterministic=deterministic)
            accumulator._add_view(view)
        else:
            return Report._from_dict(_read_then_release(view, lambda: _ext.compute_alpha_view(
                view.data, view.dtype, view.rows, view.cols, view.row_stride, view.on_device,
                view.stream, str(backend), str(precision), str(solver), _device_ordinal(device),
                _integer(first, "first", "a 1-based rank"), _integer(last, "last", "a 1-based rank"),
                str(method), str(normalization), bool(deterministic), resamples, seed, confidence)))
    return accumulator.report(first, last, method, normalization=normalization)


def alpha_npy(path: PathLike, first: int = 11, last: int = 100, method: str = "weighted",
              backend: str = "auto", *, normalization: str = "n", precision: str = "float64",
              solver: str = "float64", device: Any = None, deterministic: bool = False,
              bootstrap: int = 0, seed: int = 0, confidence: float = 0.95) -> Report:
    """α of a float32/float64 .npy file (either byte order, C or Fortran order), streamed
    in chunks so that files larger than memory work (the bootstrap, as alpha()'s, reads it
    once more). Raises alphareq.FileError (an OSError and a ValueError) naming the file
    for an unreadable or invalid file."""
    resamples, seed, confidence = _bootstrap_arguments(bootstrap, seed, confidence)
    return Report._from_dict(
        _ext.compute_alpha_npy(os.fsencode(path), str(backend), str(precision), str(solver),
                               _device_ordinal(device), _integer(first, "first", "a 1-based rank"),
                               _integer(last, "last", "a 1-based rank"),
                               str(method), str(normalization), bool(deterministic),
                               resamples, seed, confidence)
    )
