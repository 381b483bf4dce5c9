"""alphareq.alpha on NumPy arrays against the float64 NumPy reference (tolerance 1e-9)."""

from __future__ import annotations

import dataclasses
import json
import numpy as np
import pytest

import alphareq
from numpy_reference import reference_report

TOLERANCE = 1e-9


def assert_matches_reference(report: alphareq.Report, reference: dict) -> None:
    assert report.n == reference["n"] and report.d == reference["d"]
    assert report.first_rank == reference["first_rank"]
    assert report.last_rank == reference["last_rank"]
    assert report.rank_limit == reference["rank_limit"]
    assert abs(report.alpha - reference["alpha"]) <= TOLERANCE
    assert abs(report.intercept - reference["intercept"]) <= TOLERANCE
    assert abs(report.r2 - reference["r2"]) <= TOLERANCE
    top = reference["eigenvalues"][0]
    np.testing.assert_allclose(report.eigenvalues, reference["eigenvalues"], rtol=TOLERANCE, atol=TOLERANCE * top)
    np.testing.assert_allclose(report.residuals, reference["residuals"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("method", ["weighted", "ols"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_alpha_matches_float64_numpy_reference(features, method, dtype):
    x = features(4000, 160, alpha=1.2, seed=1, mean=3.0, dtype=dtype)
    report = alphareq.alpha(x, method=method, backend="cpu")
    assert_matches_reference(report, reference_report(x, method=method))
    assert report.method == method and report.backend == "cpu" and not report.clipped


def test_window_and_normalization_options_match_reference(features):
    x = features(1500, 120, alpha=0.8, seed=2)
    report = alphareq.alpha(x, first=5, last=60, method="ols", backend="cpu", normalization="n-1")
    assert_matches_reference(report, reference_report(x, first=5, last=60, method="ols", normalization="n-1"))
    assert report.normalization == "n-1"
    assert (report.requested_first_rank, report.requested_last_rank) == (5, 60)


def test_short_spectrum_clips_the_window_and_says_why(features):
    x = features(800, 50, seed=3)
    report = alphareq.alpha(x, backend="cpu")
    assert report.clipped and report.last_rank == 50 and report.requested_last_rank == 100
    assert "D = 50" in report.clip_reason
    assert_matches_reference(report, reference_report(x))


def test_n_dimensional_input_is_read_as_rows_of_flattened_features(features):
    x = features(1000, 4 * 5 * 6, seed=4).reshape(1000, 4, 5, 6)
    report = alphareq.alpha(x, backend="cpu")
    assert report.d == 120
    assert_matches_reference(report, reference_report(x.reshape(1000, -1)))


def test_report_fields_types_and_immutability(features):
    report = alphareq.alpha(features(600, 130, seed=5), backend="cpu")
    assert isinstance(report.alpha, float) and isinstance(report.n, int) and isinstance(report.clipped, bool)
    assert report.eigenvalues.dtype == np.float64 and report.eigenvalues.shape == (130,)
    assert np.all(np.diff(report.eigenvalues) <= 0)
    with pytest.raises(ValueError):
        report.eigenvalues[0] = 1.0  # read-only
    assert set(report.timings) == {"accumulate_ms", "eigenvalues_ms", "fit_ms", "total_ms"}
    assert all(value >= 0 for value in report.timings.values())
    assert report.clip_reason is None
    assert "effective_rank" in report.metrics
    plain = report.to_dict()
    assert "eigenvalues" not in plain and plain["alpha"] == report.alpha
    assert len(report.to_dict(eigenvalues=True)["eigenvalues"]) == 130
    assert "alpha=" in repr(report)


def test_robust_alpha_is_the_authors_robust_fit(features):
    """fastssl's robust_fit_powerlaw: the median of the OLS slopes over sub-windows of
    int((last - first) / 10) + 1 ranks starting at every rank of the window."""
    x = features(3000, 200, alpha=1.3, seed=12)
    report = alphareq.alpha(x, first=11, last=100, backend="cpu")
    expected = reference_report(x)
    width = (100 - 11) // 10
    log_lambda = np.log(expected["eigenvalues"])
    slopes = [np.polyfit(np.log(np.arange(start, start + width + 1)), log_lambda[start - 1:start + width], 1)[0]
              for start in range(11, 101)]
    assert report.diagnostics["robust_subwindow"] == width + 1
    assert report.diagnostics["robust_alpha"] == pytest.approx(-np.median(slopes), abs=1e-9)
    assert 1 <= report.diagnostics["suggested_first_rank"] < report.diagnostics["suggested_last_rank"] <= report.rank_limit
    assert "bootstrap_resamples" not in report.diagnostics  # not computed here


def test_alpha_recovers_the_population_exponent(features):
    report = alphareq.alpha(features(20000, 256, alpha=1.0, seed=6))
    assert report.alpha == pytest.approx(1.0, abs=0.05)
    assert report.r2 > 0.99


def test_package_docstring_example_gives_what_it_shows():
    import doctest

    failures, attempted = doctest.testmod(alphareq, verbose=False)
    assert attempted > 0 and failures == 0


# Kills C14, C15 (alpha(bootstrap=B) fits 11..100 "weighted"/"n" whatever was asked).
def test_bootstrap_keeps_the_window_method_and_normalization(features):
    x = features(1500, 120, alpha=0.8, seed=2)
    report = alphareq.alpha(x, first=5, last=60, method="ols", backend="cpu", normalization="n-1",
                            bootstrap=20, seed=3)
    expected = reference_report(x, first=5, last=60, method="ols", normalization="n-1")
    assert (report.first_rank, report.last_rank, report.method, report.normalization) == (5, 60, "ols", "n-1")
    assert report.alpha == pytest.approx(expected["alpha"], abs=TOLERANCE)
    assert report.r2 == pytest.approx(expected["r2"], abs=TOLERANCE)
    np.testing.assert_allclose(report.eigenvalues, expected["eigenvalues"], rtol=TOLERANCE,
                               atol=TOLERANCE * expected["eigenvalues"][0])
    low, high = report.diagnostics["alpha_interval_low"], report.diagnostics["alpha_interval_high"]
    assert report.diagnostics["bootstrap_resamples"] == 20 and low < high


# Kills C19, C20 (alpha(path) drops first/last/method/normalization, or the bootstrap).
def test_alpha_of_a_path_forwards_every_option(features, tmp_path):
    x = features(1500, 120, alpha=0.8, seed=2)
    path = tmp_path / "x.npy"
    np.save(path, x)
    report = alphareq.alpha(path, first=5, last=60, method="ols", backend="cpu", normalization="n-1")
    expected = reference_report(x, first=5, last=60, method="ols", normalization="n-1")
    assert (report.first_rank, report.last_rank, report.method, report.normalization) == (5, 60, "ols", "n-1")
    assert report.alpha == pytest.approx(expected["alpha"], abs=TOLERANCE)
    resampled = alphareq.alpha(path, backend="cpu", bootstrap=15, seed=4, confidence=0.8)
    assert resampled.diagnostics["bootstrap_resamples"] == 15
    assert resampled.diagnostics["bootstrap_confidence"] == 0.8
    assert resampled == alphareq.alpha_npy(path, backend="cpu", bootstrap=15, seed=4, confidence=0.8)


# Kills R2, R7 (to_dict drops the dict fields, or the residuals).
def test_to_dict_carries_every_field_as_plain_json(features):
    x = features(600, 130, seed=5)
    report = alphareq.alpha(x, backend="cpu")
    full = report.to_dict(eigenvalues=True)
    assert set(full) == {field.name for field in dataclasses.fields(report)}
    assert full["residuals"] == report.residuals.tolist() and len(full["residuals"]) == 90
    assert full["eigenvalues"] == report.eigenvalues.tolist()
    for name in ("metrics", "diagnostics", "timings"):
        assert full[name] == getattr(report, name) and full[name] is not getattr(report, name)
    plain = report.to_dict()
    assert set(full) - set(plain) == {"eigenvalues", "residuals"}
    assert plain["diagnostics"]["robust_alpha"] == report.diagnostics["robust_alpha"]
    json.dumps(full)


# Kills R3 (== ignores the arrays).
def test_reports_differing_only_in_an_array_are_unequal(features):
    report = alphareq.alpha(features(300, 20), 2, 15, backend="cpu")
    assert report == dataclasses.replace(report)
    assert report != dataclasses.replace(report, eigenvalues=report.eigenvalues * 2)
    assert report != dataclasses.replace(report, residuals=report.residuals + 1.0)
