"""Shared fixtures of the Python tests: seeded features and the command-line tool."""

from __future__ import annotations

import os
import pathlib
import shutil
from typing import Callable

import numpy as np
import pytest

try:
    # PyTorch before alphareq's extension: each loads libcublas/libcusolver by soname, and the
    # first copy loaded serves both. PyTorch's own (often newer) copies serve alphareq fine;
    # the toolkit's copy that alphareq links may lack symbols a newer PyTorch needs, which
    # would make `importorskip("torch")` skip every PyTorch test instead of running it.
    import torch  # noqa: F401
except ImportError:
    pass

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


def power_law_features(n: int, d: int, alpha: float = 1.0, seed: int = 0, mean: float = 0.0,
                       dtype: type = np.float64) -> np.ndarray:
    """Gaussian samples whose population covariance is diag(i^-alpha), shifted by `mean`."""
    rng = np.random.default_rng(seed)
    scales = np.arange(1, d + 1, dtype=np.float64) ** (-alpha / 2)
    return (mean + rng.standard_normal((n, d)) * scales).astype(dtype)


@pytest.fixture
def features() -> Callable[..., np.ndarray]:
    return power_law_features


@pytest.fixture(scope="session")
def cli() -> str:
    """Path of the alphareq command-line tool: $ALPHAREQ_CLI, the default preset's build,
    or the one on PATH."""
    candidates = [os.environ.get("ALPHAREQ_CLI"), str(REPOSITORY / "build" / "alphareq"),
                  shutil.which("alphareq")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("the alphareq command-line tool is not built (cmake --build --preset default, "
                "or set ALPHAREQ_CLI)")
