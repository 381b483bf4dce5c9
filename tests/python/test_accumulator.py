"""alphareq.Accumulator: streaming, merging and copying agree with one-shot results."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import alphareq
from numpy_reference import reference_report
from witnesses import steep_spectrum


def test_batches_of_mixed_dtypes_equal_one_shot(features):
    x = features(3000, 140, seed=11, mean=-4.0)
    accumulator = alphareq.Accumulator(140, backend="cpu")
    for start, stop in [(0, 1), (1, 700), (700, 1999), (1999, 3000)]:
        batch = x[start:stop]
        accumulator.add(batch.astype(np.float32) if start == 700 else batch)
    expected_input = x.copy()
    expected_input[700:1999] = x[700:1999].astype(np.float32)
    report = accumulator.report()
    reference = reference_report(expected_input)
    assert accumulator.n == 3000 and accumulator.d == 140 and accumulator.backend == "cpu"
    assert report.alpha == pytest.approx(reference["alpha"], abs=1e-9)
    np.testing.assert_allclose(accumulator.mean(), expected_input.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(accumulator.covariance(), np.cov(expected_input, rowvar=False, bias=True),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(accumulator.eigenvalues("n-1"), reference["eigenvalues"] * 3000 / 2999, rtol=1e-9,
                               atol=1e-12)


def test_merge_equals_one_accumulator_and_leaves_the_other_unchanged(features):
    x = features(2000, 120, seed=12)
    left = alphareq.Accumulator(120, backend="cpu").add(x[:800])
    right = alphareq.Accumulator(120, backend="cpu").add(x[800:])
    whole = alphareq.Accumulator(120, backend="cpu").add(x)
    assert left.merge(right) is left
    assert (left.n, right.n) == (2000, 1200)
    assert left.report().alpha == pytest.approx(whole.report().alpha, abs=1e-10)
    doubled = whole.copy().merge(whole)  # duplicating every sample keeps the covariance
    assert doubled.n == 4000
    np.testing.assert_allclose(doubled.eigenvalues(), whole.eigenvalues(), rtol=1e-10)


def test_copy_is_independent_and_report_does_not_consume(features):
    x = features(1000, 110, seed=13)
    accumulator = alphareq.Accumulator(110, backend="cpu").add(x[:500])
    snapshot = accumulator.copy()
    first = accumulator.report()
    assert accumulator.report().alpha == first.alpha
    accumulator.add(x[500:])
    assert (accumulator.n, snapshot.n) == (1000, 500)
    assert snapshot.report().alpha == first.alpha
    assert "n=500" in repr(snapshot) and snapshot.device is None


def test_pickled_accumulators_from_other_processes_merge_as_the_originals(features):
    """Data-parallel workers: each pickles its accumulator (as torch.distributed's
    all_gather_object does); merged in one process they equal one accumulator over all rows."""
    import copy
    import multiprocessing
    import pickle

    x = features(900, 24)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.map(_worker_accumulator_bytes, [x[:400], x[400:]])
    merged = pickle.loads(parts[0]).merge(pickle.loads(parts[1]))
    whole = alphareq.Accumulator(24, backend="cpu").add(x)
    assert merged.n == 900 and merged.backend == "cpu"
    np.testing.assert_allclose(merged.covariance(), whole.covariance(), rtol=1e-12, atol=1e-14)
    expected = reference_report(x, 2, 20)
    assert merged.report(first=2, last=20).alpha == pytest.approx(expected["alpha"], abs=1e-10)
    # A round trip in one process keeps the state exactly, and the copy is independent.
    local = alphareq.Accumulator(24, backend="cpu", precision="float32").add(x[:300])
    restored = copy.deepcopy(local)
    assert restored._options == {"precision": "float32", "solver": "float64", "deterministic": False}
    np.testing.assert_array_equal(restored.covariance(), local.covariance())
    restored.add(x[300:])
    assert local.n == 300 and restored.n == 900


def test_an_unpickled_state_whose_arrays_disagree_with_its_width_is_refused_before_allocating(monkeypatch):
    """A small pickle claiming d = 10**6 asked for a 8 TB state before its arrays were
    compared with d."""
    import pickle

    import alphareq._accumulator as accumulators

    state = pickle.dumps(alphareq.Accumulator(3, backend="cpu").add(np.eye(3) + 1.0))
    function, arguments = alphareq.Accumulator(3, backend="cpu").__reduce__()
    assert pickle.loads(state).n == 3
    monkeypatch.setattr(accumulators, "Accumulator",
                        lambda *a, **k: pytest.fail("allocated before the sizes were checked"))
    with pytest.raises(ValueError, match=r"d = 1000000 but the mean has shape \(3,\)"):
        function(10**6, *arguments[1:])


def test_a_float32_state_merged_into_a_float64_accumulator_keeps_float32s_threshold():
    """A float32 worker merged into a default root (directly, or pickled) must not be fitted
    with float64's rank threshold: its rounding noise near 1e-7 of lambda_1 read as rank gave
    alpha 3.85 for 5.00, silently. The root refuses the window as the worker does."""
    import pickle

    rng = np.random.default_rng(9)
    d, n = 256, 5000
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    x = (rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -2.5) @ rotation.T  # lambda_i ~ i^-5
    assert alphareq.Accumulator(d, backend="cpu").add(x).report().alpha == pytest.approx(5.0, abs=0.1)
    worker = alphareq.Accumulator(d, backend="cpu", precision="float32").add(x)
    for root in (alphareq.Accumulator(d, backend="cpu").merge(worker),
                 alphareq.Accumulator(d, backend="cpu").merge(pickle.loads(pickle.dumps(worker)))):
        with pytest.raises(ValueError, match="numerical-zero threshold"):
            root.report()
        assert pickle.loads(pickle.dumps(root))._impl.state()[3] is True


def _worker_accumulator_bytes(rows):
    import pickle

    return pickle.dumps(alphareq.Accumulator(rows.shape[1], backend="cpu").add(rows))


def test_concurrent_adds_to_one_accumulator_are_serialised(features):
    x = features(4000, 100, seed=14)
    shared = alphareq.Accumulator(100, backend="cpu")
    chunks = np.array_split(x, 16)

    def work(part):
        for chunk in part:
            shared.add(chunk)

    threads = [threading.Thread(target=work, args=(chunks[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared.n == 4000
    assert shared.report().alpha == pytest.approx(reference_report(x)["alpha"], abs=1e-9)


def test_package_metadata():
    assert alphareq.__version__.count(".") == 2
    assert isinstance(alphareq.cuda_available(), bool)
    assert alphareq.cuda_available() or alphareq.cuda_unavailable_reason()


def test_deterministic_is_accepted_by_every_entry_point_and_bit_identical_on_cpu(features, tmp_path):
    # The CPU backend is deterministic always: the option changes nothing, to the last bit.
    x = features(1500, 90, seed=15, mean=3.0)
    path = tmp_path / "features.npy"
    np.save(path, x)

    def streamed(deterministic):
        accumulator = alphareq.Accumulator(90, backend="cpu", deterministic=deterministic)
        return accumulator.add(x[:600]).add(x[600:]).report()

    plain = streamed(False)
    reports = [streamed(True), streamed(True), alphareq.alpha(x, backend="cpu", deterministic=True),
               alphareq.alpha(path, backend="cpu", deterministic=True),
               alphareq.alpha_npy(path, backend="cpu", deterministic=True)]
    for report in reports[:2]:
        assert report.alpha == plain.alpha and report.r2 == plain.r2
        assert np.array_equal(report.eigenvalues, plain.eigenvalues)
    one_shot = alphareq.alpha(x, backend="cpu")
    assert reports[2].alpha == one_shot.alpha and np.array_equal(reports[2].eigenvalues, one_shot.eigenvalues)
    assert reports[3].alpha == reports[4].alpha == alphareq.alpha_npy(path, backend="cpu").alpha


@pytest.mark.skipif(not alphareq.cuda_available(), reason="needs a usable CUDA device")
def test_deterministic_cuda_is_bit_identical_run_to_run(features):
    x = features(6000, 256, seed=16, mean=10.0, dtype=np.float32)
    reports = [alphareq.Accumulator(256, backend="cuda", deterministic=True).add(x[:2500]).add(x[2500:]).report()
               for _ in range(3)]
    for report in reports[1:]:
        assert report.alpha == reports[0].alpha
        assert np.array_equal(report.eigenvalues, reports[0].eigenvalues)


# Kills C9 (covariance() ignores its normalization).
def test_covariance_normalizations_match_numpy(features):
    x = features(700, 25, seed=5, mean=2.0)
    accumulator = alphareq.Accumulator(25, backend="cpu").add(x[:300]).add(x[300:])
    np.testing.assert_allclose(accumulator.covariance("n"), np.cov(x, rowvar=False, bias=True), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(accumulator.covariance("n-1"), np.cov(x, rowvar=False), rtol=1e-10, atol=1e-13)


# Kills C6 (__reduce__ drops the options: an unpickled float32/deterministic worker comes
# back as a float64 one, and its later batches are accumulated differently).
def test_an_unpickled_accumulator_keeps_its_options(features):
    x = features(900, 24, seed=6, mean=1.0)
    original = alphareq.Accumulator(24, backend="cpu", precision="float32", deterministic=True).add(x[:300])
    restored = pickle.loads(pickle.dumps(original))
    assert restored._options == {"precision": "float32", "solver": "float64", "deterministic": True}
    original.add(x[300:])
    restored.add(x[300:])
    np.testing.assert_array_equal(restored.covariance(), original.covariance())  # float32 products both


# Kills C4b, C12b, C16 (precision part), C21, C22, T17: precision="float32" must reach the
# accumulation from every entry point (float64 products fit the steep spectrum; float32's
# noise threshold refuses the window).
def test_float32_precision_reaches_every_entry_point(tmp_path):
    x = steep_spectrum()
    path = tmp_path / "steep.npy"
    np.save(path, x)
    expected = reference_report(x)
    assert expected["rank_limit"] == 256
    assert alphareq.alpha(x, backend="cpu").alpha == pytest.approx(expected["alpha"], abs=1e-6)  # steep: ~1e-10 of λ_1 at rank 100
    refused = [
        lambda: alphareq.Accumulator(256, "cpu", precision="float32").add(x).report(),
        lambda: alphareq.alpha(x, backend="cpu", precision="float32"),
        lambda: alphareq.alpha(x, backend="cpu", precision="float32", bootstrap=3),
        lambda: alphareq.alpha(path, backend="cpu", precision="float32"),
        lambda: alphareq.alpha_npy(path, backend="cpu", precision="float32"),
    ]
    for compute in refused:
        with pytest.raises(ValueError, match="usable ranks"):
            compute()
