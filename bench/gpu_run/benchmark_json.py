"""Google Benchmark JSON files (bench_cuda_backend, bench_cpu_backend), as
`--benchmark_report_aggregates_only` writes them: only the "median" aggregate of each case
is used, with its "stddev" aggregate as the spread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from .formatting import NOT_MEASURED, finite, with_spread

TIME_UNITS_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

CaseKey = Tuple[str, Tuple[int, ...]]  # (function, numeric arguments)


def salvage_benchmark_json(text: str) -> Tuple[Optional[dict], int]:
    """A Google Benchmark JSON file cut off mid-run (the phase's time limit killed the
    program): the reporter writes one entry at a time, indented four spaces, so keep the
    entries up to the last complete one. (data, entries kept) or (None, 0)."""
    end = len(text)
    while True:
        end = text.rfind("\n    }", 0, end)
        if end < 0:
            return None, 0
        try:
            data = json.loads(text[:end + 6] + "\n  ]\n}")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
            return data, len(data["benchmarks"])


@dataclass
class Stat:
    """One benchmark quantity: Google Benchmark's median aggregate and its stddev."""

    median: float
    stddev: Optional[float]


def stat_text(stat: Optional[Stat]) -> str:
    """"median ± stddev", or "not measured" for a case the run did not produce."""
    return NOT_MEASURED if stat is None else with_spread(stat.median, stat.stddev)


def median_of(stat: Optional[Stat]) -> Optional[float]:
    return None if stat is None else stat.median


class BenchmarkResults:
    """A Google Benchmark JSON file (--benchmark_report_aggregates_only), indexed by
    (function, numeric arguments): BM_X/10000/2048/1/manual_time → ("BM_X", (10000, 2048, 1)).
    Only the "median" and "stddev" aggregates are used; a case that was skipped with an
    error (no device, out of memory) keeps its message and gives no number."""

    def __init__(self, data: Optional[dict]) -> None:
        self.context: Dict[str, Any] = (data or {}).get("context", {}) or {}
        self.aggregates: Dict[CaseKey, Dict[str, dict]] = {}
        self.errors: Dict[CaseKey, str] = {}
        for entry in (data or {}).get("benchmarks", []) or []:
            if not isinstance(entry, dict):
                continue
            key = self.key(entry)
            if key is None:
                continue
            if entry.get("error_occurred") or entry.get("skipped"):
                self.errors[key] = str(entry.get("error_message") or entry.get("skip_message") or "skipped")
            elif entry.get("run_type") == "aggregate" and entry.get("aggregate_name"):
                self.aggregates.setdefault(key, {})[entry["aggregate_name"]] = entry

    @staticmethod
    def key(entry: dict) -> Optional[CaseKey]:
        name = entry.get("run_name")
        if not name:
            name = str(entry.get("name", ""))
            suffix = "_" + str(entry.get("aggregate_name", ""))
            if entry.get("aggregate_name") and name.endswith(suffix):
                name = name[:-len(suffix)]
        parts = str(name).split("/")
        if not parts or not parts[0]:
            return None
        # Numeric parts are the arguments; the rest are options (manual_time, real_time,
        # iterations:3, repeats:5, ...).
        return parts[0], tuple(int(p) for p in parts[1:] if re.fullmatch(r"-?\d+", p))

    def __bool__(self) -> bool:
        return bool(self.aggregates)

    def _median_and_stddev(self, function: str, args: Tuple[int, ...]) -> Tuple[Optional[dict], Optional[dict]]:
        runs = self.aggregates.get((function, args), {})
        return runs.get("median"), runs.get("stddev")

    def time_ms(self, function: str, *args: int) -> Optional[Stat]:
        """Median (± stddev) of the reported time — the manual (CUDA event) time for
        UseManualTime cases, real time for UseRealTime ones — in milliseconds."""
        median, spread = self._median_and_stddev(function, args)
        if median is None:
            return None
        unit = TIME_UNITS_MS.get(median.get("time_unit", "ns"))
        value = finite(median.get("real_time"))
        # An errored case can leave a real_time of 0: that is no time, not a fast one.
        if unit is None or value is None or value <= 0:
            return None
        deviation = finite(spread.get("real_time")) if spread else None
        return Stat(value * unit, None if deviation is None else deviation * unit)

    def counter(self, function: str, name: str, *args: int) -> Optional[Stat]:
        median, spread = self._median_and_stddev(function, args)
        value = finite(median.get(name)) if median else None
        if value is None:
            return None
        return Stat(value, finite(spread.get(name)) if spread else None)
