"""PyTorch tensors (CPU and CUDA) and alphareq.torch.LayerMonitor. Skipped without PyTorch;
the CUDA cases run where a GPU is present."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import alphareq
from alphareq._arrays import batch_view
from numpy_reference import reference_report
from witnesses import ExtensionSpy, steep_spectrum

TOLERANCE = 1e-9

torch = pytest.importorskip("torch")
from alphareq.torch import LayerMonitor  # noqa: E402  (needs torch)

CUDA = torch.cuda.is_available() and alphareq.cuda_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device and alphareq's CUDA backend")


def small_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )


LAYERS = ["1", "3", "5", "7"]  # ReLU, ReLU, Flatten, ReLU: D = 8·6·6, 8·6·6, 32, 64


def ieee_float32_on_cuda(monkeypatch) -> None:
    """The model's CUDA layers in IEEE float32, for comparing their activations' α with the
    CPU's: PyTorch lets cuDNN run float32 convolutions in TF32 by default, which moves the
    activations by ~3e-4 relative and α by up to 1e-4 (emulated) — the model's rounding,
    not alphareq's. Then only float32 summation order differs (α within ~1e-7)."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):  # PyTorch >= 2.9: the new API only
        monkeypatch.setattr(conv, "fp32_precision", "ieee")
        monkeypatch.setattr(torch.backends.cuda.matmul, "fp32_precision", "ieee")
    else:
        monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
        monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


def stored_activations(model, batches, layers):
    """The reference: every layer's activations kept and flattened (what the monitor avoids)."""
    stored = {name: [] for name in layers}
    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(
        lambda module, inputs, output, name=name: stored[name].append(output.detach().reshape(output.shape[0], -1).cpu()))
        for name in layers]
    with torch.no_grad():
        for batch in batches:
            model(batch)
    for handle in handles:
        handle.remove()
    return {name: torch.cat(values).double().numpy() for name, values in stored.items()}


def test_cpu_tensor_that_requires_grad_is_read_in_place():
    x = torch.randn(500, 40, requires_grad=True)
    with batch_view(x) as view:
        assert view.data == x.data_ptr() and view.source == "dlpack" and not view.on_device
    report = alphareq.alpha(x, first=2, last=30, backend="cpu")
    assert report.alpha == pytest.approx(reference_report(x.detach().numpy(), 2, 30)["alpha"], abs=1e-9)


def test_cpu_tensor_errors():
    with pytest.raises(ValueError, match="not contiguous"):
        alphareq.alpha(torch.randn(40, 500).t())
    with pytest.raises(TypeError, match="device memory only"):
        alphareq.alpha(torch.randn(50, 20, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="unsupported dtype"):
        alphareq.alpha(torch.ones(50, 20, dtype=torch.int32))


def test_layer_monitor_matches_stored_activations_on_cpu():
    model = small_cnn()
    torch.manual_seed(1)
    batches = [torch.randn(96, 3, 6, 6) for _ in range(4)]
    with LayerMonitor(model, layers=LAYERS, first=2, last=30) as monitor:
        with torch.no_grad():
            for batch in batches:
                model(batch)
        reports = monitor.report()
    assert list(reports) == LAYERS
    assert monitor.counts() == {name: 384 for name in LAYERS}
    assert [reports[name].d for name in LAYERS] == [288, 288, 32, 64]
    expected = stored_activations(model, batches, LAYERS)
    for name in LAYERS:
        assert reports[name].backend == "cpu"
        assert reports[name].alpha == pytest.approx(reference_report(expected[name], 2, 30)["alpha"], abs=1e-9)
    assert monitor.alphas(first=2, last=30) == {name: reports[name].alpha for name in LAYERS}


def test_layer_monitor_passes_deterministic_to_its_accumulators():
    # On the CPU the option changes nothing, to the last bit; on CUDA it is each accumulator's.
    model = small_cnn()
    torch.manual_seed(3)
    batch = torch.randn(64, 3, 6, 6)
    alphas = []
    for deterministic in (False, True):
        with LayerMonitor(model, layers=["7"], backend="cpu", deterministic=deterministic,
                          first=2, last=30) as monitor:
            with torch.no_grad():
                model(batch)
            assert monitor.deterministic is deterministic
            alphas.append(monitor.report()["7"].alpha)
    assert alphas[0] == alphas[1]


def test_layer_monitor_keeps_no_graph_and_no_activation():
    from torch.multiprocessing.reductions import StorageWeakRef

    model = small_cnn()
    storages = []
    monitor = LayerMonitor(model, layers=["7"])
    # Registered after the monitor's hook: sees the same output. The weak reference is to
    # the memory, not the tensor object: the monitor reads detached views, new objects over
    # the same storage, which a reference to the output object would not see kept.
    dict(model.named_modules())["7"].register_forward_hook(
        lambda module, inputs, output: storages.append(StorageWeakRef(output.untyped_storage())))
    loss = model(torch.randn(64, 3, 6, 6)).square().mean()
    loss.backward()  # a training step: the graph is built and freed as usual
    del loss
    gc.collect()
    assert storages and storages[0].expired()  # the monitor did not keep the activation alive
    assert monitor.counts() == {"7": 64}


def test_layer_monitor_transform_enable_reset_and_remove():
    model = small_cnn()
    monitor = LayerMonitor(model, layers="3", transform=lambda y: y.mean(dim=(2, 3)), first=2, last=6)
    with torch.no_grad():
        model(torch.randn(50, 3, 6, 6))
        monitor.enabled = False
        model(torch.randn(50, 3, 6, 6))
        monitor.enabled = True
        model(torch.randn(50, 3, 6, 6))
    assert monitor.counts() == {"3": 100} and monitor.accumulators["3"].d == 8
    monitor.reset()
    with pytest.raises(ValueError, match="no activations"):
        monitor.report()
    monitor.remove()
    with torch.no_grad():
        model(torch.randn(50, 3, 6, 6))
    assert monitor.counts() == {}
    assert "removed" in repr(monitor)


def test_layer_monitor_skips_empty_batches_and_a_refused_first_batch_leaves_no_layer():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8))
    monitor = LayerMonitor(model, ["0"], backend="cpu", first=1, last=7)
    with torch.no_grad():
        assert model(torch.randn(0, 8)).shape == (0, 8)  # the forward pass is undisturbed
        assert monitor.counts() == {}
        bad = torch.randn(20, 8)
        bad[0, 0] = float("nan")
        with pytest.raises(ValueError, match="layer '0'"):
            model(bad)  # NaN in the layer's output
        assert monitor.counts() == {}
        with pytest.raises(ValueError, match="no activations"):
            monitor.report()
        model(torch.randn(20, 8))
    assert monitor.counts() == {"0": 20}
    assert np.isfinite(monitor.report()["0"].alpha)


def test_layer_monitor_first_batches_from_several_threads_are_all_kept():
    """DataParallel-style: forward passes in threads at once; the first batch of a layer
    creates its accumulator once, and no thread's samples are lost."""
    import threading

    model = torch.nn.Sequential(torch.nn.Linear(64, 64))
    # All four enter the layer together, so that their hooks race for the first batch every
    # time, not only when the scheduler happens to let them.
    together = threading.Barrier(4)

    def enter_together(module, inputs):
        together.wait(timeout=10)  # returns None: the inputs stay as they are

    model[0].register_forward_pre_hook(enter_together)
    for _ in range(3):
        monitor = LayerMonitor(model, ["0"], backend="cpu", first=1, last=20)
        batches = [torch.randn(4000, 64) for _ in range(4)]
        with torch.no_grad():
            threads = [threading.Thread(target=model, args=(batch,)) for batch in batches]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert monitor.counts() == {"0": 16000}
        monitor.remove()


def test_layer_monitor_keeps_one_accumulator_per_device_and_merges_them(monkeypatch):
    """DataParallel replicates a model over GPUs: a layer's batches arrive from several
    devices, each read by an accumulator on its own device (one on another device refuses
    them); counts() adds them up and report() merges them into a copy. Simulated here by
    giving batches device 1 or 0 (the CPU accumulators stand in for the two GPUs')."""
    devices = iter([1, 0, 0, 1, 0, 1])
    monkeypatch.setattr(LayerMonitor, "_reading_device", lambda self, x: next(devices))
    model = torch.nn.Sequential(torch.nn.Linear(24, 24))
    torch.manual_seed(4)
    batches = [torch.randn(70, 24) for _ in range(6)]
    monitor = LayerMonitor(model, ["0"], backend="cpu", first=2, last=20)
    with torch.no_grad():
        for batch in batches[:3]:
            model(batch)
        assert sorted(monitor._by_device["0"]) == [0, 1]
        assert monitor.counts() == {"0": 210}
        merged = monitor.accumulators["0"]
        assert merged.n == 210
        for batch in batches[3:]:
            model(batch)
    assert merged.n == 210  # a merged copy: later batches go to the per-device ones
    assert monitor.counts() == {"0": 420}
    report = monitor.report()["0"]
    assert report.n == 420 and monitor.counts() == {"0": 420}  # reporting moves nothing
    monitor.remove()
    expected = stored_activations(model, batches, ["0"])["0"]
    assert report.alpha == pytest.approx(reference_report(expected, 2, 20)["alpha"], abs=1e-9)
    monitor.reset()
    assert monitor.counts() == {} and monitor.accumulators == {}


class TwoBlocks(torch.nn.Module):
    """a → activation → b → activation, the activation shared by both blocks or not;
    `fail` raises half-way through the forward pass."""

    def __init__(self, shared_activation: bool) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.a, self.b = torch.nn.Linear(16, 16), torch.nn.Linear(16, 16)
        self.act_a = torch.nn.ReLU()
        self.act_b = self.act_a if shared_activation else torch.nn.ReLU()
        self.fail = False

    def forward(self, x):
        h = self.act_a(self.a(x))
        if self.fail:
            raise RuntimeError("failed half-way")
        return self.act_b(self.b(h))  # the second call of act_a when it is shared


def test_layer_monitor_warns_once_when_a_layer_runs_twice_in_one_forward_pass():
    model = TwoBlocks(shared_activation=True)
    monitor = LayerMonitor(model, ["act_a", "a"], backend="cpu", first=1, last=10)
    with torch.no_grad():
        with pytest.warns(RuntimeWarning, match="'act_a' ran more than once in one forward pass") as caught:
            model(torch.randn(40, 16))
        assert len(caught) == 1
        assert caught[0].filename == __file__  # the model's line that calls the module again
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model(torch.randn(40, 16))  # once per layer
    assert monitor.counts() == {"act_a": 160, "a": 80}  # every call is counted, as it says


def test_layer_monitor_counts_a_model_that_calls_itself_as_one_pass():
    class Unrolled(torch.nn.Module):  # runs its layers twice by calling itself
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.act = torch.nn.Linear(16, 16), torch.nn.ReLU()

        def forward(self, x, again=True):
            h = self.act(self.lin(x))
            return self(h, again=False) if again else h

    model = Unrolled()
    monitor = LayerMonitor(model, ["act"], backend="cpu", first=1, last=10)
    with torch.no_grad(), pytest.warns(RuntimeWarning, match="'act' ran more than once"):
        model(torch.randn(40, 16))
    assert monitor.counts() == {"act": 80}


def test_layer_monitor_does_not_warn_for_layers_run_once_per_pass():
    model = TwoBlocks(shared_activation=False)
    monitor = LayerMonitor(model, ["act_a", "act_b"], backend="cpu", first=1, last=10)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("error")
        model(torch.randn(40, 16))
        model(torch.randn(40, 16))
        model.fail = True
        with pytest.raises(RuntimeError, match="half-way"):
            model(torch.randn(40, 16))  # act_a ran, then the pass ended in an exception
        model.fail = False
        h = torch.randn(40, 16)
        model.act_a(h)  # the layer on its own, outside a forward pass of the model, twice
        model.act_a(h)
        model(torch.randn(40, 16))
    assert monitor.counts() == {"act_a": 240, "act_b": 120}


def test_layer_monitor_channels_last_and_tuple_outputs():
    class TupleBlock(torch.nn.Module):
        def forward(self, x):
            return x * 2.0, "attention"

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), TupleBlock())
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(200, 3, 5, 5).to(memory_format=torch.channels_last)
    monitor = LayerMonitor(model, layers=["0", "1"], first=2, last=50)
    with torch.no_grad():
        model(x)
    reports = monitor.report()
    expected = stored_activations(model, [x], ["0"])["0"]
    assert reports["0"].alpha == pytest.approx(reference_report(expected, 2, 50)["alpha"], abs=1e-9)
    assert reports["1"].d == 100


def test_layer_monitor_refuses_sequence_first_modules_without_batch_dim():
    """PyTorch's RNNs, attention and transformers return (sequence, batch, ...) unless built
    batch_first: read along dimension 0 they counted time steps as samples (10 "samples" of
    D = 32·16 for a batch of 32 sequences of 10 steps)."""
    torch.manual_seed(0)
    lstm = torch.nn.Sequential()
    lstm.add_module("rnn", torch.nn.LSTM(16, 16))
    encoder = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(16, 2), 1,
                                          enable_nested_tensor=False)
    for model, name in [(lstm, "rnn"), (encoder, "layers.0"), (encoder, "layers.0.self_attn"),
                        (encoder, "")]:
        with pytest.raises(ValueError, match=f"layer '{name}' is sequence-first.*batch_dim=1"):
            LayerMonitor(model, layers=[name])
    sequences = torch.randn(10, 32, 16)  # L = 10, N = 32, E = 16
    with LayerMonitor(lstm, layers=["rnn"], batch_dim=1, first=2, last=20) as monitor:
        with torch.no_grad():
            output, _ = lstm(sequences)
        assert monitor.counts() == {"rnn": 32}
        per_sample = output.transpose(0, 1).reshape(32, -1)
        assert monitor.report()["rnn"].alpha == pytest.approx(
            reference_report(per_sample, 2, 20)["alpha"], abs=1e-9)
    # A transform that pools the sequence away leaves the batch first.
    with LayerMonitor(lstm, layers=["rnn"], batch_dim=0, transform=lambda y: y.mean(0)) as monitor:
        with torch.no_grad():
            lstm(sequences)
        assert monitor.counts() == {"rnn": 32}
    batch_first = torch.nn.Sequential(torch.nn.LSTM(16, 16, batch_first=True))
    LayerMonitor(batch_first, layers=["0"]).remove()  # accepted as it is

    # A model's own module is not judged by what it holds or by an attribute's name: this
    # encoder runs sequence-first layers but returns (batch, features).
    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.batch_first = False  # its own meaning, not PyTorch's
            self.layers = torch.nn.ModuleList([torch.nn.TransformerEncoderLayer(16, 2)])

        def forward(self, x):  # x: (batch, sequence, features)
            return self.layers[0](x.transpose(0, 1)).mean(0)

    encoder = torch.nn.Sequential(Encoder())
    with LayerMonitor(encoder, layers=["0"]) as monitor:
        with torch.no_grad():
            encoder(torch.randn(40, 10, 16))
        assert monitor.counts() == {"0": 40}
    with pytest.raises(ValueError, match="batch_dim must be >= 0"):
        LayerMonitor(lstm, layers=["rnn"], batch_dim=-1)


def test_layer_monitor_refuses_packed_sequences_unless_transformed():
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("rnn", torch.nn.LSTM(8, 8, batch_first=True))
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.randn(20, 6, 8), lengths=[6] * 10 + [3] * 10, batch_first=True)
    with LayerMonitor(model, layers=["rnn"]) as monitor:
        with pytest.raises(TypeError, match="PackedSequence.*time steps of all sequences"):
            model(packed)
    unpack = lambda y: torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=6)[0]  # noqa: E731
    with LayerMonitor(model, layers=["rnn"], transform=unpack) as monitor:
        model(packed)
        assert monitor.counts() == {"rnn": 20}
        assert monitor.accumulators["rnn"].d == 48


def test_layer_monitor_reads_overlapping_outputs_through_a_copy():
    """reshape() keeps an unfolded output's overlapping rows (sliding windows over a signal,
    row stride 1 < D) as a view, which the readers refuse: the monitor's forward pass failed
    with advice (make a contiguous copy) its user could not act on."""
    class Windows(torch.nn.Module):
        def forward(self, x):
            return x.flatten().unfold(0, 12, 1)  # (len − 11, 12), each row one step on

    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), Windows())
    with LayerMonitor(model, layers=["1"], first=2, last=10) as monitor:
        with torch.no_grad():
            output = model(torch.randn(60, 4))
        assert output.stride() == (1, 1)  # the view the monitor got
        assert monitor.counts() == {"1": 229}
        expected = output.contiguous()
        assert monitor.report()["1"].alpha == pytest.approx(reference_report(expected, 2, 10)["alpha"], abs=1e-9)


def test_layer_monitor_errors_name_the_layer_and_what_went_wrong():
    class Alias(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(6, 6)
            self.act_a = torch.nn.ReLU()
            self.act_b = self.act_a  # the same module under a second name

        def forward(self, x):
            return self.act_b(self.linear(x))

    model = Alias()
    with LayerMonitor(model, layers=["act_b"]) as monitor:  # every name of a module is one
        with torch.no_grad():
            model(torch.randn(30, 6))
        assert monitor.counts() == {"act_b": 30}
    with pytest.raises(ValueError, match="'act_a' and 'act_b' are the same module"):
        LayerMonitor(model, layers=["act_a", "act_b"])
    # A 1-D output: its features would have been read as samples of one feature.
    with LayerMonitor(model, layers=["linear"]) as monitor:
        with pytest.raises(ValueError, match=r"layer 'linear' returned a 1-D tensor \(6,\)"):
            model(torch.randn(6))
    with LayerMonitor(model, layers=["linear"], transform=lambda y: y.long()) as monitor:
        with pytest.raises(TypeError, match="the transform of layer 'linear' returned torch.int64"):
            model(torch.randn(4, 6))
    with LayerMonitor(model, layers=["linear"], transform=lambda y: y[:, :0]) as monitor:
        with pytest.raises(ValueError, match="layer 'linear': .*number of features"):
            model(torch.randn(4, 6))
    # A feature count that changes between passes (variable lengths) says what to do.
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, layers=["0"]) as monitor:
        model(torch.randn(5, 4, 3))
        with pytest.raises(ValueError, match="layer '0': .*12.*output size changed.*transform"):
            model(torch.randn(5, 5, 3))
        assert monitor.counts() == {"0": 5}


def test_layer_monitor_report_can_leave_out_a_layer_it_cannot_fit():
    """A 2-class head has 2 eigenvalues: no window fits it, and that used to make report()
    fail for every layer."""
    model = small_cnn()
    model[-1] = torch.nn.Linear(64, 2)
    monitor = LayerMonitor(model, layers=["7", "8"], first=2, last=30)
    with torch.no_grad():
        model(torch.randn(200, 3, 6, 6))
    with pytest.raises(ValueError, match="layer '8'"):
        monitor.report()
    with pytest.warns(RuntimeWarning, match="layer '8'.*left out of the report") as caught:
        reports = monitor.report(errors="warn")
    assert list(reports) == ["7"] and caught[0].filename == __file__
    with pytest.warns(RuntimeWarning, match="left out"):
        assert list(monitor.alphas(errors="warn")) == ["7"]
    with pytest.raises(ValueError, match="errors must be 'raise' or 'warn'"):
        monitor.report(errors="ignore")
    only_head = LayerMonitor(model, layers=["8"], first=2, last=30)
    with torch.no_grad():
        model(torch.randn(50, 3, 6, 6))
    with pytest.raises(ValueError, match="layer '8'"):
        only_head.report(errors="warn")  # nothing left to report
    monitor.remove()
    only_head.remove()


def test_layer_monitor_argument_errors():
    model = small_cnn()
    with pytest.raises(ValueError, match="no module named 'conv9'"):
        LayerMonitor(model, layers=["conv9"])
    with pytest.raises(ValueError, match="at least one"):
        LayerMonitor(model, layers=[])
    with pytest.raises(ValueError, match="twice"):
        LayerMonitor(model, layers=["1", "1"])
    with pytest.raises(TypeError):
        LayerMonitor(object(), layers=["1"])
    monitor = LayerMonitor(model, layers=["1", "3"])
    with torch.no_grad():
        model[:2](torch.randn(30, 3, 6, 6))  # only layer "1" runs
    with pytest.warns(RuntimeWarning, match="no activations from") as caught:
        assert list(monitor.report(first=2, last=20)) == ["1"]
    with pytest.warns(RuntimeWarning, match="no activations from") as caught_alphas:
        assert list(monitor.alphas(first=2, last=20)) == ["1"]
    # The warnings point at the caller (this file), not into alphareq.
    assert caught[0].filename == caught_alphas[0].filename == __file__
    with pytest.raises(TypeError, match="unexpected options"):
        monitor.alphas(frist=2)
    monitor.remove()
    # Options the first forward pass or report() would refuse are refused at construction.
    for options, message in [({"precision": "fp64"}, "unknown precision 'fp64'"),
                             ({"solver": "x"}, "unknown solver precision 'x'"),
                             ({"method": "bogus"}, "unknown fit method 'bogus'"),
                             ({"first": 0}, "first rank must be >= 1"),
                             ({"first": 30, "last": 20}, "below first rank 30"),
                             ({"normalization": "N"}, "unknown normalization 'N'")]:
        with pytest.raises(ValueError, match=message):
            LayerMonitor(model, layers=["1"], **options)
    assert not model[1]._forward_hooks  # none left behind by the refused monitors
    if not alphareq.cuda_available():
        with pytest.raises(alphareq.BackendUnavailableError, match="LayerMonitor: backend cuda"):
            LayerMonitor(model, layers=["1"], backend="cuda")


def test_copies_of_a_monitored_model_do_not_feed_the_monitor():
    """An EMA teacher (copy.deepcopy of the student) or a saved and loaded model keeps inert
    hooks: only the monitored model's forward passes are counted, and it can be saved."""
    import copy
    import io

    model = small_cnn()
    monitor = LayerMonitor(model, layers=["7"])
    with torch.no_grad():
        model(torch.randn(32, 3, 6, 6))
        teacher = copy.deepcopy(model)
        teacher(torch.randn(100, 3, 6, 6))
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        loaded(torch.randn(7, 3, 6, 6))
        assert monitor.counts() == {"7": 32}
        model(torch.randn(5, 3, 6, 6))
        assert monitor.counts() == {"7": 37}
    monitor.remove()
    assert not model[7]._forward_hooks


def test_lazily_negated_views_raise_instead_of_losing_their_sign():
    x = torch.randn(50, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="resolve_neg"):
        alphareq.alpha(x._neg_view())
    assert (alphareq.alpha(x._neg_view().resolve_neg(), first=1, last=7, backend="cpu")
            == alphareq.alpha(-x, first=1, last=7, backend="cpu"))


# ---- CUDA: read in place on the tensor's stream, accumulators on the device -------------

@needs_cuda
def test_bootstrap_of_a_cuda_tensor_resamples_as_the_cpu_does():
    """The same seeded Poisson multiplicities on both backends (a pure function of seed,
    replicate and sample): the CUDA interval from the tensor in place equals the CPU's from
    its host copy, float64 both ways, to rounding."""
    torch.manual_seed(3)
    x = torch.randn(3000, 96, dtype=torch.float64) * torch.arange(1, 97, dtype=torch.float64) ** -0.6
    on_gpu = alphareq.alpha(x.cuda(), first=5, last=60, bootstrap=30, seed=4)
    on_cpu = alphareq.alpha(x.numpy(), first=5, last=60, backend="cpu", bootstrap=30, seed=4)
    assert on_gpu.backend == "cuda" and on_cpu.backend == "cpu"
    for key in ("alpha_interval_low", "alpha_interval_high", "alpha_standard_error"):
        assert on_gpu.diagnostics[key] == pytest.approx(on_cpu.diagnostics[key], abs=1e-9), key


@needs_cuda
def test_cuda_tensor_is_read_without_a_copy():
    x = torch.randn(4096, 256, device="cuda")
    accumulator = alphareq.Accumulator(256, backend="cuda", device=x.device)
    torch.cuda.synchronize()
    allocated = torch.cuda.memory_allocated()
    with batch_view(x) as view:
        assert view.on_device and view.data == x.data_ptr() and view.device == x.device.index
        assert view.stream == torch.cuda.current_stream().cuda_stream
        accumulator._add_view(view)
    assert torch.cuda.memory_allocated() == allocated  # PyTorch allocated no copy
    assert accumulator.report().alpha == pytest.approx(
        reference_report(x.double().cpu().numpy())["alpha"], abs=1e-9)


@needs_cuda
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_cuda_dtypes_match_the_float64_reference_of_the_same_values(dtype):
    torch.manual_seed(2)
    scales = torch.arange(1, 161, dtype=torch.float64) ** -0.5
    x = (torch.randn(3000, 160, dtype=torch.float64) * scales).to(getattr(torch, dtype)).cuda()
    report = alphareq.alpha(x)
    assert report.backend == "cuda"
    assert report.alpha == pytest.approx(reference_report(x.double().cpu().numpy())["alpha"], abs=1e-9)


@needs_cuda
def test_cuda_tensor_on_a_side_stream_is_read_in_that_stream_order():
    side = torch.cuda.Stream()
    accumulator = alphareq.Accumulator(128, backend="cuda")
    with torch.cuda.stream(side):
        x = torch.randn(8192, 128, device="cuda")
        x.mul_(torch.arange(1, 129, device="cuda", dtype=torch.float32) ** -0.5)  # still queued when add() is called
        with batch_view(x) as view:
            assert view.stream == side.cuda_stream
        accumulator.add(x)
        x.zero_()  # ordered after the accumulator's read by the library's event
    torch.cuda.synchronize()
    assert accumulator.n == 8192 and accumulator.report().alpha > 0.5


def cpu_monitor_reports(model, batches):
    """The CPU model's per-layer reports over `batches`: the reference for a CUDA run."""
    monitor = LayerMonitor(model, layers=LAYERS, first=2, last=30)
    with torch.no_grad():
        for batch in batches:
            model(batch)
    monitor.remove()
    return monitor.report()


@needs_cuda
def test_layer_monitor_on_cuda_matches_cpu_and_never_copies_to_the_host(monkeypatch):
    ieee_float32_on_cuda(monkeypatch)
    model = small_cnn()
    torch.manual_seed(3)
    batches = [torch.randn(128, 3, 6, 6) for _ in range(3)]
    cpu_reports = cpu_monitor_reports(model, batches)
    model = model.cuda()
    cuda_batches = [batch.cuda() for batch in batches]
    monitor = LayerMonitor(model, layers=LAYERS, first=2, last=30)

    def forbidden(*args, **kwargs):
        raise AssertionError("an activation was copied to the host")

    with monkeypatch.context() as patch:
        for method in ("cpu", "numpy", "tolist", "item"):
            patch.setattr(torch.Tensor, method, forbidden)
        with torch.no_grad():
            for batch in cuda_batches:
                model(batch)
    cuda_reports = monitor.report()
    for name in LAYERS:
        assert monitor.accumulators[name].backend == "cuda"
        assert cuda_reports[name].alpha == pytest.approx(cpu_reports[name].alpha, abs=1e-5)


# ---- the producer's memory outlives the accumulator's queued reads ----------------------

class DLPackOnly:
    """A producer that is neither PyTorch nor CuPy (as JAX or a custom library would be):
    its DLPack export is the wrapped tensor's, but alphareq cannot know how its allocator
    reuses memory."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __dlpack__(self, **keywords):
        return self.tensor.__dlpack__(**keywords)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


@needs_cuda
def test_unknown_producer_is_waited_for_before_its_memory_is_released(monkeypatch):
    import alphareq._arrays as arrays

    calls = []
    original = arrays._ext.wait_for_stream

    def recording(stream, pointer):
        calls.append((stream, pointer))
        original(stream, pointer)

    monkeypatch.setattr(arrays._ext, "wait_for_stream", recording)
    torch.manual_seed(5)
    x = torch.randn(5000, 96, device="cuda", dtype=torch.float64) * torch.arange(1, 97, device="cuda") ** -0.6
    report = alphareq.alpha(DLPackOnly(x))
    assert calls == [(0, x.data_ptr())]  # the legacy default stream the export was asked for
    assert report.alpha == pytest.approx(reference_report(x.cpu().numpy())["alpha"], abs=1e-9)
    # A PyTorch tensor is tied to the stream instead: no host wait.
    calls.clear()
    alphareq.alpha(x)
    assert calls == []


@needs_cuda
def test_torch_tensor_read_on_another_stream_is_recorded_on_it(monkeypatch):
    recorded = []
    original = torch.Tensor.record_stream

    def recording(self, stream):
        recorded.append((self.data_ptr(), stream.cuda_stream))
        return original(self, stream)

    monkeypatch.setattr(torch.Tensor, "record_stream", recording)
    x = torch.randn(3000, 64, device="cuda")  # allocated on the current (default) stream
    side = torch.cuda.Stream()
    accumulator = alphareq.Accumulator(64, backend="cuda")
    accumulator.add(x, stream=side)
    assert recorded == [(x.data_ptr(), side.cuda_stream)]
    torch.cuda.synchronize()
    assert accumulator.n == 3000


def test_release_order_follows_who_owns_a_tensors_memory(monkeypatch):
    """record_stream only protects memory PyTorch's caching allocator owns; a tensor over
    anyone else's memory (and any tensor if PyTorch's private check is gone) is waited for.
    The dispatch is checked with recorders: the real calls need a GPU."""
    import alphareq._arrays as arrays

    calls = []
    monkeypatch.setattr(arrays._ext, "wait_for_stream", lambda stream, pointer: calls.append(("wait", stream, pointer)))
    monkeypatch.setattr(torch.Tensor, "record_stream", lambda self, stream: calls.append(("record", stream)))
    monkeypatch.setattr(torch.cuda, "default_stream", lambda device: f"default stream of {device}")
    x = torch.arange(12.0).reshape(4, 3)
    assert not arrays._torch_allocator_owns(x)  # host memory: not the CUDA allocator's
    for owned, expected in [(True, [("record", "default stream of 1")]), (False, [("wait", 0, 0xAB)])]:
        # raising=False: CPU-only builds of PyTorch lack the function.
        monkeypatch.setattr(torch._C, "_has_Standard_Deleter", lambda storage, owned=owned: owned, raising=False)
        calls.clear()
        arrays._order_release(x, 0xAB, 1, 0)
        assert calls == expected
    # A stream PyTorch does not own (a CuPy stream, a raw handle) may be destroyed before the
    # tensor is freed, when the allocator records an event on it: waited for instead.
    calls.clear()
    arrays._order_release(x, 0xAB, 1, 0x77, recordable=False)
    assert calls == [("wait", 0x77, 0xAB)]
    assert arrays._torch_owned_stream(None) and arrays._torch_owned_stream(1)
    assert not arrays._torch_owned_stream(0x77)
    monkeypatch.delattr(torch._C, "_has_Standard_Deleter", raising=False)
    calls.clear()
    arrays._order_release(x, 0xAB, 1, 0)
    assert calls == [("wait", 0, 0xAB)]


@needs_cuda
def test_torch_tensor_over_foreign_memory_is_waited_for_not_recorded(monkeypatch):
    """A tensor made by torch.from_dlpack frees its memory through the producer's deleter,
    which record_stream does not reach: add() waits for the read instead."""
    import alphareq._arrays as arrays

    waits, recorded = [], []
    original_wait, original_record = arrays._ext.wait_for_stream, torch.Tensor.record_stream

    def recording_wait(stream, pointer):
        waits.append(pointer)
        original_wait(stream, pointer)

    def recording_record(self, stream):
        recorded.append(self.data_ptr())
        return original_record(self, stream)

    monkeypatch.setattr(arrays._ext, "wait_for_stream", recording_wait)
    monkeypatch.setattr(torch.Tensor, "record_stream", recording_record)
    torch.manual_seed(6)
    owner = torch.randn(4000, 72, device="cuda", dtype=torch.float64)
    owner *= torch.arange(1, 73, device="cuda", dtype=torch.float64) ** -0.7
    wrapped = torch.utils.dlpack.from_dlpack(owner.__dlpack__())  # the capsule's deleter
    assert wrapped.data_ptr() == owner.data_ptr()
    report = alphareq.alpha(wrapped)
    assert waits == [owner.data_ptr()] and recorded == []
    assert report.alpha == pytest.approx(reference_report(owner.cpu().numpy())["alpha"], abs=1e-9)
    waits.clear()
    alphareq.alpha(owner)
    assert waits == [] and recorded == [owner.data_ptr()]


@needs_cuda
def test_cuda_array_interface_producer_stream_is_waited_for_on_the_chosen_stream(monkeypatch):
    import alphareq._arrays as arrays

    waits = []
    original = arrays._ext.make_stream_wait

    def recording(waiting, producer, pointer):
        waits.append((waiting, producer))
        original(waiting, producer, pointer)

    monkeypatch.setattr(arrays._ext, "make_stream_wait", recording)
    producer, chosen = torch.cuda.Stream(), torch.cuda.Stream()
    with torch.cuda.stream(producer):
        x = torch.randn(4000, 80, device="cuda", dtype=torch.float64)
        x.mul_(torch.arange(1, 81, device="cuda", dtype=torch.float64) ** -0.5)  # still queued

    class InterfaceOnly:
        __cuda_array_interface__ = {**x.__cuda_array_interface__, "stream": producer.cuda_stream}

    accumulator = alphareq.Accumulator(80, backend="cuda")
    accumulator.add(InterfaceOnly(), stream=chosen)
    assert waits == [(chosen.cuda_stream, producer.cuda_stream)]
    torch.cuda.synchronize()
    assert accumulator.report().alpha == pytest.approx(reference_report(x.cpu().numpy())["alpha"], abs=1e-9)


@needs_cuda
def test_layer_monitor_cpu_backend_on_a_cuda_model_copies_to_the_host(monkeypatch):
    ieee_float32_on_cuda(monkeypatch)
    model = small_cnn()
    torch.manual_seed(6)
    batches = [torch.randn(96, 3, 6, 6) for _ in range(2)]
    reference = cpu_monitor_reports(model, batches)
    model = model.cuda()
    monitor = LayerMonitor(model, layers=LAYERS, backend="cpu", first=2, last=30)
    with torch.no_grad():
        for batch in batches:
            model(batch.cuda())
    for name in LAYERS:
        assert monitor.accumulators[name].backend == "cpu"
        assert monitor.report()[name].alpha == pytest.approx(reference[name].alpha, abs=1e-5)


@pytest.mark.skipif(not CUDA or torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_tensor_on_a_device_other_than_the_current_one():
    torch.cuda.set_device(0)
    torch.manual_seed(7)
    x = torch.randn(3000, 72, device="cuda:1", dtype=torch.float64) * torch.arange(1, 73, device="cuda:1") ** -0.7
    report = alphareq.alpha(x)
    assert report.backend == "cuda" and torch.cuda.current_device() == 0
    assert report.alpha == pytest.approx(reference_report(x.cpu().numpy())["alpha"], abs=1e-9)


@pytest.mark.skipif(not CUDA or torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_layer_monitor_under_data_parallel_on_two_gpus(monkeypatch):
    """Each replica's activations go to an accumulator on its own GPU; report() merges them."""
    ieee_float32_on_cuda(monkeypatch)
    torch.manual_seed(8)
    batches = [torch.randn(128, 32, dtype=torch.float64) for _ in range(3)]
    model = torch.nn.Sequential(torch.nn.Linear(32, 48), torch.nn.Tanh()).double()
    expected = stored_activations(model, batches, ["1"])["1"]
    model = model.cuda(0)
    parallel = torch.nn.DataParallel(model, device_ids=[0, 1])
    monitor = LayerMonitor(model, ["1"], first=2, last=40)
    with torch.no_grad():
        for batch in batches:
            parallel(batch.cuda(0))
    report = monitor.report()["1"]
    assert report.backend == "cuda" and report.n == 384
    assert report.alpha == pytest.approx(reference_report(expected, 2, 40)["alpha"], abs=1e-9)




# Kills T8, T9, T10, T19, T20, T29: the constructor's method/normalization defaults, and
# report()/alphas() overrides of first/last/method/normalization, reach the fit.
def test_layer_monitor_report_options_reach_the_fit(features):

    x = features(1200, 80, alpha=0.9, seed=7, mean=1.5)
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, ["0"], first=3, last=40, method="ols", normalization="n-1") as monitor:
        model(torch.from_numpy(x))
        default = monitor.report()["0"]
        expected = reference_report(x, 3, 40, "ols", "n-1")
        assert (default.first_rank, default.last_rank, default.method, default.normalization) == (3, 40, "ols", "n-1")
        assert default.alpha == pytest.approx(expected["alpha"], abs=TOLERANCE)
        np.testing.assert_allclose(default.eigenvalues, expected["eigenvalues"], rtol=TOLERANCE,
                                   atol=TOLERANCE * expected["eigenvalues"][0])
        overridden = monitor.report(first=2, last=25, method="weighted", normalization="n")["0"]
        expected = reference_report(x, 2, 25, "weighted", "n")
        assert (overridden.first_rank, overridden.last_rank, overridden.method, overridden.normalization) == (
            2, 25, "weighted", "n")
        assert overridden.alpha == pytest.approx(expected["alpha"], abs=TOLERANCE)
        assert overridden.intercept == pytest.approx(expected["intercept"], abs=TOLERANCE)
        alphas = monitor.alphas(first=2, last=25, method="weighted", normalization="n")
        assert alphas == {"0": overridden.alpha}
        # normalization alone moves the intercept only (by log(n / (n - 1))): the report
        # must say which it used, and so must alphas() through the intercept-free alpha path.
        only_norm = monitor.report(normalization="n")["0"]
        assert only_norm.normalization == "n"
        assert only_norm.intercept == pytest.approx(reference_report(x, 3, 40, "ols", "n")["intercept"], abs=TOLERANCE)


# Kills T29 directly (alphas(normalization=...) dropped): compared with report's.
def test_layer_monitor_alphas_takes_every_report_option(features):

    x = features(300, 40, seed=8)
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, ["0"], first=2, last=20, normalization="n-1") as monitor:
        model(torch.from_numpy(x))
        spied = []
        original = alphareq.Accumulator.report

        def report(self, *arguments, **keywords):
            spied.append(keywords.get("normalization"))
            return original(self, *arguments, **keywords)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(alphareq.Accumulator, "report", report)
            monitor.alphas(normalization="n")
            monitor.alphas()
        assert spied == ["n", "n-1"]


# Kills T5 (float64 activations downcast to float32 on the CPU).
def test_layer_monitor_reads_float64_activations_in_float64():

    torch.manual_seed(0)
    x = torch.randn(3000, 64, dtype=torch.float64) * torch.arange(1, 65, dtype=torch.float64) ** -1.0 + 1e3
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, ["0"], first=2, last=40) as monitor:
        model(x)
        report = monitor.report()["0"]
    expected = reference_report(x.numpy(), 2, 40)
    assert report.alpha == pytest.approx(expected["alpha"], abs=TOLERANCE)
    np.testing.assert_allclose(report.eigenvalues, expected["eigenvalues"], rtol=TOLERANCE,
                               atol=TOLERANCE * expected["eigenvalues"][0])


# Kills T6 (CPU float16/bfloat16 outputs no longer converted: the forward pass raises).
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_layer_monitor_converts_half_precision_cpu_outputs(features, dtype):

    x = torch.from_numpy(features(600, 40, seed=9)).to(getattr(torch, dtype))
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, ["0"], first=2, last=30) as monitor:
        model(x)
        report = monitor.report()["0"]
    assert report.alpha == pytest.approx(reference_report(x.double().numpy(), 2, 30)["alpha"], abs=TOLERANCE)


# Kills T17, T18: the monitor's precision/solver/deterministic become its accumulators'.
def test_layer_monitor_gives_its_accumulators_its_options(features, monkeypatch):
    import alphareq._accumulator as accumulators

    spy = ExtensionSpy(accumulators._ext.Accumulator)
    monkeypatch.setattr(accumulators._ext, "Accumulator", spy)
    model = torch.nn.Sequential(torch.nn.Identity())
    with LayerMonitor(model, ["0"], backend="cpu", precision="float32", solver="float32",
                      deterministic=True) as monitor:
        model(torch.from_numpy(features(100, 16)))
        assert monitor.accumulators["0"]._options == {"precision": "float32", "solver": "float32",
                                                      "deterministic": True}
    assert spy.calls == [(16, "cpu", "float32", "float32", -1, True)]
    # And the float32 products act: the steep spectrum's default window is refused.
    steep = torch.from_numpy(steep_spectrum())
    with LayerMonitor(model, ["0"], backend="cpu", precision="float32") as monitor:
        model(steep)
        with pytest.raises(ValueError, match="usable ranks"):
            monitor.report()
