"""Reading what gpu_session.sh leaves in $OUT. Every file may be missing, empty, unreadable
or cut off by a phase's time limit: each gets a status line for the Inputs table, and what
could not be read becomes None (every number from it then reads "not measured").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .benchmark_json import BenchmarkResults, salvage_benchmark_json
from .formatting import NOT_MEASURED, finite, num

# bench_cuda_backend runs once per group of cases (gpu_session.sh's phase bench): Google
# Benchmark 1.7 aborts the whole program when a case fails in only some of its
# repetitions, so one failure loses its own group's file, not every case after it.
CUDA_BENCH_GROUPS = {
    "bench_cuda_pipeline.json": "bench_cuda_backend, the stage table (phase bench)",
    "bench_cuda_product.json": "bench_cuda_backend, SYRK against GEMM (phase bench)",
    "bench_cuda_ceilings.json": "bench_cuda_backend, the GEMM and syevd ceilings (phase bench)",
    "bench_cuda_host.json": "bench_cuda_backend, host memory → α and the bare copy (phase bench)",
}
# One file for every case, as the phase wrote it before the groups (and the fixture is):
# read where present, beside or instead of the groups' files.
CUDA_BENCH_SINGLE = "bench_cuda.json"

INPUTS = {
    "machine.txt": "`date -u`, `nvidia-smi`, `nvcc --version` (every session)",
    "summary.txt": "gpu_session.sh's log, one line per step",
    **CUDA_BENCH_GROUPS,
    "bench_cpu.json": "bench_cpu_backend (phase bench)",
    "torch_pipeline.json": "bench/torch_pipeline.py (phase torch)",
    "torch_probe.json": "bench/torch_probe.py (phase torch)",
    "table1_cuda.md": "alphareq table1 --backend cuda (phase table1)",
    "table1_cpu.md": "alphareq table1 --backend cpu (phase table1cpu)",
}


def read_file(path: Path) -> Tuple[Optional[str], str]:
    """(text, "read"), or (None, why not)."""
    if not path.is_file():
        return None, "missing"
    try:
        return path.read_text(encoding="utf-8", errors="replace"), "read"
    except OSError as error:
        return None, f"unreadable ({error.strerror})"


def read_text(path: Path) -> Tuple[Optional[str], str]:
    text, status = read_file(path)
    if text is not None and not text.strip():
        return None, "empty"
    return text, status


def read_json(path: Path, salvage: bool = False) -> Tuple[Optional[dict], str]:
    """(data, status line) for the Inputs table. `salvage`: a Google Benchmark file cut off
    mid-run keeps its complete entries."""
    text, status = read_file(path)
    if text is None:
        return None, status
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if salvage:
            data, kept = salvage_benchmark_json(text)
            if data is not None:
                # A time limit cuts a run off, and so does Google Benchmark 1.7 aborting when a
                # case fails in only some of its repetitions: the phase's log says which.
                return data, (f"truncated (the run was cut off by its time limit or aborted: see "
                              f"its log): read the {kept} complete entries before the cut")
        return None, f"unreadable: not valid JSON ({error.msg} at line {error.lineno})"
    if not isinstance(data, dict):
        return None, "unreadable: not a JSON object"
    return data, "read"


def merge_benchmark_data(files: List[Optional[dict]]) -> Optional[dict]:
    """Several Google Benchmark files as one: the first context, every entry in order."""
    present = [data for data in files if data is not None]
    if not present:
        return None
    context = next((data["context"] for data in present if isinstance(data.get("context"), dict)), {})
    entries = [entry for data in present for entry in (data.get("benchmarks") or [])
               if isinstance(data.get("benchmarks"), list)]
    return {"context": context, "benchmarks": entries}


def cuda_benchmark_names(outdir: Path) -> List[str]:
    """The CUDA benchmark files to read and list: the groups' (each listed, a missing one
    as missing), and the single file where present; the single file alone when the run
    has only that one (a run from before the groups, or the fixture)."""
    groups = list(CUDA_BENCH_GROUPS)
    single = (outdir / CUDA_BENCH_SINGLE).is_file()
    if single and not any((outdir / name).is_file() for name in groups):
        return [CUDA_BENCH_SINGLE]
    return groups + ([CUDA_BENCH_SINGLE] if single else [])


@dataclass
class Run:
    """Everything read from OUTDIR."""

    status: Dict[str, str]  # file name → status line, in the order of the Inputs table
    machine: Optional[str]
    summary: Optional[str]
    cuda: BenchmarkResults  # every CUDA benchmark file's entries together
    cpu: BenchmarkResults
    torch_pipeline: Optional[dict]
    torch_probe: Optional[dict]
    table1_cuda: Optional[str]
    table1_cpu: Optional[str]
    calls: List[str] = field(default_factory=list)  # where the files came from (gather.py)
    # Each benchmark file on its own (file name, its results), for its status and its
    # skipped cases.
    benchmark_files: List[Tuple[str, BenchmarkResults]] = field(default_factory=list)

    def torch_environment(self) -> Dict[str, Any]:
        """PyTorch's, Python's and the GPU's versions as either PyTorch script recorded them."""
        return (self.torch_pipeline or self.torch_probe or {}).get("environment") or {}


def read_run(outdir: Path) -> Run:
    status: Dict[str, str] = {}
    machine, status["machine.txt"] = read_text(outdir / "machine.txt")
    summary, status["summary.txt"] = read_text(outdir / "summary.txt")
    cuda_files = []
    for name in cuda_benchmark_names(outdir):
        data, status[name] = read_json(outdir / name, salvage=True)
        cuda_files.append((name, data))
    cpu_data, status["bench_cpu.json"] = read_json(outdir / "bench_cpu.json", salvage=True)
    torch_pipeline, status["torch_pipeline.json"] = read_json(outdir / "torch_pipeline.json")
    torch_probe, status["torch_probe.json"] = read_json(outdir / "torch_probe.json")
    table1_cuda, status["table1_cuda.md"] = read_text(outdir / "table1_cuda.md")
    table1_cpu, status["table1_cpu.md"] = read_text(outdir / "table1_cpu.md")
    cuda_data = merge_benchmark_data([data for _, data in cuda_files])
    run = Run(status, machine, summary, BenchmarkResults(cuda_data), BenchmarkResults(cpu_data),
              torch_pipeline, torch_probe, table1_cuda, table1_cpu)
    run.benchmark_files = [(name, BenchmarkResults(data)) for name, data in cuda_files]
    run.benchmark_files.append(("bench_cpu.json", run.cpu))
    for name, results in run.benchmark_files:
        if results.errors:
            status[name] += f"; {len(results.errors)} case(s) skipped with an error (no number taken from them)"
        elif status[name] == "read" and not results:
            status[name] += ", but it holds no median aggregate (run with --benchmark_repetitions ≥ 2)"
    return run


# --- torch_pipeline.json -----------------------------------------------------------------


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


# --- table1_*.md -------------------------------------------------------------------------


@dataclass
class Table1Row:
    dataset: str
    unit: str
    cells: Dict[str, str]  # column heading → cell
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
