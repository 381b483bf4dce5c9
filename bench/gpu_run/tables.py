"""The results file's sections other than the targets: the inputs and the cases skipped, the
CUDA and CPU stage tables, the host → device copies, Table 1 and the probe as measured.
Each returns its lines, ending with a blank one.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from .benchmark_json import BenchmarkResults, median_of, stat_text
from .cases import (CPU_PRECISIONS, PIPELINE, PRECISION_CODES, PRECISIONS, STAGE_SIZES, cpu_accumulation,
                    cpu_end_to_end, flop_rate, tera)
from .formatting import NOT_MEASURED, divide, finite, markdown_table, num, ratio, size
from .inputs import CUDA_BENCH_SINGLE, INPUTS, Run, torch_records, torch_total


def inputs_section(run: Run) -> List[str]:
    described = {**INPUTS, CUDA_BENCH_SINGLE: "bench_cuda_backend, every case in one file (phase bench)"}
    lines = ["## Inputs", "", markdown_table(["file", "from", "status"],
                                             [[f"`{name}`", described[name], status]
                                              for name, status in run.status.items()]), ""]
    if run.calls:
        lines += ["Gathered from the device tool's calls, in this order:", ""]
        lines += [f"- {call}" for call in run.calls] + [""]
    return lines


def skipped_cases(run: Run, shown: int = 6) -> List[str]:
    """Benchmark cases skipped with an error, grouped by message (a run without a device
    skips every CUDA case with the same one)."""
    lines = []
    for name, results in run.benchmark_files:
        by_message: Dict[str, List[str]] = {}
        for (function, args), message in results.errors.items():
            by_message.setdefault(message, []).append("/".join([function] + [str(a) for a in args]))
        for message, cases in by_message.items():
            more = f" and {len(cases) - shown} more" if len(cases) > shown else ""
            lines.append(f"- {name}: {len(cases)} case(s) skipped with `{message}`: "
                         + ", ".join(f"`{c}`" for c in cases[:shown]) + more)
    return (["Skipped cases (their numbers read \"not measured\"):", ""] + lines + [""]) if lines else []


def cuda_stage_table(cuda: BenchmarkResults) -> List[str]:
    rows = []
    for n, d in STAGE_SIZES:
        for code, name in PRECISIONS.items():
            setup, accumulate, eigenvalues, fit, alpha = (cuda.counter(PIPELINE, key, n, d, code) for key in (
                "setup_ms", "accumulate_ms", "eigenvalues_ms", "fit_ms", "alpha"))
            rows.append([size(n, d), name, stat_text(setup), stat_text(accumulate), stat_text(eigenvalues),
                         stat_text(fit), stat_text(cuda.time_ms(PIPELINE, n, d, code)),
                         num(tera(flop_rate(n, d, median_of(accumulate)))),
                         NOT_MEASURED if alpha is None else f"{alpha.median:.4f}"])
    return ["## CUDA stages, device-resident features (bench_cuda_backend)", "",
            "BM_CudaPipelineDeviceResident: float32 features already in device memory → α; the stages "
            "are the library's own CUDA-event timings (counters `accumulate_ms`, `eigenvalues_ms`, "
            "`fit_ms`, averaged over each repetition's iterations); end to end is the benchmark's manual "
            "time, after a warm-up, and includes building the accumulator (handles, workspaces; "
            "`setup_ms`, host clock) and destroying it, as `alphareq table1` and "
            "bench/torch_pipeline.py do — an "
            "accumulator kept across calls does not pay it again. No copy: the features are on the "
            "device (the copy from host memory is in targets (c) and (e)). Accumulation TFLOP/s "
            "counts 2·n·D², what a GEMM of the full product executes (target (a)): SYRK executes half "
            "of that, so the column may exceed the GPU's peak. The eigensolver is float64 at every "
            "precision.", "",
            markdown_table(["n × D", "precision", "setup ms", "accumulation ms", "eigenvalues ms", "fit ms",
                           "end to end ms", "accumulation TFLOP/s (GEMM-equivalent)", "α"], rows), ""]


def cpu_stage_table(cuda: BenchmarkResults, cpu: BenchmarkResults) -> List[str]:
    rows = []
    for n, d in STAGE_SIZES:
        for name in CPU_PRECISIONS:
            code = PRECISION_CODES[name]
            # BM_Eigenvalues and BM_Fit take D alone: one value serves every n of that D.
            cpu_stages = [cpu_accumulation(cpu, n, d, name), cpu.time_ms("BM_Eigenvalues", d),
                          cpu.time_ms("BM_Fit", d), cpu_end_to_end(cpu, n, d, name)]
            gpu_stages = [cuda.counter(PIPELINE, key, n, d, code)
                          for key in ("accumulate_ms", "eigenvalues_ms", "fit_ms")]
            gpu_stages.append(cuda.time_ms(PIPELINE, n, d, code))
            cells = [size(n, d), name] + [stat_text(s) for s in cpu_stages]
            cells += [ratio(divide(median_of(c), median_of(g))) for c, g in zip(cpu_stages, gpu_stages)]
            rows.append(cells)
    return ["## CPU backend on the same machine (bench_cpu_backend), and CPU / GPU", "",
            "Same sizes and precisions as the CUDA table where bench_cpu_backend registers them: "
            "accumulation BM_AccumulateFloat64/Float32 (n, D): one add_batch into a new accumulator, its "
            "construction untimed, as the CUDA `accumulate_ms` counter leaves it out; eigenvalues BM_Eigenvalues/D (a D × D "
            "covariance of 2·D rows, float64 `dsyevd`, so one value serves every n of that D); fit "
            "BM_Fit/D; end to end BM_ComputeAlphaEndToEnd (n, D), float64 (and BM_ComputeAlphaEndToEndFloat32 "
            "where registered). Real time, host "
            "memory. Ratios divide CPU by GPU medians (above 1: the GPU is faster).", "",
            markdown_table(["n × D", "precision", "CPU accumulation ms", "CPU eigenvalues ms", "CPU fit ms",
                            "CPU end to end ms", "CPU / GPU accumulation", "CPU / GPU eigenvalues",
                            "CPU / GPU fit", "CPU / GPU end to end"], rows), ""]


def copy_table(torch_pipeline: Optional[dict]) -> List[str]:
    """torch_pipeline.py's host-path records: PyTorch's copy stage beside both totals.
    Nothing at all when the run has no host path."""
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
            "then computes; alphareq copies the pinned tensor to the device chunk by chunk, "
            "straight from the caller's page-locked memory (pageable memory goes through its "
            "pinned double buffers).", "",
            markdown_table(["n × D", "precision", "PyTorch copy ms", "PyTorch total ms, median (min–max)",
                            "alphareq total ms, median (min–max)"], rows), ""]


def table1_section(name: str, text: Optional[str], status: str) -> List[str]:
    """`alphareq table1`'s own output, verbatim."""
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
              "alphareq: the tool's own epoch times after its first epoch (first-use costs, which PyTorch's "
              "warm-up keeps out of its side), features already in device memory. Ratio above 1: "
              "alphareq trains faster.", "",
              markdown_table(["dataset", "train / test", "epochs", "PyTorch epochs/s",
                              "PyTorch epoch ms, median (min–max)", "alphareq epochs/s", "alphareq / PyTorch",
                              "PyTorch train / test acc. %", "alphareq train / test acc. %"], rows)]
    return lines + ([""] + remarks if remarks else []) + [""]


def accuracy(side: dict) -> str:
    """"train / test" accuracy in %, from the fractions a probe record holds."""
    train, test = finite(side.get("train_accuracy")), finite(side.get("test_accuracy"))
    if train is None or test is None:
        return NOT_MEASURED
    return f"{100 * train:.2f} / {100 * test:.2f}"
