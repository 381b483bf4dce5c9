"""A target of the GPU issue as rows measured against a limit, and the verdicts they add up
to: a row PASSes or MISSes, a target PASSes when every measured row does, and a row or a
target nothing was measured for reads "not measured" rather than either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .formatting import NOT_MEASURED, markdown_table


@dataclass
class Check:
    """One row of a target: measured against limit, `at_least` (≥) or at most (≤)."""

    label: str
    measured: Optional[float]
    limit: float
    at_least: bool
    cells: List[str]
    info: bool = False    # shown for context, not part of the target's verdict
    strict: bool = False  # > (or <) rather than ≥ (≤): "faster than" is not "as fast as"

    def passes(self) -> Optional[bool]:
        if self.measured is None:
            return None
        if self.strict:
            return self.measured > self.limit if self.at_least else self.measured < self.limit
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def verdict(self) -> str:
        result = self.passes()
        if result is None:
            return NOT_MEASURED
        if self.info:
            return "info"
        return "PASS" if result else "MISS"


@dataclass
class Target:
    key: str                                 # the letter, (a) to (f)
    title: str
    target_text: str                         # the target in words, with its limit
    render: Callable[[Optional[float]], str]  # how a measured value reads (ratio, percent)
    header: List[str]                        # the columns of the checks' cells
    checks: List[Check] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def counted(self) -> List[Check]:
        return [check for check in self.checks if not check.info]

    def measured(self) -> List[Check]:
        return [check for check in self.counted() if check.passes() is not None]

    def verdict(self) -> str:
        measured = self.measured()
        if not measured:
            return NOT_MEASURED
        return "PASS" if all(check.passes() for check in measured) else "MISS"

    def glance(self) -> str:
        """The least favourable measured row, and how many rows were measured."""
        counted, measured = self.counted(), self.measured()
        if not measured:
            return NOT_MEASURED
        # Least favourable: the smallest margin measured / limit (largest for "at most").
        pick = min if measured[0].at_least else max
        worst = pick(measured, key=lambda check: check.measured / check.limit if check.limit else check.measured)
        passed = sum(1 for check in measured if check.passes())
        text = f"{self.render(worst.measured)} at {worst.label}; {passed} of {len(measured)} pass"
        if len(measured) < len(counted):
            text += f" ({len(counted) - len(measured)} {NOT_MEASURED})"
        return text

    def markdown(self) -> List[str]:
        lines = [f"### ({self.key}) {self.title}", "",
                 f"Target: {self.target_text}. Verdict: **{self.verdict()}**.", ""]
        lines.append(markdown_table(self.header + ["verdict"], [c.cells + [c.verdict()] for c in self.checks]))
        if self.notes:
            lines += [""] + self.notes
        return lines + [""]
