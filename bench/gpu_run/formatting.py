"""Numbers the run may not have produced, as the results file writes them.

None stands for a number the run did not produce: `finite` and `divide` pass it on, and
every formatter writes it as "not measured", so that no placeholder (0, nan, a dash) can
pass for a measurement.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence

NOT_MEASURED = "not measured"
NOT_RECORDED = "not recorded"  # a fact about the machine that no file gave


def finite(x: Any) -> Optional[float]:
    """x as a float if it is a finite JSON number; None for anything else (null, nan, text)."""
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def divide(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


def num(x: Optional[float], digits: int = 3) -> str:
    """x to `digits` significant digits, never in exponent form; None → not measured."""
    if x is None:
        return NOT_MEASURED
    if x == 0:
        return "0"
    decimals = min(6, max(0, digits - 1 - int(math.floor(math.log10(abs(x))))))
    return f"{x:,.{decimals}f}"


def with_spread(median: Optional[float], stddev: Optional[float]) -> str:
    if median is None:
        return NOT_MEASURED
    return num(median) if stddev is None else f"{num(median)} ± {num(stddev, 2)}"


def ratio(x: Optional[float]) -> str:
    return NOT_MEASURED if x is None else f"{num(x)}×"


def percent(x: Optional[float]) -> str:
    return NOT_MEASURED if x is None else f"{num(100 * x)} %"


def size(n: int, d: int) -> str:
    return f"{n:,} × {d:,}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
