"""The result of an α computation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np


@dataclass(frozen=True, repr=False, eq=False)
class Report:
    """Eigenvalues of the feature covariance and the power-law fit λ_i ∝ i^(−α).

    ``alpha`` is −slope of log λ_i against log i over ranks ``first_rank..last_rank``
    (1-based, inclusive; clipped to ``rank_limit`` when the spectrum is shorter, with
    ``clipped`` and ``clip_reason`` saying so); ``intercept`` is log λ at rank 1 of the
    fitted line; ``r2`` the coefficient of determination with the fit's weights.
    ``eigenvalues`` are all D eigenvalues, descending, float64. ``timings`` are wall-clock
    milliseconds: ``accumulate_ms``, ``eigenvalues_ms``, ``fit_ms``, ``total_ms``.

    Two reports are equal (``==``) when every field but ``timings`` is, arrays element by
    element; a report holds arrays, so it is not hashable.
    """

    alpha: float
    intercept: float
    r2: float
    first_rank: int
    last_rank: int
    eigenvalues: np.ndarray
    n: int
    d: int
    timings: Dict[str, float]
    method: str = "weighted"
    backend: str = "cpu"
    normalization: str = "n"
    requested_first_rank: int = 0
    requested_last_rank: int = 0
    rank_limit: int = 0
    clipped: bool = False
    clip_reason: Optional[str] = None
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: RankMe effective rank, participation ratio, stable rank, numerical rank, tail ratio.
    metrics: Dict[str, float] = field(default_factory=dict)
    #: How far to trust the fit, from the same eigenvalues (alphareq::FitDiagnostics):
    #: ``robust_alpha`` (the authors' median over ``robust_subwindow``-rank sub-windows), the
    #: window suggestion ``suggested_first_rank..suggested_last_rank`` with its
    #: ``suggested_alpha`` (the longest run whose local α, over ``subwindow`` ranks, varies by
    #: at most ``stability``; beside the fit, never in its place).
    diagnostics: Dict[str, float] = field(default_factory=dict)

    @classmethod
    def _from_dict(cls, values: Dict[str, Any]) -> "Report":
        for key in ("eigenvalues", "residuals"):
            values[key].setflags(write=False)
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in values.items() if key in known})

    def to_dict(self, eigenvalues: bool = False) -> Dict[str, Any]:
        """Plain Python values (JSON-ready); the eigenvalues and residuals only when asked."""
        result: Dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                if not eigenvalues:
                    continue
                value = value.tolist()
            elif isinstance(value, dict):
                value = dict(value)
            result[name] = value
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Report):
            return NotImplemented
        for name in self.__dataclass_fields__:
            if name == "timings":  # a measurement of the run, not part of the result
                continue
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
                if not np.array_equal(mine, theirs):
                    return False
            elif mine != theirs:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __repr__(self) -> str:
        clipped = f", clipped from {self.requested_last_rank}" if self.clipped else ""
        return (
            f"Report(alpha={self.alpha:.4f}, r2={self.r2:.4f}, ranks {self.first_rank}..{self.last_rank}"
            f"{clipped}, n={self.n}, d={self.d}, method={self.method!r}, backend={self.backend!r})"
        )
