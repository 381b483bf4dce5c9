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

import inspect
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


_PackedSequence = torch.nn.utils.rnn.PackedSequence


def _first_tensor(output: Any) -> Optional[Union[torch.Tensor, _PackedSequence]]:
    """The output tensor of a layer: itself, or the first tensor in a tuple, list or dict
    (e.g. a transformer block's (hidden_states, attention) or a ModelOutput). A
    PackedSequence (a tuple too) is returned whole: its first tensor is not per sample."""
    if isinstance(output, (torch.Tensor, _PackedSequence)):
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


def _sequence_first(module: torch.nn.Module) -> bool:
    """Whether the module is one of PyTorch's own whose output is (sequence, batch, ...):
    RNNs, multi-head attention and transformers, unless built with ``batch_first=True``.
    A transformer layer keeps the flag in its attention, a stack of them in its layers.
    Other modules (a model's own encoder holding such layers, say) say nothing of their
    output's layout: they are not judged."""
    nn = torch.nn
    if isinstance(module, (nn.RNNBase, nn.MultiheadAttention, nn.Transformer)):
        return module.batch_first is False
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        return _sequence_first(module.self_attn)
    if isinstance(module, (nn.TransformerEncoder, nn.TransformerDecoder)) and len(module.layers) > 0:
        return _sequence_first(module.layers[0])
    return False


def _readable_rows(x: torch.Tensor) -> bool:
    """Whether the (n, D) view has rows the readers take in place: unit column stride and
    rows that neither overlap nor run backwards (a broadcast or unfolded output may not)."""
    n, d = x.shape
    return (d <= 1 or x.stride(1) == 1) and (n <= 1 or x.stride(0) >= d)


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
        batch_dim: the dimension of the (transformed) output that indexes samples; 0 by
            default. Sequence-first modules (``nn.LSTM``/``GRU``/``RNN``,
            ``nn.MultiheadAttention``, ``nn.Transformer*`` without ``batch_first=True``)
            return (sequence, batch, ...): naming one without ``batch_dim`` is refused,
            since dimension 0 would count time steps as samples. ``batch_dim=1`` reads
            them per sample (each sample's whole sequence flattened: D = L·E, so the
            length must stay fixed), or pool the sequence with ``transform`` (e.g.
            ``lambda y: y.mean(0)``, then ``batch_dim=0``).
        first, last, method, normalization: defaults for :meth:`report`.

    Outputs whose layout ``reshape(n, -1)`` cannot view (e.g. channels-last feature maps),
    or views whose rows overlap (broadcast outputs), are flattened into a contiguous copy on
    the same device. CPU float16/bfloat16 outputs are converted to float32 (the CPU backend
    reads float32/float64); outputs on other devices than CUDA and the CPU (MPS, XPU) are
    copied to the host for the CPU backend. The hooks run in
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

    An output the monitor cannot take raises from the forward pass that produced it (the
    layer named): no tensor, an integer dtype, a 1-D or scalar output, a ``PackedSequence``,
    a feature count other than the layer's first batch had (variable-length sequences or
    image sizes: pool that dimension with ``transform``), or, on the CPU, NaN/Inf. On CUDA,
    NaN/Inf are found later and reported by :meth:`report`. Needs PyTorch 2.1 or newer.
    """

    def __init__(self, model: torch.nn.Module, layers: Union[str, Iterable[str]], *,
                 backend: str = "auto", precision: str = "float64", solver: str = "float64",
                 deterministic: bool = False,
                 transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                 batch_dim: Optional[int] = None,
                 first: int = 11, last: int = 100, method: str = "weighted",
                 normalization: str = "n") -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"LayerMonitor: expected a torch.nn.Module, got {type(model).__name__}")
        names: List[str] = [layers] if isinstance(layers, str) else list(layers)
        if not names:
            raise ValueError("LayerMonitor: give at least one layer name")
        if len(set(names)) != len(names):
            raise ValueError(f"LayerMonitor: a layer is named twice in {names}")
        # Every name a module is reachable by: an attribute alias of a module
        # (self.act_b = self.act_a) is a name of it too.
        modules = dict(model.named_modules(remove_duplicate=False))
        missing = [name for name in names if name not in modules]
        if missing:
            available = [name for name in modules if name]
            shown = ", ".join(repr(name) for name in available[:12])
            more = f", ... ({len(available)} in all)" if len(available) > 12 else ""
            raise ValueError(
                f"LayerMonitor: the model has no module named {missing[0]!r}; names are as in "
                f"model.named_modules(): {shown}{more}"
            )
        aliases = {}
        for name in names:
            other = aliases.setdefault(id(modules[name]), name)
            if other != name:
                raise ValueError(f"LayerMonitor: {other!r} and {name!r} are the same module; "
                                 "name it once (its hook would see each call twice)")
        if batch_dim is None:
            sequence_first = [name for name in names if _sequence_first(modules[name])]
            if sequence_first:
                raise ValueError(
                    f"LayerMonitor: layer {sequence_first[0]!r} is sequence-first (batch_first="
                    "False): its output is (sequence, batch, ...), and reading dimension 0 as "
                    "samples would count time steps; pass batch_dim=1 (each sample's sequence "
                    "flattened), or batch_dim=0 where a transform makes the output (batch, ...) "
                    "(transform=lambda y: y.mean(0) pools the sequence), or build it with "
                    "batch_first=True")
            batch_dim = 0
        batch_dim = operator.index(batch_dim)
        if batch_dim < 0:
            raise ValueError(f"LayerMonitor: batch_dim must be >= 0, got {batch_dim}")
        if "always_call" not in inspect.signature(model.register_forward_hook).parameters:
            # PyTorch < 2.1: a forward pass that raised would never end for the monitor, and
            # every later layer call would be taken for a repeated one.
            raise RuntimeError(f"LayerMonitor needs PyTorch 2.1 or newer (this is {torch.__version__})")
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
        self.batch_dim = batch_dim
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
        # always_call: the pass also ends when the forward raises.
        self._handles.append(model.register_forward_hook(_PassEndHook(self), always_call=True))

    def _observe(self, name: str, output: Any) -> None:
        self._note_call(name)
        first = _first_tensor(output)
        if first is None:
            raise TypeError(f"LayerMonitor: layer {name!r} returned {type(output).__name__}, which holds no tensor")
        if isinstance(first, _PackedSequence) and self.transform is None:
            raise TypeError(
                f"LayerMonitor: layer {name!r} returned a PackedSequence, whose data stacks the "
                "time steps of all sequences; give a transform that makes it (batch, ...) "
                "of a fixed size, e.g. transform=lambda y: torch.nn.utils.rnn.pad_packed_sequence("
                "y, batch_first=True, total_length=L)[0]")
        with torch.no_grad():
            what = f"layer {name!r} returned"
            if self.transform is None:
                x = first.detach()
            else:
                x = self.transform(first.detach() if isinstance(first, torch.Tensor) else first)
                if not isinstance(x, torch.Tensor):
                    raise TypeError(f"LayerMonitor: the transform of layer {name!r} returned "
                                    f"{type(x).__name__}; expected a tensor")
                x = x.detach()
                what = f"the transform of layer {name!r} returned"
            if x.dim() <= self.batch_dim or x.dim() < 2:
                raise ValueError(f"LayerMonitor: {what} a {x.dim()}-D tensor {tuple(x.shape)}; expected "
                                 f"(n, ...) activations with the samples along dimension {self.batch_dim} "
                                 "and at least one feature dimension")
            if not x.is_floating_point():
                raise TypeError(f"LayerMonitor: {what} {x.dtype} activations; expected floating point")
            if self.batch_dim != 0:
                x = x.movedim(self.batch_dim, 0)
            # A view whenever the layout allows (-1 cannot be inferred for a batch of none).
            x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
            if not _readable_rows(x):
                x = x.contiguous()
            if x.device.type != "cpu" and not (x.is_cuda and self.backend != "cpu"):
                # The CPU backend reads host memory only: asked for (backend="cpu"), or the
                # only backend for a device that is not CUDA (MPS, XPU).
                x = x.to("cpu")
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
                        accumulator = self._new_accumulator(name, x)
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

    def _add(self, name: str, accumulator: Accumulator, x: torch.Tensor) -> None:
        try:
            accumulator.add(x)
        except (ValueError, TypeError) as error:
            hint = ""
            if accumulator.d != x.shape[1]:  # x is (n, D) here
                hint = ("; the layer's output size changed between forward passes (variable "
                        "sequence lengths or image sizes?): pool that dimension with transform")
            raise type(error)(f"LayerMonitor: layer {name!r}: {error}{hint}") from None

    def _new_accumulator(self, name: str, x: torch.Tensor) -> Accumulator:
        backend = self.backend
        if backend == "auto":
            backend = "cuda" if x.is_cuda else "cpu"
        device = x.device.index if (x.is_cuda and backend == "cuda") else None
        try:
            return Accumulator(x.shape[1], backend, precision=self.precision, solver=self.solver,
                               device=device, deterministic=self.deterministic)
        except (ValueError, TypeError) as error:
            raise type(error)(f"LayerMonitor: layer {name!r}: {error}") from None

    def report(self, first: Optional[int] = None, last: Optional[int] = None,
               method: Optional[str] = None, *, normalization: Optional[str] = None,
               errors: str = "raise") -> Dict[str, Report]:
        """α, R², eigenvalues and the rest per layer, in the order of ``layers``. Layers that
        saw no forward pass yet are left out with a warning; ValueError when none has.

        ``errors``: what a layer that cannot be reported does (too few usable eigenvalues
        for the window, NaN/Inf found on the device): ``"raise"`` (default) raises its
        ValueError, naming it; ``"warn"`` leaves it out with a RuntimeWarning and reports
        the others (ValueError if none is left)."""
        return self._report(first, last, method, normalization, errors, warning_level=3)

    def _report(self, first: Optional[int], last: Optional[int], method: Optional[str],
                normalization: Optional[str], errors: str, warning_level: int) -> Dict[str, Report]:
        # warning_level: the stack level of the caller of the public method, for the warning.
        if errors not in ("raise", "warn"):
            raise ValueError(f"LayerMonitor: errors must be 'raise' or 'warn', got {errors!r}")
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
        failures: List[str] = []
        for name in self.layers:
            if name not in self._by_device:
                continue
            try:
                reports[name] = self._merged(name).report(first, last, method, normalization=normalization)
            except ValueError as error:
                message = str(error)  # a merge of several devices' accumulators names the layer
                if not message.startswith("LayerMonitor:"):
                    message = f"LayerMonitor: layer {name!r}: {message}"
                if errors == "raise":
                    raise ValueError(message) from None
                failures.append(message)
        if failures and not reports:
            raise ValueError("; ".join(failures))
        for message in failures:
            warnings.warn(f"{message} (left out of the report)", RuntimeWarning, stacklevel=warning_level)
        return reports

    def alphas(self, **options: Any) -> Dict[str, float]:
        """α per layer (see :meth:`report` for the options)."""
        unknown = sorted(set(options) - {"first", "last", "method", "normalization", "errors"})
        if unknown:
            raise TypeError(f"alphas: unexpected options {unknown} (first, last, method, normalization, errors)")
        reports = self._report(options.get("first"), options.get("last"), options.get("method"),
                               options.get("normalization"), options.get("errors", "raise"),
                               warning_level=3)
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
