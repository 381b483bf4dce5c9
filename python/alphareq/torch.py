"""PyTorch integration: α per layer, streamed from forward hooks.

    monitor = alphareq.torch.LayerMonitor(model, layers=["layer1", "layer2", "fc"])
    with torch.no_grad():
        for images, _ in loader:
            model(images)
    for name, report in monitor.report().items():
        print(name, report.alpha, report.r2)
    monitor.remove()

Each named layer's output is flattened per sample (``output.reshape(n, -1)``, as the α-ReQ
reference code does) and added to that layer's covariance accumulator, which lives where
the activations live: on the tensor's CUDA device (float16/bfloat16/float32/float64 read in
place on the current stream, no host synchronisation) or on the CPU. No activation is
stored, no autograd graph is kept (the hook reads ``output.detach()``) and nothing is
copied to the host (unless ``backend="cpu"`` asks for the CPU backend on a CUDA model).
"""

from __future__ import annotations

import math
import operator
import os
import sys
import threading
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import torch

from . import _alphareq as _ext
from ._accumulator import Accumulator
from ._report import Report

__all__ = ["LayerMonitor"]

_HOST_DTYPES = (torch.float32, torch.float64)


def _first_tensor(output: Any) -> Optional[torch.Tensor]:
    """The output tensor of a layer: itself, or the first tensor in a tuple, list or dict
    (e.g. a transformer block's (hidden_states, attention) or a ModelOutput)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        items: Iterable[Any] = output
    elif isinstance(output, dict):
        items = output.values()
    else:
        return None
    for item in items:
        tensor = _first_tensor(item)
        if tensor is not None:
            return tensor
    return None


def _inert_hook(*hook_arguments: Any) -> None:
    """What a copy of a monitored model keeps of the monitor's hooks: nothing to do."""
    return None


def _make_inert_hook() -> Callable[..., None]:
    return _inert_hook


# torch.compile traces hooks; this frame walk is host bookkeeping it cannot trace.
_not_compiled = getattr(getattr(torch, "compiler", None), "disable", lambda function: function)


@_not_compiled
def _warn_at_model_code(message: str) -> None:
    """A RuntimeWarning attributed to the nearest frame outside this package and PyTorch:
    the model code that called the module, from inside a hook."""
    # With the separator: torchvision's or torchaudio's models are the caller's code.
    internal = (os.path.join(os.path.dirname(__file__), ""), os.path.join(os.path.dirname(torch.__file__), ""))
    frame, level = sys._getframe(0), 1  # level 1: this function, which calls warnings.warn
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)


class _MonitorHook:
    """A hook of the monitor on the model. A deep copy of the model (an EMA teacher,
    ``copy.deepcopy(student)``) or a pickled one (``torch.save(model)``) gets an inert hook
    instead: only the monitored model feeds the monitor, and the monitor does not travel
    with the model."""

    def __init__(self, monitor: "LayerMonitor") -> None:
        self.monitor = monitor

    def __deepcopy__(self, memo: Dict[int, Any]) -> Callable[..., None]:
        return _inert_hook

    def __reduce__(self) -> Tuple[Callable[[], Callable[..., None]], Tuple[()]]:
        return (_make_inert_hook, ())


class _LayerHook(_MonitorHook):
    """The forward hook of one monitored layer."""

    def __init__(self, monitor: "LayerMonitor", name: str) -> None:
        super().__init__(monitor)
        self.name = name

    def __call__(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if self.monitor.enabled:
            self.monitor._observe(self.name, output)


class _PassStartHook(_MonitorHook):
    """The model's forward pre-hook: a forward pass of the whole model begins (in this
    thread), unless the model's forward called the model again (depth > 1)."""

    def __call__(self, module: torch.nn.Module, inputs: Any) -> None:
        state = self.monitor._pass
        state.depth = getattr(state, "depth", 0) + 1
        if state.depth == 1:
            state.layers_run = set()


class _PassEndHook(_MonitorHook):
    """The model's forward hook (also when the forward raised): the pass, or a nested call
    of the model inside it, is over."""

    def __call__(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        state = self.monitor._pass
        state.depth = max(getattr(state, "depth", 1) - 1, 0)
        if state.depth == 0:
            state.layers_run = None


class LayerMonitor:
    """Forward hooks that stream named layers' activations into per-layer accumulators.

    Args:
        model: the ``torch.nn.Module``.
        layers: names as in ``model.named_modules()`` (e.g. ``"layer3.1.conv2"``); one
            accumulator each.
        backend: ``"auto"`` (default) accumulates where each activation lives — the CUDA
            backend on the tensor's device for CUDA tensors, the CPU for CPU tensors;
            ``"cpu"`` or ``"cuda"`` force one. ``"cpu"`` keeps the D × D state off the GPU
            at the price of copying each CUDA activation to the host (the only copy the
            monitor ever makes to the host, and only when asked for this way).
        precision, solver, deterministic: as for :class:`alphareq.Accumulator`.
        transform: optional callable applied to each (detached) output before it is
            flattened, e.g. ``lambda y: y.mean(dim=(2, 3))`` to pool a convolution's
            spatial dimensions (the D × D covariance of a flattened feature map can be
            large: D = C·H·W).
        first, last, method, normalization: defaults for :meth:`report`.

    Outputs whose layout ``reshape(n, -1)`` cannot view (e.g. channels-last feature maps)
    are flattened into a contiguous copy on the same device. CPU float16/bfloat16 outputs
    are converted to float32 (the CPU backend reads float32/float64). The hooks run in
    every forward pass while ``enabled`` is true; call :meth:`remove` (or use the monitor
    as a context manager) to take them out. A deep copy or a pickle of the model carries
    inert hooks: its forward passes are not counted. Bad options raise at construction.

    Every call of a monitored module adds its output as samples. A module called more than
    once in one forward pass of ``model`` (one ``nn.ReLU`` shared by several blocks) thus
    mixes the activations of several places into one accumulator: the monitor warns
    (RuntimeWarning, once per layer); give each place its own module to tell them apart.
    Forward passes recomputed by activation checkpointing during a backward pass run the
    hooks again too: monitor under ``torch.no_grad()`` or pause it (``enabled = False``)
    during training steps. Activations from several devices (``nn.DataParallel``
    replicas, a model moved between devices) feed one accumulator per device, merged when
    reported (:attr:`accumulators`).
    """

    def __init__(self, model: torch.nn.Module, layers: Union[str, Iterable[str]], *,
                 backend: str = "auto", precision: str = "float64", solver: str = "float64",
                 deterministic: bool = False,
                 transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                 first: int = 11, last: int = 100, method: str = "weighted",
                 normalization: str = "n") -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"LayerMonitor: expected a torch.nn.Module, got {type(model).__name__}")
        names: List[str] = [layers] if isinstance(layers, str) else list(layers)
        if not names:
            raise ValueError("LayerMonitor: give at least one layer name")
        if len(set(names)) != len(names):
            raise ValueError(f"LayerMonitor: a layer is named twice in {names}")
        modules = dict(model.named_modules())
        missing = [name for name in names if name not in modules]
        if missing:
            available = [name for name in modules if name]
            shown = ", ".join(repr(name) for name in available[:12])
            more = f", ... ({len(available)} in all)" if len(available) > 12 else ""
            raise ValueError(
                f"LayerMonitor: the model has no module named {missing[0]!r}; names are as in "
                f"model.named_modules(): {shown}{more}"
            )
        if backend not in ("auto", "cpu", "cuda"):
            raise ValueError(f"LayerMonitor: unknown backend {backend!r} (expected auto, cpu or cuda)")
        try:  # what the first forward pass or report() would refuse, refused now
            _ext.check_options(backend, str(precision), str(solver), operator.index(first),
                               operator.index(last), str(method), str(normalization))
        except (ValueError, TypeError) as error:
            raise type(error)(f"LayerMonitor: {error}") from None
        if backend == "cuda":
            available, reason = _ext.cuda_available()
            if not available:
                raise _ext.BackendUnavailableError(f"LayerMonitor: backend cuda: {reason}")
        self.layers = tuple(names)
        self.backend = backend
        self.precision = precision
        self.solver = solver
        self.deterministic = deterministic
        self.transform = transform
        self.first, self.last, self.method, self.normalization = first, last, method, normalization
        # Each layer's accumulators by the device that reads its batches (None: the host):
        # one, unless its activations come from several devices (DataParallel replicas, a
        # model moved between devices). Never merged in place: see `accumulators`.
        self._by_device: Dict[str, Dict[Optional[int], Accumulator]] = {}
        # A layer's first batch creates its accumulator: forward passes in several threads
        # (DataParallel replicas) must not each create one and keep only the last.
        self._creating = threading.Lock()
        #: Hooks do nothing while False (e.g. during training steps).
        self.enabled = True
        # The layers that have run in this thread's current forward pass of the model (None
        # outside one): a second call of a layer in the same pass gets a warning.
        self._pass = threading.local()
        self._warned_repeated: set = set()
        self._handles = [modules[name].register_forward_hook(_LayerHook(self, name)) for name in names]
        self._handles.append(model.register_forward_pre_hook(_PassStartHook(self)))
        try:  # always_call (PyTorch >= 2.1): the pass also ends when the forward raises
            self._handles.append(model.register_forward_hook(_PassEndHook(self), always_call=True))
        except TypeError:
            self._handles.append(model.register_forward_hook(_PassEndHook(self)))

    def _observe(self, name: str, output: Any) -> None:
        self._note_call(name)
        tensor = _first_tensor(output)
        if tensor is None:
            raise TypeError(f"LayerMonitor: layer {name!r} returned {type(output).__name__}, which holds no tensor")
        with torch.no_grad():
            x = tensor.detach()
            if self.transform is not None:
                x = self.transform(x).detach()
            if x.dim() == 0:
                raise ValueError(f"LayerMonitor: layer {name!r} returned a scalar; expected (n, ...) activations")
            if not x.is_floating_point():
                raise TypeError(f"LayerMonitor: layer {name!r} returned {x.dtype} activations; expected floating point")
            # A view whenever the layout allows (-1 cannot be inferred for a batch of none).
            x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
            if x.is_cuda and self.backend == "cpu":
                x = x.to("cpu")  # asked for: the CPU backend reads host memory only
            if not x.is_cuda and x.dtype not in _HOST_DTYPES:
                x = x.float()
            device = self._reading_device(x)
            accumulator = self._by_device.get(name, {}).get(device)
            if accumulator is None:
                if x.shape[0] == 0:
                    return  # a forward pass over no samples (an empty or filtered batch)
                with self._creating:
                    accumulator = self._by_device.get(name, {}).get(device)
                    if accumulator is None:
                        # Kept once it holds samples: a first batch refused (NaN, say) leaves
                        # the layer as if it had not run, not with an empty accumulator.
                        accumulator = self._new_accumulator(x)
                        self._add(name, accumulator, x)
                        # A new dict, not an update: readers iterate the old one unlocked.
                        self._by_device[name] = {**self._by_device.get(name, {}), device: accumulator}
                        return
            self._add(name, accumulator, x)  # a batch of no samples: checked, adds nothing

    def _reading_device(self, x: torch.Tensor) -> Optional[int]:
        """The CUDA device whose accumulator reads `x`; None for the CPU backend's."""
        if self.backend == "cpu" or (self.backend == "auto" and not x.is_cuda):
            return None
        return x.device.index if x.is_cuda else torch.cuda.current_device()

    @property
    def accumulators(self) -> Dict[str, Accumulator]:
        """The accumulator of each layer that has seen at least one batch. A layer whose
        activations came from several devices has one per device: here they are merged
        into a copy (the host's first, then the GPUs' in ascending order, so the result is
        the same whichever replica ran first), which later batches do not reach."""
        return {name: self._merged(name) for name in self.layers if name in self._by_device}

    def _merged(self, name: str) -> Accumulator:
        per_device = self._by_device[name]
        if len(per_device) == 1:
            return next(iter(per_device.values()))
        order = sorted(per_device, key=lambda device: -1 if device is None else device)
        merged = per_device[order[0]].copy()
        for device in order[1:]:
            try:
                merged.merge(per_device[device])
            except ValueError as error:
                raise ValueError(f"LayerMonitor: layer {name!r}: merging its accumulators of "
                                 f"several devices: {error}") from None
        return merged

    def _note_call(self, name: str) -> None:
        layers_run = getattr(self._pass, "layers_run", None)
        if layers_run is None:  # called outside a forward pass of the model: nothing to compare
            return
        if name not in layers_run:
            layers_run.add(name)
        elif name not in self._warned_repeated:
            self._warned_repeated.add(name)
            _warn_at_model_code(
                f"LayerMonitor: layer {name!r} ran more than once in one forward pass of the model "
                "(a module used at several places?): the outputs of every call are added to its "
                "accumulator as samples of one layer")

    @staticmethod
    def _add(name: str, accumulator: Accumulator, x: torch.Tensor) -> None:
        try:
            accumulator.add(x)
        except ValueError as error:
            raise ValueError(f"LayerMonitor: layer {name!r}: {error}") from None

    def _new_accumulator(self, x: torch.Tensor) -> Accumulator:
        backend = self.backend
        if backend == "auto":
            backend = "cuda" if x.is_cuda else "cpu"
        device = x.device.index if (x.is_cuda and backend == "cuda") else None
        return Accumulator(x.shape[1], backend, precision=self.precision, solver=self.solver, device=device,
                           deterministic=self.deterministic)

    def report(self, first: Optional[int] = None, last: Optional[int] = None,
               method: Optional[str] = None, *, normalization: Optional[str] = None) -> Dict[str, Report]:
        """α, R², eigenvalues and the rest per layer, in the order of ``layers``. Layers that
        saw no forward pass yet are left out with a warning; ValueError when none has."""
        return self._report(first, last, method, normalization, warning_level=3)

    def _report(self, first: Optional[int], last: Optional[int], method: Optional[str],
                normalization: Optional[str], warning_level: int) -> Dict[str, Report]:
        # warning_level: the stack level of the caller of the public method, for the warning.
        first = self.first if first is None else first
        last = self.last if last is None else last
        method = self.method if method is None else method
        normalization = self.normalization if normalization is None else normalization
        if not self._by_device:
            raise ValueError("LayerMonitor: no activations yet; run forward passes through the model first")
        silent = [name for name in self.layers if name not in self._by_device]
        if silent:
            warnings.warn(f"LayerMonitor: no activations from {silent} (not run in any forward pass)",
                          RuntimeWarning, stacklevel=warning_level)
        reports: Dict[str, Report] = {}
        for name in self.layers:
            if name not in self._by_device:
                continue
            accumulator = self._merged(name)
            try:
                reports[name] = accumulator.report(first, last, method, normalization=normalization)
            except ValueError as error:
                raise ValueError(f"LayerMonitor: layer {name!r}: {error}") from None
        return reports

    def alphas(self, **options: Any) -> Dict[str, float]:
        """α per layer (see :meth:`report` for the options)."""
        unknown = sorted(set(options) - {"first", "last", "method", "normalization"})
        if unknown:
            raise TypeError(f"alphas: unexpected options {unknown} (first, last, method, normalization)")
        reports = self._report(options.get("first"), options.get("last"), options.get("method"),
                               options.get("normalization"), warning_level=3)
        return {name: report.alpha for name, report in reports.items()}

    def counts(self) -> Dict[str, int]:
        """Samples seen per layer (over all its devices)."""
        return {name: sum(accumulator.n for accumulator in self._by_device[name].values())
                for name in self.layers if name in self._by_device}

    def reset(self) -> None:
        """Forgets every sample (the hooks stay)."""
        with self._creating:
            self._by_device = {}

    def remove(self) -> None:
        """Removes the hooks; the accumulators (and report()) stay."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "LayerMonitor":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "hooked" if self._handles else "removed"
        return f"alphareq.torch.LayerMonitor(layers={list(self.layers)}, {state}, counts={self.counts()})"
