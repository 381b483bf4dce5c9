#!/usr/bin/env python3
"""Turns what `scripts/gpu_session.sh bench torch table1` leaves in $OUT into a Markdown results file.

    python3 bench/summarise_gpu_run.py OUTDIR [--date YYYY-MM-DD] [--output FILE.md]
                                              [--readme-section FILE.md]

Reads, each if present (a missing or unreadable file is named in the output, and every
number that would have come from it reads "not measured"):

  machine.txt          `date -u`, nvidia-smi, nvcc --version (every session)
  summary.txt          gpu_session.sh's one line per step; its first line is nvidia-smi's
                       name, driver, memory
  bench_cuda.json      bench_cuda_backend, Google Benchmark JSON with aggregates (phase bench)
  bench_cpu.json       bench_cpu_backend, the same format (phase bench)
  torch_pipeline.json  bench/torch_pipeline.py --json (phase bench)
  torch_probe.json     bench/torch_probe.py --json (phase table1)
  table1_cuda.md       `alphareq table1 --backend cuda` (phase table1)
  table1_cpu.md        `alphareq table1 --backend cpu` (phase table1)

and writes the results file (stdout unless --output): the machine and the commands, the
CUDA and CPU stage tables, each target of the GPU issue with its measured value and
PASS/MISS, Table 1 and the probe comparison as measured, and the session log. Only
Google Benchmark's "median" aggregates are used (± its "stddev" aggregate); the PyTorch
scripts' medians come with their min–max. Nothing is estimated or carried over from
another size: a number the run did not produce is "not measured". --readme-section
also writes a short README section: the targets at a glance, linking the results file.

Standard library only (Python ≥ 3.8), so that it runs on the GPU machine's bare python3.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

NOT_MEASURED = "not measured"
NOT_RECORDED = "not recorded"  # a fact about the machine that no file gave
REPOSITORY = Path(__file__).resolve().parent.parent
SESSION_SCRIPT = REPOSITORY / "scripts" / "gpu_session.sh"

INPUTS = {
    "machine.txt": "`date -u`, `nvidia-smi`, `nvcc --version` (every session)",
    "summary.txt": "gpu_session.sh's log, one line per step",
    "bench_cuda.json": "bench_cuda_backend (phase bench)",
    "bench_cpu.json": "bench_cpu_backend (phase bench)",
    "torch_pipeline.json": "bench/torch_pipeline.py (phase bench)",
    "torch_probe.json": "bench/torch_probe.py (phase table1)",
    "table1_cuda.md": "alphareq table1 --backend cuda (phase table1)",
    "table1_cpu.md": "alphareq table1 --backend cpu (phase table1)",
}

# The stage table's sizes (bench_cuda_backend.cu's stage_sizes, torch_pipeline.py's
# DEFAULT_SIZES) and bench_cuda_backend.cu's precision codes.
STAGE_SIZES = [(10000, 2048), (50000, 2048), (10000, 4096), (100000, 1024)]
PRECISIONS = {0: "float64", 1: "float32", 2: "tf32"}
PRECISION_CODES = {name: code for code, name in PRECISIONS.items()}
# The product routine the library picks when ALPHAREQ_CUDA_PRODUCT is unset
# (src/cuda/cuda_accumulator.cpp: GEMM for TF32, which reaches tensor cores; SYRK otherwise).
DEFAULT_PRODUCT = {"float64": "syrk", "float32": "syrk", "tf32": "gemm"}
PRODUCT_SIZES = [512, 1024, 2048, 4096, 8192]  # bench_cuda_backend.cu's product_sizes, n = 16,384
PRODUCT_ROWS = 16384
GEMM_CEILING_ROWS = 16384                       # BM_CublasGemmCeiling's n
IMAGENET = (1281167, 2048)                      # BM_CudaStreamFromHost's features
TABLE1_DATASETS = ["CIFAR10", "STL10", "ImageNet"]

# The targets.
ACCUMULATION_FRACTION = 0.60   # (a) accumulation ≥ 60 % of the cuBLAS FP32 GEMM rate, D ≥ 1,024
ACCUMULATION_MIN_D = 1024
SYEVD_FACTOR = 1.2             # (b) end to end ≤ 1.2 × cusolverDnXsyevd alone
TORCH_FACTOR = 1.0             # (c) faster than PyTorch: torch / alphareq > 1
CPU_FACTOR = 20.0              # (d) ≥ 20 × faster than the CPU backend
STREAM_FACTOR = 1.3            # (e) host stream ≤ 1.3 × the bare host → device copy
PAPER_GAIN_FACTOR = 10.0       # (f) α/probe speed-up ≥ 10 × the paper's (~16×)

TIME_UNITS_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------


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


def divide(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


# --------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------


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


def read_json(path: Path, salvage: bool = False) -> Tuple[Optional[dict], str]:
    """(data, status line) for the Inputs table."""
    if not path.is_file():
        return None, "missing"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return None, f"unreadable ({error.strerror})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if salvage:
            data, kept = salvage_benchmark_json(text)
            if data is not None:
                return data, (f"truncated (the run was cut off): read the {kept} complete entries "
                              "before the cut")
        return None, f"unreadable: not valid JSON ({error.msg} at line {error.lineno})"
    if not isinstance(data, dict):
        return None, "unreadable: not a JSON object"
    return data, "read"


def read_text(path: Path) -> Tuple[Optional[str], str]:
    if not path.is_file():
        return None, "missing"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return None, f"unreadable ({error.strerror})"
    return (text, "read") if text.strip() else (None, "empty")


@dataclass
class Stat:
    """One benchmark quantity: Google Benchmark's median aggregate and its stddev."""

    median: float
    stddev: Optional[float]

    def text(self) -> str:
        return with_spread(self.median, self.stddev)


def finite(x: Any) -> Optional[float]:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


class BenchmarkResults:
    """A Google Benchmark JSON file (--benchmark_report_aggregates_only), indexed by
    (function, numeric arguments): BM_X/10000/2048/1/manual_time → ("BM_X", (10000, 2048, 1)).
    Only the "median" and "stddev" aggregates are used; a case that was skipped with an
    error (no device, out of memory) keeps its message and gives no number."""

    def __init__(self, data: Optional[dict]) -> None:
        self.context: Dict[str, Any] = (data or {}).get("context", {}) or {}
        self.aggregates: Dict[Tuple[str, Tuple[int, ...]], Dict[str, dict]] = {}
        self.errors: Dict[Tuple[str, Tuple[int, ...]], str] = {}
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
    def key(entry: dict) -> Optional[Tuple[str, Tuple[int, ...]]]:
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

    def time_ms(self, function: str, *args: int) -> Optional[Stat]:
        """Median (± stddev) of the reported time — the manual (CUDA event) time for
        UseManualTime cases, real time for UseRealTime ones — in milliseconds."""
        runs = self.aggregates.get((function, tuple(args)), {})
        median, spread = runs.get("median"), runs.get("stddev")
        if median is None:
            return None
        unit = TIME_UNITS_MS.get(median.get("time_unit", "ns"))
        value = finite(median.get("real_time"))
        if unit is None or value is None or value <= 0:
            return None
        deviation = finite(spread.get("real_time")) if spread else None
        return Stat(value * unit, None if deviation is None else deviation * unit)

    def counter(self, function: str, name: str, *args: int) -> Optional[Stat]:
        runs = self.aggregates.get((function, tuple(args)), {})
        median, spread = runs.get("median"), runs.get("stddev")
        value = finite(median.get(name)) if median else None
        if value is None:
            return None
        return Stat(value, finite(spread.get(name)) if spread else None)


def median_of(stat: Optional[Stat]) -> Optional[float]:
    return None if stat is None else stat.median


# --------------------------------------------------------------------------------------
# The machine and the commands
# --------------------------------------------------------------------------------------


def machine_facts(machine: Optional[str], summary: Optional[str], cuda: BenchmarkResults,
                  cpu: BenchmarkResults, torch_env: Dict[str, Any]) -> Dict[str, Optional[str]]:
    facts: Dict[str, Optional[str]] = {key: None for key in (
        "gpu", "gpu_memory", "driver", "cuda_driver", "nvcc", "date", "cmake", "python")}
    if summary:
        first = summary.strip().splitlines()[0]
        # nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        match = re.fullmatch(r"\s*(.+?),\s*(\d+(?:\.\d+)+),\s*(\d+\s*MiB)\s*", first)
        if match:
            facts["gpu"], facts["driver"], facts["gpu_memory"] = match.groups()
    if machine:
        lines = machine.splitlines()
        match = re.search(r"Driver Version:\s*(\S+)", machine)
        if match and not facts["driver"]:
            facts["driver"] = match.group(1)
        match = re.search(r"CUDA Version:\s*(\S+)", machine)
        if match:
            facts["cuda_driver"] = match.group(1)
        match = re.search(r"release (\d+\.\d+), V(\S+)", machine)
        if match:
            facts["nvcc"] = f"{match.group(1)} (V{match.group(2)})"
        match = re.search(r"^\|\s+0\s+(.+?)\s+(?:On|Off)\s+\|", machine, re.MULTILINE)
        if match and not facts["gpu"]:
            facts["gpu"] = match.group(1)
        match = re.search(r"(\d+)MiB\s*/\s*(\d+)MiB", machine)
        if match and not facts["gpu_memory"]:
            facts["gpu_memory"] = f"{match.group(2)} MiB"
        match = re.search(r"^cmake version (\S+)", machine, re.MULTILINE)
        facts["cmake"] = match.group(1) if match else None
        match = re.search(r"^Python (\S+)", machine, re.MULTILINE)
        facts["python"] = match.group(1) if match else None
        if lines:
            try:  # `date -u`: "Tue Nov 25 09:12:34 UTC 2026"
                stamp = datetime.datetime.strptime(lines[0].strip().replace(" UTC ", " "), "%a %b %d %H:%M:%S %Y")
                facts["date"] = stamp.date().isoformat()
            except ValueError:
                pass
    facts["gpu"] = facts["gpu"] or torch_env.get("gpu")
    facts["driver"] = facts["driver"] or torch_env.get("driver")
    for source in (cuda.context.get("date"), cpu.context.get("date"), torch_env.get("date")):
        if not facts["date"] and isinstance(source, str) and re.match(r"\d{4}-\d{2}-\d{2}", source):
            facts["date"] = source[:10]
    return facts


def session_commands(script: Path = SESSION_SCRIPT) -> Dict[str, List[Tuple[str, str]]]:
    """{phase: [(output file, command)]} for the timed runs of gpu_session.sh's phases, read
    from the script itself (continuation lines joined, "$out" written as $OUT)."""
    try:
        text = script.read_text(encoding="utf-8")
    except OSError:
        return {}
    phases: Dict[str, List[Tuple[str, str]]] = {}
    phase = None
    for line in text.replace("\\\n", " ").splitlines():
        match = re.match(r"\s*if wants (\w+); then", line)
        if match:
            phase = match.group(1)
            continue
        match = re.match(r'\s*(?:[A-Z_]+="[^"]*"\s+)*run_logged\s+\d+\s+"\$out/([^"]+)"\s+(.*)', line)
        if match and phase:
            command = re.sub(r"\s+", " ", match.group(2)).strip()
            command = re.sub(r'"\$out/([^"]*)"', r"$OUT/\1", command)
            phases.setdefault(phase, []).append((match.group(1), command))
    return phases


def phases_done(summary: Optional[str]) -> Optional[str]:
    match = re.findall(r"^phases (.+) done in (\d+) s", summary or "", re.MULTILINE)
    return None if not match else "; ".join(f"{p} ({s} s)" for p, s in match)


def header(facts: Dict[str, Optional[str]], date: Optional[str], torch_env: Dict[str, Any],
           cpu: BenchmarkResults, summary: Optional[str]) -> List[str]:
    gpu = facts["gpu"] or NOT_RECORDED
    lines = [f"# CUDA backend on {facts['gpu'] or 'the GPU machine'}: stages, ceilings and the issue's targets", ""]
    lines.append(f"- Date: {date or NOT_RECORDED}")
    parts = [gpu]
    if facts["gpu_memory"]:
        parts.append(facts["gpu_memory"])
    lines.append(f"- GPU: {', '.join(parts)}; driver {facts['driver'] or NOT_RECORDED}, "
                 f"which supports CUDA {facts['cuda_driver'] or NOT_RECORDED} (nvidia-smi)")
    lines.append(f"- CUDA toolkit: nvcc {facts['nvcc'] or NOT_RECORDED}; build `build-sm90/` (Release, "
                 f"sm_90){'; CMake ' + facts['cmake'] if facts['cmake'] else ''}")
    if cpu.context:
        lines.append(f"- Host CPU (Google Benchmark's context): {cpu.context.get('num_cpus', '?')} CPUs at "
                     f"{cpu.context.get('mhz_per_cpu', '?')} MHz")
    if torch_env:
        lines.append(f"- PyTorch {torch_env.get('torch', '?')} (CUDA {torch_env.get('torch_cuda', '?')}, "
                     f"linear algebra {torch_env.get('torch_linalg_library', '?')}); Python "
                     f"{torch_env.get('python', '?')}; alphareq {torch_env.get('alphareq') or 'not used'}")
    done = phases_done(summary)
    lines.append("- Session: `bash scripts/gpu_session.sh PHASE...` on the device, outputs in `$OUT`; phases done: "
                 + (done or f"{NOT_RECORDED} (no summary.txt line)") + "; the commands of phases bench, torch and table1:")
    commands = session_commands()
    for phase in ("bench", "torch", "table1"):
        for output, command in commands.get(phase, []):
            lines.append(f"  - {phase}: `{command}` (log `{output}`)")
    lines += ["", "Measured, not copied: every number below was measured in this run and read from its "
              "output files by `bench/summarise_gpu_run.py`; none is carried over from another machine, "
              "size or run. Google Benchmark numbers are the \"median\" aggregate of the repetitions ± their "
              "\"stddev\" aggregate (CUDA cases: manual time, CUDA events); the PyTorch scripts' are the "
              "median (min–max) of their repeats. A number the run did not produce reads "
              f"\"{NOT_MEASURED}\".", ""]
    return lines


# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------


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
    key: str
    title: str
    target_text: str
    render: Callable[[Optional[float]], str]
    header: List[str]
    checks: List[Check] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def counted(self) -> List[Check]:
        return [check for check in self.checks if not check.info]

    def verdict(self) -> str:
        measured = [check for check in self.counted() if check.passes() is not None]
        if not measured:
            return NOT_MEASURED
        return "PASS" if all(check.passes() for check in measured) else "MISS"

    def glance(self) -> str:
        """The least favourable measured row, and how many rows were measured."""
        counted = self.counted()
        measured = [check for check in counted if check.passes() is not None]
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


def accumulation_target(cuda: BenchmarkResults) -> Target:
    target = Target(
        "a", "Accumulation rate against the cuBLAS FP32 GEMM ceiling",
        f"accumulation ≥ {100 * ACCUMULATION_FRACTION:g} % of the cuBLAS FP32 GEMM rate "
        f"for D ≥ {ACCUMULATION_MIN_D:,}",
        percent,
        ["what", "n × D", "precision", "ms", "TFLOP/s", f"GEMM ceiling ({GEMM_CEILING_ROWS:,} × D) ms",
         "GEMM TFLOP/s", "fraction of GEMM"])

    def gemm(d: int, code: int) -> Tuple[Optional[Stat], Optional[float]]:
        stat = cuda.time_ms("BM_CublasGemmCeiling", GEMM_CEILING_ROWS, d, code)
        return stat, flop_rate(GEMM_CEILING_ROWS, d, median_of(stat))

    for n, d in STAGE_SIZES:
        if d < ACCUMULATION_MIN_D:
            continue
        for code in (1, 2):
            accumulate = cuda.counter("BM_CudaPipelineDeviceResident", "accumulate_ms", n, d, code)
            rate = flop_rate(n, d, median_of(accumulate))
            ceiling, ceiling_rate = gemm(d, code)
            label = f"{size(n, d)} {PRECISIONS[code]}"
            fraction = divide(rate, ceiling_rate)
            target.checks.append(Check(label, fraction, ACCUMULATION_FRACTION, True, [
                "pipeline accumulation", size(n, d), PRECISIONS[code],
                accumulate.text() if accumulate else NOT_MEASURED, num(tera(rate)),
                ceiling.text() if ceiling else NOT_MEASURED, num(tera(ceiling_rate)), percent(fraction)],
                info=code != 1))
    for d in PRODUCT_SIZES:
        if d < ACCUMULATION_MIN_D:
            continue
        routine = DEFAULT_PRODUCT["float32"]
        product = cuda.time_ms("BM_CudaProductRoutine", PRODUCT_ROWS, d, 1, int(routine == "gemm"))
        rate = flop_rate(PRODUCT_ROWS, d, median_of(product))
        ceiling, ceiling_rate = gemm(d, 1)
        fraction = divide(rate, ceiling_rate)
        target.checks.append(Check(f"product D = {d:,}", fraction, ACCUMULATION_FRACTION, True, [
            f"batch product alone ({routine.upper()})", size(PRODUCT_ROWS, d), "float32",
            product.text() if product else NOT_MEASURED, num(tera(rate)),
            ceiling.text() if ceiling else NOT_MEASURED, num(tera(ceiling_rate)), percent(fraction)],
            info=True))
    target.notes = [
        "FLOP convention, the same for both sides: forming XᵀX of n × D features counts 2·n·D² flops, "
        "what a GEMM executes for the full D × D product (BM_CublasGemmCeiling's own counter). The "
        "accumulation rate is 2·n·D² / `accumulate_ms` (BM_CudaPipelineDeviceResident's counter: "
        "the library's CUDA-event time of the accumulation stage, centring included), the ceiling's "
        "2·16,384·D² / its median time; with one count for both, the fraction is the ratio of rows "
        "per second and does not depend on which count is used. The benchmarks' own counters mix "
        "two counts — `accumulate_TFLOP/s` and BM_CudaProductRoutine's `TFLOP/s` count n·D·(D+1) "
        "(the triangle SYRK forms), BM_CublasGemmCeiling's `TFLOP/s` 2·n·D² — so dividing them "
        "directly would halve the fraction; they are not used here. Counting each routine's executed "
        "flops instead (n·D·(D+1) for SYRK) would also halve it for a SYRK accumulation: that is "
        "per-flop efficiency, not the rate at which the covariance is formed.",
        "",
        "Verdict rows: float32 accumulation (SSYRK) against the FP32 ceiling (`CUBLAS_COMPUTE_32F`). "
        "\"info\" rows: TF32 accumulation against the TF32 ceiling, and the float32 batch product "
        "alone (BM_CudaProductRoutine, the default routine, n = 16,384, ceiling of the same n). "
        "The ceiling is registered for D = 2,048 and 4,096 (float32) and 2,048 (TF32) only; other "
        "D are not measured rather than compared with another D's ceiling.",
    ]
    return target


def flop_rate(n: int, d: int, ms: Optional[float]) -> Optional[float]:
    """flop/s of forming XᵀX, counted 2·n·D² (see accumulation_target's note)."""
    return None if ms is None or ms <= 0 else 2.0 * n * d * d / (ms * 1e-3)


def tera(rate: Optional[float]) -> Optional[float]:
    return None if rate is None else rate * 1e-12


def syevd_target(cuda: BenchmarkResults) -> Target:
    target = Target(
        "b", "End to end on device-resident features against the bare eigensolver",
        f"α end to end (BM_CudaPipelineDeviceResident) ≤ {SYEVD_FACTOR:g}× the `cusolverDnXsyevd` "
        "call alone (BM_CusolverSyevdAlone, float64, no eigenvectors) for the same D",
        ratio, ["n × D", "precision", "end to end ms", "syevd alone ms", "end to end / syevd"])
    for n, d in STAGE_SIZES:
        syevd = cuda.time_ms("BM_CusolverSyevdAlone", d)
        for code, name in PRECISIONS.items():
            total = cuda.time_ms("BM_CudaPipelineDeviceResident", n, d, code)
            value = divide(median_of(total), median_of(syevd))
            target.checks.append(Check(f"{size(n, d)} {name}", value, SYEVD_FACTOR, False, [
                size(n, d), name, total.text() if total else NOT_MEASURED,
                syevd.text() if syevd else NOT_MEASURED, ratio(value)]))
    target.notes = ["The pipeline solves in float64 at every accumulation precision "
                    "(AccumulatorOptions' default solver), as the bare call does."]
    return target


def torch_records(torch_pipeline: Optional[dict]) -> List[dict]:
    records = (torch_pipeline or {}).get("results", []) or []
    return [r for r in records if isinstance(r, dict) and "n" in r and "d" in r]


def torch_total(side: Optional[dict]) -> Tuple[Optional[float], str]:
    """(median ms, "median (min–max)") of a torch_pipeline record side's end-to-end time."""
    total = ((side or {}).get("stages_ms") or {}).get("total")
    if not isinstance(total, dict) or finite(total.get("median")) is None:
        return None, NOT_MEASURED
    median = finite(total["median"])
    low, high = finite(total.get("min")), finite(total.get("max"))
    if low is None or high is None:
        return median, num(median)
    return median, f"{num(median)} ({num(low)}–{num(high)})"


def torch_target(torch_pipeline: Optional[dict]) -> Target:
    target = Target(
        "c", "Against the PyTorch pipeline at equal precision",
        "alphareq.alpha faster than centre + XᵀX + `torch.linalg.eigvalsh` + fit in PyTorch at the same "
        f"precision (torch / alphareq > {TORCH_FACTOR:g}×, medians)",
        ratio, ["n × D", "precision", "features", "PyTorch ms, median (min–max)",
                "alphareq ms, median (min–max)", "torch / alphareq"])
    records = torch_records(torch_pipeline)
    precisions = ((torch_pipeline or {}).get("settings") or {}).get("precisions") or ["float64", "float32"]
    # gpu_session.sh runs both paths; a path the run lacks reads "not measured".
    paths = sorted({r.get("path", "device") for r in records} | {"device", "host"}, key=lambda p: p != "device")
    for n, d in STAGE_SIZES:
        for precision in precisions:
            for path in paths:
                record = next((r for r in records if (r["n"], r["d"], r.get("precision"), r.get("path")) ==
                               (n, d, precision, path)), None)
                torch_ms, torch_text = torch_total((record or {}).get("torch"))
                ours_ms, ours_text = torch_total((record or {}).get("alphareq"))
                value = divide(torch_ms, ours_ms)
                target.checks.append(Check(f"{size(n, d)} {precision} {path}", value, TORCH_FACTOR, True,
                                           [size(n, d), precision, path, torch_text, ours_text, ratio(value)],
                                           strict=True))
    note = ((torch_pipeline or {}).get("environment") or {}).get("alphareq_note")
    target.notes = ["\"device\": features already in device memory; \"host\": the same features in "
                    "pinned host memory, the transfer included on both sides (the copy stage is in "
                    "\"Host → device copies\" below). PyTorch float32 solves in float32, as alphareq's "
                    "float32 row does (solver=\"float32\"). Ratio above 1: alphareq is faster."]
    if note:
        target.notes.append(f"torch_pipeline.py said: {note}")
    return target


def cpu_target(cuda: BenchmarkResults, cpu: BenchmarkResults) -> Target:
    target = Target(
        "d", "Against the CPU backend on the same machine",
        f"CUDA end to end ≥ {CPU_FACTOR:g}× faster than the CPU backend's (BM_ComputeAlphaEndToEnd, "
        "features in host memory) at the same size and precision",
        ratio, ["n × D", "precision", "CPU end to end ms", "GPU end to end ms", "CPU / GPU"])
    for n, d in STAGE_SIZES:
        for name in ("float64", "float32"):
            cpu_total = cpu_end_to_end(cpu, n, d, name)
            gpu_total = cuda.time_ms("BM_CudaPipelineDeviceResident", n, d, PRECISION_CODES[name])
            value = divide(median_of(cpu_total), median_of(gpu_total))
            target.checks.append(Check(f"{size(n, d)} {name}", value, CPU_FACTOR, True, [
                size(n, d), name, cpu_total.text() if cpu_total else NOT_MEASURED,
                gpu_total.text() if gpu_total else NOT_MEASURED, ratio(value)]))
    target.notes = ["bench_cpu_backend registers BM_ComputeAlphaEndToEnd for 10,000 × 2,048 with the "
                    "default float64 accumulation only; the float32 rows would come from a "
                    "BM_ComputeAlphaEndToEndFloat32 it does not register. The GPU side "
                    "reads device-resident features; the CPU side host memory, where its features live. "
                    "Per-stage CPU/GPU ratios are in the CPU table above."]
    return target


def cpu_end_to_end(cpu: BenchmarkResults, n: int, d: int, precision: str) -> Optional[Stat]:
    # BM_ComputeAlphaEndToEnd uses AlphaOptions' default: float64 accumulation and solver.
    # BM_ComputeAlphaEndToEndFloat32 (float32 accumulation) is not registered yet; read it
    # if a later bench_cpu_backend adds it, named as BM_AccumulateFloat32 is.
    function = "BM_ComputeAlphaEndToEnd" if precision == "float64" else "BM_ComputeAlphaEndToEndFloat32"
    return cpu.time_ms(function, n, d)


def stream_target(cuda: BenchmarkResults) -> Target:
    n, d = IMAGENET
    target = Target(
        "e", "ImageNet-sized features streamed from host memory",
        f"host memory → α (BM_CudaStreamFromHost, {size(n, d)} float32, {n * d * 4e-9:.1f} GB) "
        f"≤ {STREAM_FACTOR:g}× "
        "one `cudaMemcpy` of the same bytes (BM_BareHostToDeviceCopy) from the same kind of host memory",
        ratio, ["host memory", "stream → α ms", "bare copy ms", "bare copy GB/s", "stream / copy"])
    for locked, name in ((0, "pageable"), (1, "page-locked")):
        stream = cuda.time_ms("BM_CudaStreamFromHost", n, d, locked)
        copy = cuda.time_ms("BM_BareHostToDeviceCopy", n, d, locked)
        bandwidth = cuda.counter("BM_BareHostToDeviceCopy", "GB/s", n, d, locked)
        value = divide(median_of(stream), median_of(copy))
        target.checks.append(Check(name, value, STREAM_FACTOR, False, [
            name, stream.text() if stream else NOT_MEASURED, copy.text() if copy else NOT_MEASURED,
            bandwidth.text() if bandwidth else NOT_MEASURED, ratio(value)]))
    target.notes = ["Both run 3 iterations per repetition (`Iterations(3)`); the stream includes the "
                    "accumulator's set-up, the eigenvalues and the fit."]
    return target


@dataclass
class Table1Row:
    dataset: str
    unit: str
    cells: Dict[str, str]
    gain: Optional[float]
    paper_gain: Optional[float]


def parse_gain(text: str) -> Optional[float]:
    """"~47.8x", "~1.23e+03x" (table1 prints %.3g) → the number."""
    match = re.search(r"~?\s*([0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)\s*x", text.strip())
    return finite(float(match.group(1))) if match else None


def parse_table1(text: Optional[str]) -> Dict[str, Table1Row]:
    """Rows of `alphareq table1`'s Markdown table, by dataset."""
    rows: Dict[str, Table1Row] = {}
    columns: List[str] = []
    for line in (text or "").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if any("perf. gains" in cell for cell in cells):
            columns = cells
            continue
        if not columns or len(cells) != len(columns) or set(cells[0]) <= set("-: "):
            continue
        match = re.match(r"(\w+)\s*\((\w+)\)", cells[0])
        if not match:
            continue
        by_name = dict(zip(columns, cells))
        paper = next((value for key, value in by_name.items() if key.startswith("paper")), "")
        rows[match.group(1)] = Table1Row(match.group(1), match.group(2), by_name,
                                         parse_gain(by_name.get("perf. gains", "")),
                                         parse_gain(paper.split("/")[-1]) if paper else None)
    return rows


def table1_target(table1_cuda: Optional[str]) -> Target:
    target = Target(
        "f", "Table 1: time to α against a linear probe",
        f"α/probe speed-up (`perf. gains`, probe / α in memory) ≥ {PAPER_GAIN_FACTOR:g}× the paper's "
        "(~16× for CIFAR10 and STL10, ~15× for ImageNet)",
        ratio, ["dataset", "α, in memory", "linear probe", "perf. gains", "paper's gains", "target"])
    rows = parse_table1(table1_cuda)
    for dataset in TABLE1_DATASETS:
        row = rows.get(dataset)
        cells = row.cells if row else {}
        limit = PAPER_GAIN_FACTOR * row.paper_gain if row and row.paper_gain else None
        unit = f" {row.unit}" if row else ""
        target.checks.append(Check(dataset, row.gain if row and limit else None, limit or 0.0, True, [
            dataset, cells.get("w/ alpha, in memory", NOT_MEASURED) + (unit if row else ""),
            cells.get("w/ linear probe", NOT_MEASURED) + (unit if row else ""),
            ratio(row.gain if row else None), ratio(row.paper_gain if row else None),
            f"≥ {ratio(limit)}" if limit else NOT_MEASURED]))
    target.notes = ["From `table1_cuda.md` (the tool's own medians ± half-range; the gains column is "
                    "computed by the tool from unrounded medians)."]
    return target


def product_cases(cuda: BenchmarkResults) -> List[Tuple[int, str, Optional[Stat], Optional[Stat], Optional[str]]]:
    """(D, precision, SYRK time, GEMM time, the faster routine or None) for every case
    bench_cuda_backend registers."""
    cases = []
    for d in PRODUCT_SIZES:
        for code, name in PRECISIONS.items():
            syrk = cuda.time_ms("BM_CudaProductRoutine", PRODUCT_ROWS, d, code, 0)
            gemm = cuda.time_ms("BM_CudaProductRoutine", PRODUCT_ROWS, d, code, 1)
            faster = None if syrk is None or gemm is None else ("syrk" if syrk.median < gemm.median else "gemm")
            cases.append((d, name, syrk, gemm, faster))
    return cases


def product_table(cuda: BenchmarkResults) -> List[str]:
    """(g): SYRK against GEMM per D and precision, and whether the default is the faster."""
    rows = []
    for d, name, syrk, gemm, faster in product_cases(cuda):
        default, agrees = DEFAULT_PRODUCT[name], NOT_MEASURED
        if syrk and gemm and faster:
            close = abs(syrk.median - gemm.median) <= (syrk.stddev or 0.0) + (gemm.stddev or 0.0)
            agrees = ("yes" if faster == default else f"no: {faster} is faster") + \
                     (" (within the spread)" if close else "")
        rows.append([f"{d:,}", name, syrk.text() if syrk else NOT_MEASURED, gemm.text() if gemm else NOT_MEASURED,
                     ratio(divide(median_of(gemm), median_of(syrk))), faster or NOT_MEASURED, default, agrees])
    return ["### (g) SYRK or GEMM for each batch's product", "",
            f"BM_CudaProductRoutine: one batch of {PRODUCT_ROWS:,} × D float32 features added to a warm "
            "accumulator (`ALPHAREQ_CUDA_PRODUCT=syrk|gemm`), CUDA-event time. The default is the "
            "library's choice without the variable (src/cuda/cuda_accumulator.cpp: GEMM for TF32, SYRK "
            "otherwise). \"within the spread\": the medians differ by less than the sum of their "
            "standard deviations.", "",
            markdown_table(["D", "precision", "SYRK ms", "GEMM ms", "GEMM / SYRK", "faster", "default now",
                            "default is the faster?"], rows), ""]


def product_glance(cuda: BenchmarkResults) -> str:
    measured = [(d, name, faster) for d, name, _, _, faster in product_cases(cuda) if faster]
    wrong = [f"{name} D = {d:,} ({faster})" for d, name, faster in measured if faster != DEFAULT_PRODUCT[name]]
    if not measured:
        return NOT_MEASURED
    if not wrong:
        return f"the default is the faster in all {len(measured)} measured cases"
    return f"the other routine is faster in {len(wrong)} of {len(measured)}: " + ", ".join(wrong)


# --------------------------------------------------------------------------------------
# Stage tables
# --------------------------------------------------------------------------------------


def cuda_stage_table(cuda: BenchmarkResults) -> List[str]:
    rows = []
    for n, d in STAGE_SIZES:
        for code, name in PRECISIONS.items():
            def counter(key: str) -> str:
                stat = cuda.counter("BM_CudaPipelineDeviceResident", key, n, d, code)
                return stat.text() if stat else NOT_MEASURED
            accumulate = cuda.counter("BM_CudaPipelineDeviceResident", "accumulate_ms", n, d, code)
            total = cuda.time_ms("BM_CudaPipelineDeviceResident", n, d, code)
            alpha = cuda.counter("BM_CudaPipelineDeviceResident", "alpha", n, d, code)
            rows.append([size(n, d), name, counter("accumulate_ms"), counter("eigenvalues_ms"),
                         counter("fit_ms"), total.text() if total else NOT_MEASURED,
                         num(tera(flop_rate(n, d, median_of(accumulate)))),
                         NOT_MEASURED if alpha is None else f"{alpha.median:.4f}"])
    return ["## CUDA stages, device-resident features (bench_cuda_backend)", "",
            "BM_CudaPipelineDeviceResident: float32 features already in device memory → α; the stages "
            "are the library's own CUDA-event timings (counters `accumulate_ms`, `eigenvalues_ms`, "
            "`fit_ms` of the last iteration of each repetition), end to end is the benchmark's manual "
            "time (accumulator construction outside it). No copy: the features are on the device (the "
            "copy from host memory is in targets (c) and (e)). Accumulation TFLOP/s counts 2·n·D² "
            "(target (a)). The eigensolver is float64 at every precision.", "",
            markdown_table(["n × D", "precision", "accumulation ms", "eigenvalues ms", "fit ms",
                           "end to end ms", "accumulation TFLOP/s", "α"], rows), ""]


def cpu_stage_table(cuda: BenchmarkResults, cpu: BenchmarkResults) -> List[str]:
    rows = []
    for n, d in STAGE_SIZES:
        for name in ("float64", "float32"):
            code = PRECISION_CODES[name]
            function = "BM_AccumulateFloat64" if name == "float64" else "BM_AccumulateFloat32"
            cpu_stages = [cpu.time_ms(function, n, d), cpu.time_ms("BM_Eigenvalues", d),
                          cpu.time_ms("BM_Fit", d), cpu_end_to_end(cpu, n, d, name)]
            gpu_stages = [cuda.counter("BM_CudaPipelineDeviceResident", key, n, d, code)
                          for key in ("accumulate_ms", "eigenvalues_ms", "fit_ms")]
            gpu_stages.append(cuda.time_ms("BM_CudaPipelineDeviceResident", n, d, code))
            cells = [size(n, d), name] + [s.text() if s else NOT_MEASURED for s in cpu_stages]
            cells += [ratio(divide(median_of(c), median_of(g))) for c, g in zip(cpu_stages, gpu_stages)]
            rows.append(cells)
    return ["## CPU backend on the same machine (bench_cpu_backend), and CPU / GPU", "",
            "Same sizes and precisions as the CUDA table where bench_cpu_backend registers them: "
            "accumulation BM_AccumulateFloat64/Float32 (n, D); eigenvalues BM_Eigenvalues/D (a D × D "
            "covariance of 2·D rows, float64 `dsyevd`, so one value serves every n of that D); fit "
            "BM_Fit/D; end to end BM_ComputeAlphaEndToEnd (n, D), float64 (and BM_ComputeAlphaEndToEndFloat32 "
            "where registered). Real time, host "
            "memory. Ratios divide CPU by GPU medians (above 1: the GPU is faster).", "",
            markdown_table(["n × D", "precision", "CPU accumulation ms", "CPU eigenvalues ms", "CPU fit ms",
                            "CPU end to end ms", "CPU / GPU accumulation", "CPU / GPU eigenvalues",
                            "CPU / GPU fit", "CPU / GPU end to end"], rows), ""]


def copy_table(torch_pipeline: Optional[dict]) -> List[str]:
    rows = []
    for record in torch_records(torch_pipeline):
        if record.get("path") != "host":
            continue
        transfer = ((record.get("torch") or {}).get("stages_ms") or {}).get("transfer") or {}
        _, torch_text = torch_total(record.get("torch"))
        _, ours_text = torch_total(record.get("alphareq"))
        rows.append([size(record["n"], record["d"]), str(record.get("precision")),
                     num(finite(transfer.get("median"))), torch_text, ours_text])
    if not rows:
        return []
    return ["### Host → device copies (torch_pipeline.py, pinned host features)", "",
            "PyTorch copies the features with `x.to(\"cuda\", non_blocking=True)` (its transfer stage), "
            "then computes; alphareq streams them through its pinned double buffers.", "",
            markdown_table(["n × D", "precision", "PyTorch copy ms", "PyTorch total ms, median (min–max)",
                            "alphareq total ms, median (min–max)"], rows), ""]


# --------------------------------------------------------------------------------------
# Table 1 and the probe
# --------------------------------------------------------------------------------------


def table1_section(name: str, text: Optional[str], status: str) -> List[str]:
    lines = [f"### {name}", ""]
    if text is None:
        return lines + [f"{NOT_MEASURED} ({name}: {status}).", ""]
    return lines + [text.strip(), ""]


def probe_section(torch_probe: Optional[dict], status: str) -> List[str]:
    lines = ["## Linear probe: PyTorch loop against `alphareq probe` (torch_probe.json)", ""]
    records = [r for r in (torch_probe or {}).get("results", []) or [] if isinstance(r, dict)]
    if not records:
        return lines + [f"{NOT_MEASURED} (torch_probe.json: {status}).", ""]
    rows, remarks = [], []
    for record in records:
        baseline, ours = record.get("torch") or {}, record.get("alphareq") or {}
        epoch = baseline.get("epoch_ms") or {}
        torch_rate, our_rate = finite(baseline.get("epochs_per_s")), finite(ours.get("epochs_per_s"))
        spread = (f"{num(finite(epoch.get('median')))} ({num(finite(epoch.get('min')))}–"
                  f"{num(finite(epoch.get('max')))})" if finite(epoch.get("median")) is not None else NOT_MEASURED)
        rows.append([str(record.get("dataset")), f"{record.get('train_rows', 0):,} / {record.get('test_rows', 0):,}",
                     str(baseline.get("epochs", NOT_MEASURED)), num(torch_rate), spread, num(our_rate),
                     ratio(divide(our_rate, torch_rate)), accuracy(baseline), accuracy(ours)])
        if "alphareq_error" in record:
            remarks.append(f"- {record.get('dataset')}: alphareq probe failed: {record['alphareq_error']}")
        elif "alphareq_command" in record:
            remarks.append(f"- {record.get('dataset')}: alphareq was not run (no executable); command: "
                           f"`{record['alphareq_command']}`")
    lines += ["epochs/s = epochs / training time. PyTorch: CUDA events per epoch after a warm-up epoch; "
              "alphareq: the tool's own mean epoch time, features already in device memory. Ratio above 1: "
              "alphareq trains faster.", "",
              markdown_table(["dataset", "train / test", "epochs", "PyTorch epochs/s",
                              "PyTorch epoch ms, median (min–max)", "alphareq epochs/s", "alphareq / PyTorch",
                              "PyTorch train / test acc. %", "alphareq train / test acc. %"], rows)]
    return lines + ([""] + remarks if remarks else []) + [""]


def accuracy(side: dict) -> str:
    train, test = finite(side.get("train_accuracy")), finite(side.get("test_accuracy"))
    if train is None or test is None:
        return NOT_MEASURED
    return f"{100 * train:.2f} / {100 * test:.2f}"


# --------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything read from OUTDIR."""

    status: Dict[str, str]
    machine: Optional[str]
    summary: Optional[str]
    cuda: BenchmarkResults
    cpu: BenchmarkResults
    torch_pipeline: Optional[dict]
    torch_probe: Optional[dict]
    table1_cuda: Optional[str]
    table1_cpu: Optional[str]


def read_run(outdir: Path) -> Run:
    status: Dict[str, str] = {}
    machine, status["machine.txt"] = read_text(outdir / "machine.txt")
    summary, status["summary.txt"] = read_text(outdir / "summary.txt")
    cuda_data, status["bench_cuda.json"] = read_json(outdir / "bench_cuda.json", salvage=True)
    cpu_data, status["bench_cpu.json"] = read_json(outdir / "bench_cpu.json", salvage=True)
    torch_pipeline, status["torch_pipeline.json"] = read_json(outdir / "torch_pipeline.json")
    torch_probe, status["torch_probe.json"] = read_json(outdir / "torch_probe.json")
    table1_cuda, status["table1_cuda.md"] = read_text(outdir / "table1_cuda.md")
    table1_cpu, status["table1_cpu.md"] = read_text(outdir / "table1_cpu.md")
    run = Run(status, machine, summary, BenchmarkResults(cuda_data), BenchmarkResults(cpu_data),
              torch_pipeline, torch_probe, table1_cuda, table1_cpu)
    for name, results in (("bench_cuda.json", run.cuda), ("bench_cpu.json", run.cpu)):
        if results.errors:
            status[name] += f"; {len(results.errors)} case(s) skipped with an error (no number taken from them)"
        elif status[name] == "read" and not results:
            status[name] += ", but it holds no median aggregate (run with --benchmark_repetitions ≥ 2)"
    return run


def skipped_cases(run: Run, shown: int = 6) -> List[str]:
    """Benchmark cases skipped with an error, grouped by message (a run without a device
    skips every CUDA case with the same one)."""
    lines = []
    for name, results in (("bench_cuda.json", run.cuda), ("bench_cpu.json", run.cpu)):
        by_message: Dict[str, List[str]] = {}
        for (function, args), message in results.errors.items():
            by_message.setdefault(message, []).append("/".join([function] + [str(a) for a in args]))
        for message, cases in by_message.items():
            more = f" and {len(cases) - shown} more" if len(cases) > shown else ""
            lines.append(f"- {name}: {len(cases)} case(s) skipped with `{message}`: "
                         + ", ".join(f"`{c}`" for c in cases[:shown]) + more)
    return (["Skipped cases (their numbers read \"not measured\"):", ""] + lines + [""]) if lines else []


def build_targets(run: Run) -> List[Target]:
    return [accumulation_target(run.cuda), syevd_target(run.cuda), torch_target(run.torch_pipeline),
            cpu_target(run.cuda, run.cpu), stream_target(run.cuda), table1_target(run.table1_cuda)]


def glance_table(targets: Sequence[Target], run: Run) -> str:
    rows = [[f"({t.key}) {t.title}", t.target_text, t.glance(), t.verdict()] for t in targets]
    rows.append(["(g) SYRK or GEMM for each batch's product", "the default is the faster routine",
                 product_glance(run.cuda), "decision"])
    return markdown_table(["target", "what", "measured (least favourable row)", "verdict"], rows)


def render(run: Run, date: Optional[str]) -> Tuple[str, List[Target], Dict[str, Optional[str]]]:
    torch_env = ((run.torch_pipeline or run.torch_probe or {}).get("environment") or {})
    facts = machine_facts(run.machine, run.summary, run.cuda, run.cpu, torch_env)
    targets = build_targets(run)
    lines = header(facts, date or facts["date"], torch_env, run.cpu, run.summary)
    lines += ["## Inputs", "", markdown_table(["file", "from", "status"],
                                               [[f"`{name}`", INPUTS[name], run.status[name]] for name in INPUTS]), ""]
    lines += skipped_cases(run)
    lines += ["## Targets at a glance", "", glance_table(targets, run), ""]
    lines += cuda_stage_table(run.cuda)
    lines += cpu_stage_table(run.cuda, run.cpu)
    lines += ["## Targets", ""]
    for target in targets:
        lines += target.markdown()
        if target.key == "c":
            lines += copy_table(run.torch_pipeline)
    lines += product_table(run.cuda)
    lines += ["## Table 1 as measured", ""]
    lines += table1_section("table1_cuda.md", run.table1_cuda, run.status["table1_cuda.md"])
    lines += table1_section("table1_cpu.md", run.table1_cpu, run.status["table1_cpu.md"])
    lines += probe_section(run.torch_probe, run.status["torch_probe.json"])
    lines += ["## Session log (summary.txt)", ""]
    lines += (["```", run.summary.rstrip(), "```"] if run.summary else [f"summary.txt: {run.status['summary.txt']}."])
    return "\n".join(lines).rstrip() + "\n", targets, facts


def readme_section(targets: Sequence[Target], run: Run, facts: Dict[str, Optional[str]], date: Optional[str],
                   results_file: Optional[str]) -> str:
    where = f"; full results, commands and machine: [{results_file}]({results_file})" if results_file else ""
    rows = [[f"({t.key}) {t.target_text}", t.glance(), t.verdict()] for t in targets]
    rows.append(["(g) SYRK or GEMM: the default is the faster routine", product_glance(run.cuda), "decision"])
    return "\n".join([
        "## Performance", "",
        f"Measured on {facts['gpu'] or 'the GPU machine'} (driver {facts['driver'] or NOT_RECORDED}, CUDA "
        f"{facts['cuda_driver'] or NOT_RECORDED}) on {date or facts['date'] or 'an unrecorded date'}{where}.", "",
        markdown_table(["target", "measured (least favourable row)", "verdict"], rows), ""])


def parse_arguments(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="the folder gpu_session.sh wrote ($OUT)")
    parser.add_argument("--date", help="the run's date, YYYY-MM-DD (default: from machine.txt or the JSON)")
    parser.add_argument("--output", type=Path, help="write the results file here (default: stdout)")
    parser.add_argument("--readme-section", type=Path,
                        help="also write a short README performance section here, linking --output")
    args = parser.parse_args(argv)
    if args.date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        parser.error(f"--date {args.date}: expected YYYY-MM-DD")
    if not args.outdir.is_dir():
        parser.error(f"{args.outdir}: not a folder")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    run = read_run(args.outdir)
    document, targets, facts = render(run, args.date)
    if args.output:
        args.output.write_text(document, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    if args.readme_section:
        link = None
        if args.output:
            try:
                link = args.output.resolve().relative_to(REPOSITORY).as_posix()
            except ValueError:
                link = str(args.output)
        args.readme_section.write_text(readme_section(targets, run, facts, args.date or facts["date"], link),
                                       encoding="utf-8")
        print(f"wrote {args.readme_section}", file=sys.stderr)
    missing = [name for name, status in run.status.items() if not status.startswith("read")]
    if missing:
        print("inputs not read as expected: " + ", ".join(f"{n} ({run.status[n]})" for n in missing), file=sys.stderr)
    for target in targets:
        print(f"({target.key}) {target.verdict()}: {target.glance()}", file=sys.stderr)
    print(f"(g) {product_glance(run.cuda)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
