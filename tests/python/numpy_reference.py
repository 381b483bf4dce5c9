"""An independent float64 NumPy reference of the α pipeline: centre, covariance,
numpy.linalg.eigvalsh, and the (weighted) least-squares power-law fit."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np


def reference_report(x: Any, first: int = 11, last: int = 100, method: str = "weighted",
                     normalization: str = "n") -> Dict[str, Any]:
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    n, d = x.shape
    centred = x - x.mean(axis=0)
    covariance = centred.T @ centred / (n if normalization == "n" else n - 1)
    eigenvalues = np.linalg.eigvalsh(covariance)[::-1].copy()
    positive = int(np.count_nonzero(eigenvalues > eigenvalues[0] * d * np.finfo(np.float64).eps))
    rank_limit = max(0, min(n - 1, d, positive))
    last_used = min(last, rank_limit)
    ranks = np.arange(first, last_used + 1, dtype=np.float64)
    weights = 1.0 / ranks if method == "weighted" else np.ones_like(ranks)
    log_rank = np.log(ranks)
    log_lambda = np.log(eigenvalues[first - 1:last_used])
    x_mean = np.sum(weights * log_rank) / np.sum(weights)
    y_mean = np.sum(weights * log_lambda) / np.sum(weights)
    slope = np.sum(weights * (log_rank - x_mean) * (log_lambda - y_mean)) / np.sum(weights * (log_rank - x_mean) ** 2)
    intercept = y_mean - slope * x_mean
    residuals = log_lambda - (intercept + slope * log_rank)
    r2 = 1.0 - np.sum(weights * residuals ** 2) / np.sum(weights * (log_lambda - y_mean) ** 2)
    return {
        "alpha": -slope, "intercept": intercept, "r2": r2, "eigenvalues": eigenvalues,
        "first_rank": first, "last_rank": last_used, "rank_limit": rank_limit,
        "residuals": residuals, "n": n, "d": d,
    }
