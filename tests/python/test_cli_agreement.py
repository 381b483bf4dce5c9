"""The Python package and the C++ command-line tool agree on the same .npy file."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import alphareq


def run_cli(cli: str, path, *options: str) -> dict:
    completed = subprocess.run([cli, str(path), "--json", "--quiet", "--backend", "cpu", *options],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def assert_same(report: alphareq.Report, cli_result: dict, rel: float) -> None:
    for key in ("alpha", "intercept", "r2"):
        assert getattr(report, key) == pytest.approx(cli_result[key], rel=rel, abs=rel), key
    for key in ("first_rank", "last_rank", "requested_first_rank", "requested_last_rank", "rank_limit", "n", "d"):
        assert getattr(report, key) == cli_result[key], key
    assert report.clipped == cli_result["window_clipped"]
    assert report.method == cli_result["method"] and report.normalization == cli_result["normalization"]
    for key in ("robust_alpha", "suggested_alpha"):
        assert report.diagnostics[key] == pytest.approx(cli_result[key], rel=rel, abs=rel), key
    for key in ("robust_subwindow", "suggested_first_rank", "suggested_last_rank"):
        assert report.diagnostics[key] == cli_result[key], key


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3000, 150), (2000, 6, 5, 4)])
def test_python_equals_cli_on_the_same_file(cli, tmp_path, features, dtype, shape):
    x = features(shape[0], int(np.prod(shape[1:])), seed=7, mean=2.0, dtype=dtype).reshape(shape)
    path = tmp_path / "features.npy"
    np.save(path, x)
    expected = run_cli(cli, path)
    assert_same(alphareq.alpha(str(path), backend="cpu"), expected, rel=0.0)  # same streamed pipeline
    assert_same(alphareq.alpha(np.load(path), backend="cpu"), expected, rel=1e-12)


def test_options_reach_both_the_same_way(cli, tmp_path, features):
    path = tmp_path / "features.npy"
    np.save(path, features(1200, 90, seed=8))
    expected = run_cli(cli, path, "--first", "4", "--last", "70", "--method", "ols", "--normalization", "n-1")
    report = alphareq.alpha_npy(path, first=4, last=70, method="ols", backend="cpu", normalization="n-1")
    assert_same(report, expected, rel=0.0)


def test_bootstrap_interval_is_the_clis(cli, tmp_path, features):
    """The same seeded Poisson resamples from the file (streamed), from the array in memory
    and in the CLI: the same interval."""
    x = features(1500, 80, seed=10, alpha=1.2)
    path = tmp_path / "features.npy"
    np.save(path, x)
    expected = run_cli(cli, path, "--bootstrap", "40", "--bootstrap-seed", "5", "--confidence", "0.9")
    streamed = alphareq.alpha_npy(path, backend="cpu", bootstrap=40, seed=5, confidence=0.9)
    in_memory = alphareq.alpha(x, backend="cpu", bootstrap=40, seed=5, confidence=0.9)
    for report, rel in ((streamed, 0.0), (in_memory, 1e-9)):
        assert_same(report, expected, rel=1e-12)
        diagnostics = report.diagnostics
        assert diagnostics["bootstrap_resamples"] == 40 and diagnostics["bootstrap_confidence"] == 0.9
        interval = [diagnostics["alpha_interval_low"], diagnostics["alpha_interval_high"]]
        assert interval == pytest.approx(expected["alpha_interval"], rel=rel, abs=rel)
        assert diagnostics["alpha_standard_error"] == pytest.approx(expected["alpha_standard_error"], rel=rel, abs=rel)
        assert interval[0] < interval[1]
    with pytest.raises(ValueError, match="bootstrap"):
        alphareq.alpha(x, backend="cpu", bootstrap=-1)
    with pytest.raises(ValueError, match="confidence"):
        alphareq.alpha(x, backend="cpu", bootstrap=10, confidence=1.5)


def test_fortran_order_file_streams_like_the_cli(cli, tmp_path, features):
    path = tmp_path / "fortran.npy"
    np.save(path, np.asfortranarray(features(1000, 120, seed=9)))
    expected = run_cli(cli, path)
    assert_same(alphareq.alpha(path, backend="cpu"), expected, rel=0.0)


def test_bad_file_is_an_error_in_both(cli, tmp_path):
    path = tmp_path / "broken.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00garbage")
    completed = subprocess.run([cli, str(path), "--quiet"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    with pytest.raises(alphareq.FileError, match="broken.npy") as caught:
        alphareq.alpha(path)
    assert isinstance(caught.value, OSError) and isinstance(caught.value, ValueError)
    with pytest.raises(alphareq.FileError, match="missing.npy"):
        alphareq.alpha_npy(tmp_path / "missing.npy")


def test_alpha_npy_takes_bytes_paths_and_names_that_are_not_utf8(tmp_path):
    """Any file name the file system allows: a bytes path, and a str from os.fsdecode of
    undecodable bytes, which the extension's str argument refused with its signature."""
    import os

    x = np.random.default_rng(3).standard_normal((300, 30))
    raw = os.fsencode(tmp_path) + b"/features-\xff.npy"
    with open(raw, "wb") as file:
        np.save(file, x)
    expected = alphareq.alpha(x, first=2, last=20, backend="cpu").alpha
    for path in (raw, os.fsdecode(raw)):
        assert alphareq.alpha_npy(path, first=2, last=20, backend="cpu").alpha == expected
    # Its errors name it with the undecodable byte shown, not a UnicodeDecodeError instead.
    missing = os.fsencode(tmp_path) + b"/missing-\xff.npy"
    for path in (missing, os.fsdecode(missing)):
        with pytest.raises(alphareq.FileError, match=r"missing-\\xff\.npy"):
            alphareq.alpha_npy(path)
