"""The results file's header: the machine (from machine.txt, summary.txt and the JSON files'
own context), the date, and the commands the session ran, read from gpu_session.sh itself so
that they cannot drift from what it does.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from . import REPOSITORY
from .benchmark_json import BenchmarkResults
from .formatting import NOT_MEASURED, NOT_RECORDED

SESSION_SCRIPT = REPOSITORY / "scripts" / "gpu_session.sh"


def first_group(pattern: str, text: str, flags: int = 0) -> Optional[str]:
    match = re.search(pattern, text, flags)
    return match.group(1) if match else None


def date_u(line: str) -> Optional[str]:
    """`date -u`'s "Tue Nov 25 09:12:34 UTC 2026" → "2026-11-25"."""
    try:
        stamp = datetime.datetime.strptime(line.strip().replace(" UTC ", " "), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return stamp.date().isoformat()


def machine_facts(machine: Optional[str], summary: Optional[str], cuda: BenchmarkResults,
                  cpu: BenchmarkResults, torch_env: Dict[str, Any]) -> Dict[str, Optional[str]]:
    """The GPU, its memory, the driver, CUDA, nvcc, CMake, Python and the date; each from the
    most direct source that has it, None where none does."""
    facts: Dict[str, Optional[str]] = {key: None for key in (
        "gpu", "gpu_memory", "driver", "cuda_driver", "nvcc", "date", "cmake", "python")}
    if summary:
        first = summary.strip().splitlines()[0]
        # nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        match = re.fullmatch(r"\s*(.+?),\s*(\d+(?:\.\d+)+),\s*(\d+\s*MiB)\s*", first)
        if match:
            facts["gpu"], facts["driver"], facts["gpu_memory"] = match.groups()
    if machine:
        # nvidia-smi's table, where summary.txt's CSV line is missing (its name column is
        # truncated, so the CSV line comes first).
        facts["driver"] = facts["driver"] or first_group(r"Driver Version:\s*(\S+)", machine)
        facts["gpu"] = facts["gpu"] or first_group(r"^\|\s+0\s+(.+?)\s+(?:On|Off)\s+\|", machine, re.MULTILINE)
        total_mib = first_group(r"\d+MiB\s*/\s*(\d+)MiB", machine)
        if total_mib and not facts["gpu_memory"]:
            facts["gpu_memory"] = f"{total_mib} MiB"
        facts["cuda_driver"] = first_group(r"CUDA Version:\s*(\S+)", machine)
        nvcc = re.search(r"release (\d+\.\d+), V(\S+)", machine)
        if nvcc:
            facts["nvcc"] = f"{nvcc.group(1)} (V{nvcc.group(2)})"
        facts["cmake"] = first_group(r"^cmake version (\S+)", machine, re.MULTILINE)
        facts["python"] = first_group(r"^Python (\S+)", machine, re.MULTILINE)
        facts["date"] = date_u(machine.splitlines()[0])
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
        match = re.match(r"\s*phase_(\w+)\(\)\s*\{", line)  # phase_bench() {
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
                 + (done or f"{NOT_RECORDED} (no summary.txt line)") + "; the commands of phases bench, torch, "
                 "table1 and table1cpu:")
    commands = session_commands()
    for phase in ("bench", "torch", "table1", "table1cpu"):
        for output, command in commands.get(phase, []):
            lines.append(f"  - {phase}: `{command}` (log `{output}`)")
    lines += ["", "Measured, not copied: every number below was measured in this run and read from its "
              "output files by `bench/summarise_gpu_run.py`; none is carried over from another machine, "
              "size or run. Google Benchmark numbers are the \"median\" aggregate of the repetitions ± their "
              "\"stddev\" aggregate (CUDA cases: manual time, CUDA events); the PyTorch scripts' are the "
              "median (min–max) of their repeats. A number the run did not produce reads "
              f"\"{NOT_MEASURED}\".", ""]
    return lines
