#!/usr/bin/env python3
"""α through plain PyTorch against alphareq, on the same device and the same features.

The baseline is what a user would write instead of alphareq: centre the features, form
XᵀX/n, torch.linalg.eigvalsh, and the weighted least-squares fit of log λ_i on log i over
ranks 11..100 (weights 1/i), with alphareq's window clipping. For each size and precision
it times, after warm-up runs, N repeats of

  (a) the PyTorch pipeline per stage (centre, XᵀX, eigvalsh, fit) and in total,
  (b) alphareq.alpha on the same device-resident tensor, end to end, with the stage
      timings alphareq reports,
  (c) both again from a pinned host tensor, the host→device transfer included,

and checks that the float64 α of both agree. GPU work is timed with CUDA events; on the
CPU (smoke runs) with time.perf_counter. Medians, minima and maxima are reported.

    python bench/torch_pipeline.py --json results.json
    python bench/torch_pipeline.py --quick --device cpu
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

# Table of sizes the issue asks for (n samples × D features).
DEFAULT_SIZES = "10000x2048,50000x2048,10000x4096,100000x1024"
QUICK_SIZES = "2000x256,3000x128"
# Every feature's mean: large against the spread, so that centring matters as in real
# activations (e.g. after a ReLU) and a pipeline that skipped it would give a wrong α.
FEATURE_MEAN = 10.0
# |Δα| between the two float64 pipelines above which the agreement check complains.
FLOAT64_AGREEMENT = 1e-9


def load_alphareq() -> Tuple[Any, str]:
    """(the alphareq module, "") or (None, why it cannot be used)."""
    try:
        import alphareq
    except ImportError as error:
        return None, f"alphareq is not importable ({error}); install it with `pip install .`"
    return alphareq, ""


def alphareq_backend(alphareq: Any, device: torch.device) -> Tuple[Optional[str], str]:
    """The alphareq backend that computes where `device` is, or (None, why not)."""
    if device.type == "cpu":
        return "cpu", ""
    if not alphareq.cuda_available():
        return None, f"alphareq's CUDA backend is unavailable: {alphareq.cuda_unavailable_reason()}"
    return "cuda", ""


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


class Clock:
    """Points in time on the device's stream: CUDA events on a GPU (they time the GPU's
    work, not the host's launches), time.perf_counter on the CPU (where PyTorch is
    synchronous)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def mark(self) -> Any:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def elapsed_ms(self, start: Any, stop: Any) -> float:
        if self.cuda:
            stop.synchronize()
            return float(start.elapsed_time(stop))
        return (stop - start) * 1e3

    def settle(self) -> None:
        """Waits for all queued device work, so that a timed run starts on an idle GPU."""
        if self.cuda:
            torch.cuda.synchronize()


def stage_times(clock: Clock, marks: Sequence[Tuple[str, Any]]) -> Dict[str, float]:
    """Milliseconds between consecutive marks, named by the later mark, plus "total"."""
    times = {name: clock.elapsed_ms(previous, mark)
             for (_, previous), (name, mark) in zip(marks, marks[1:])}
    times["total"] = clock.elapsed_ms(marks[0][1], marks[-1][1])
    return times


def summarise(samples: Sequence[float]) -> Dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "repeats": len(samples)}


@dataclass
class Measurement:
    """Per-stage timing summaries of repeated runs and the α of the last run."""

    stages: Dict[str, Dict[str, float]]
    alpha: float
    extra: Dict[str, Any]

    def median(self, stage: str = "total") -> float:
        return self.stages[stage]["median"]


def measure(run: Callable[[], Tuple[Dict[str, float], float, Dict[str, Any]]], clock: Clock,
            warmup: int, repeats: int) -> Measurement:
    """Runs `run` warmup times untimed (first-use costs: kernels' loading, handles, the
    caching allocator's first allocations), then `repeats` times from an idle device."""
    for _ in range(warmup):
        run()
        clock.settle()
    samples: Dict[str, List[float]] = {}
    alpha, extra = float("nan"), {}
    for _ in range(repeats):
        clock.settle()
        times, alpha, extra = run()
        for stage, ms in times.items():
            samples.setdefault(stage, []).append(ms)
    return Measurement({stage: summarise(values) for stage, values in samples.items()}, alpha, extra)


# --------------------------------------------------------------------------------------
# Features and the PyTorch pipeline
# --------------------------------------------------------------------------------------


def power_law_features(n: int, d: int, alpha: float, seed: int, device: torch.device) -> torch.Tensor:
    """n × d float32 features, made on `device`, whose population covariance has the
    eigenvalues λ_j = j^(−α) in a random orthonormal basis and whose features all have
    mean FEATURE_MEAN. The rotation matters for the eigensolver: a nearly diagonal XᵀX
    deflates early in divide and conquer and would flatter both solvers."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, device=device))
    spread = torch.arange(1, d + 1, device=device, dtype=torch.float32).pow(-alpha / 2)
    x = torch.randn(n, d, generator=generator, device=device).mul_(spread)
    return torch.addmm(torch.full((1, d), FEATURE_MEAN, device=device), x, basis.T)


def power_law_alpha(eigenvalues: torch.Tensor, n: int, first: int, last: int) -> float:
    """α of the weighted least-squares fit log λ_i = c − α log i, weights 1/i, over ranks
    first..last (1-based, inclusive) of the descending `eigenvalues` — alphareq's fit
    (src/core/power_law_fit.cpp), clipped as src/core/fit_window.hpp clips: to
    min(n − 1, D, the number of eigenvalues above λ_1·D·ε₆₄). Computed on the eigenvalues'
    device in float64, with one synchronisation to return the float."""
    if not 1 <= first <= last:
        raise ValueError(f"fit window: need 1 <= first <= last, got {first}..{last}")
    d = eigenvalues.numel()
    window = eigenvalues[first - 1:last].to(torch.float64)
    ranks = torch.arange(first, first + window.numel(), device=window.device, dtype=torch.float64)
    threshold = eigenvalues[0].to(torch.float64) * d * torch.finfo(torch.float64).eps
    # Eigenvalues are sorted, so "above the threshold" is "rank <= the count above it".
    usable = (ranks <= min(n - 1, d)) & (window > threshold)
    weight = usable / ranks
    x = ranks.log()
    y = torch.where(usable, window.clamp_min(torch.finfo(torch.float64).tiny).log(), 0.0)
    weight_sum = weight.sum()
    x_mean = (weight * x).sum() / weight_sum
    y_mean = (weight * y).sum() / weight_sum
    sxx = (weight * (x - x_mean) ** 2).sum()
    sxy = (weight * (x - x_mean) * (y - y_mean)).sum()
    alpha, points = torch.stack([-sxy / sxx, usable.sum().to(torch.float64)]).tolist()
    if points < 3:
        raise ValueError(f"fit window {first}..{last} leaves {int(points)} usable ranks (need 3)")
    return alpha


@dataclass(frozen=True)
class Precision:
    """One precision of both pipelines: PyTorch's dtype (and whether float32 GEMMs may
    use TF32) and the matching alphareq options."""

    name: str
    dtype: torch.dtype
    tf32: bool
    alphareq_precision: str
    alphareq_solver: str


PRECISIONS = {
    "float64": Precision("float64", torch.float64, False, "float64", "float64"),
    "float32": Precision("float32", torch.float32, False, "float32", "float32"),
    "tf32": Precision("tf32", torch.float32, True, "tf32", "float32"),
}


def torch_run(x: torch.Tensor, precision: Precision, first: int, last: int, clock: Clock,
              device: torch.device) -> Tuple[Dict[str, float], float, Dict[str, Any]]:
    """One run of the PyTorch pipeline on `x` (device-resident, or pinned host memory that
    is copied first); times per stage."""
    marks = [("start", clock.mark())]
    if x.device.type != device.type:
        x = x.to(device, non_blocking=True)  # pinned → asynchronous DMA on the stream
        marks.append(("transfer", clock.mark()))
    n = x.shape[0]
    features = x.to(precision.dtype)
    centred = features - features.mean(dim=0, keepdim=True)
    marks.append(("centre", clock.mark()))
    covariance = (centred.T @ centred) / n
    marks.append(("XtX", clock.mark()))
    eigenvalues = torch.linalg.eigvalsh(covariance).flip(0)
    marks.append(("eigvalsh", clock.mark()))
    alpha = power_law_alpha(eigenvalues, n, first, last)
    marks.append(("fit", clock.mark()))
    return stage_times(clock, marks), alpha, {}


def alphareq_run(alphareq: Any, backend: str, x: torch.Tensor, precision: Precision, first: int,
                 last: int, clock: Clock) -> Tuple[Dict[str, float], float, Dict[str, Any]]:
    """One alphareq.alpha call on `x`, as a user makes it (accumulator set-up included);
    the end-to-end time and alphareq's own stage timings."""
    start = clock.mark()
    report = alphareq.alpha(x, first, last, "weighted", backend,
                            precision=precision.alphareq_precision, solver=precision.alphareq_solver)
    stop = clock.mark()
    times = {"total": clock.elapsed_ms(start, stop)}
    times.update(report.timings)  # accumulate_ms, eigenvalues_ms, fit_ms, total_ms (stages)
    return times, report.alpha, {"backend": report.backend, "eigenvalues": report.eigenvalues,
                                 "first_rank": report.first_rank, "last_rank": report.last_rank}


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def parse_sizes(text: str) -> List[Tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        try:
            n, d = (int(part) for part in item.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"size {item!r}: expected NxD, e.g. 10000x2048") from None
        if n < 2 or d < 1:
            raise argparse.ArgumentTypeError(f"size {item!r}: need n >= 2 and D >= 1")
        sizes.append((n, d))
    return sizes


def parse_precisions(text: str) -> List[Precision]:
    unknown = [name for name in text.split(",") if name not in PRECISIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown precision {unknown[0]!r} (expected {', '.join(PRECISIONS)})")
    return [PRECISIONS[name] for name in text.split(",")]


class Float32MatmulPrecision:
    """Lets float32 GEMMs use TF32 inside the block (restores the previous setting)."""

    def __init__(self, tf32: bool) -> None:
        self.wanted = "high" if tf32 else "highest"

    def __enter__(self) -> None:
        self.previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.wanted)

    def __exit__(self, *exc_info: Any) -> None:
        torch.set_float32_matmul_precision(self.previous)


def benchmark_size(n: int, d: int, args: argparse.Namespace, device: torch.device, clock: Clock,
                   alphareq: Any, backend: Optional[str]) -> List[Dict[str, Any]]:
    """All precisions and paths for one size; one result record per (precision, path)."""
    features = power_law_features(n, d, args.alpha, args.seed, device)
    # Path (c) starts from pinned host memory, as a data loader's pinned batches do. On the
    # CPU the features already are in host memory, so (c) would repeat (a) and (b).
    paths = {"device": features}
    if device.type == "cuda" and not args.no_host:
        paths["host"] = features.cpu().pin_memory()
    records = []
    for precision in args.precisions:
        for path, x in paths.items():
            with Float32MatmulPrecision(precision.tf32):
                baseline = measure(lambda: torch_run(x, precision, args.first, args.last, clock, device),
                                   clock, args.warmup, args.repeats)
            record: Dict[str, Any] = {
                "n": n, "d": d, "precision": precision.name, "path": path,
                "torch": {"stages_ms": baseline.stages, "alpha": baseline.alpha},
            }
            if backend is not None:
                ours = measure(lambda: alphareq_run(alphareq, backend, x, precision, args.first,
                                                    args.last, clock),
                               clock, args.warmup, args.repeats)
                # The same fit applied to alphareq's eigenvalues: separates a difference in
                # the fit's definition (should be ~1e-15) from one in the eigenvalues.
                refit = power_law_alpha(torch.from_numpy(ours.extra["eigenvalues"].copy()), n,
                                        args.first, args.last)
                record["alphareq"] = {
                    "backend": ours.extra["backend"], "stages_ms": ours.stages, "alpha": ours.alpha,
                    "fit_ranks": [ours.extra["first_rank"], ours.extra["last_rank"]],
                }
                record["alpha_difference"] = abs(baseline.alpha - ours.alpha)
                record["fit_definition_difference"] = abs(refit - ours.alpha)
                record["torch_over_alphareq"] = baseline.median() / ours.median()
            records.append(record)
            print(progress_line(record), file=sys.stderr, flush=True)
    return records


def progress_line(record: Dict[str, Any]) -> str:
    line = (f"  {record['n']}x{record['d']} {record['precision']} {record['path']}: "
            f"torch {record['torch']['stages_ms']['total']['median']:.2f} ms")
    if "alphareq" in record:
        line += f", alphareq {record['alphareq']['stages_ms']['total']['median']:.2f} ms"
    return line


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------


def driver_version() -> Optional[str]:
    """The NVIDIA driver version from nvidia-smi (PyTorch does not expose it)."""
    try:
        output = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return output.strip().splitlines()[0] if output.strip() else None


def environment(device: torch.device, alphareq_version: Optional[str], alphareq_note: str) -> Dict[str, Any]:
    """What the numbers were measured on, for the JSON record."""
    info: Dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable] + sys.argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
        "alphareq": alphareq_version,
        "alphareq_note": alphareq_note or None,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
        info["driver"] = driver_version()
        info["torch_linalg_library"] = str(torch.backends.cuda.preferred_linalg_library())
    return info


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def spread(summary: Dict[str, float]) -> str:
    return f"{summary['median']:.2f} ({summary['min']:.2f}–{summary['max']:.2f})"


def totals_table(records: Sequence[Dict[str, Any]]) -> str:
    rows = []
    for r in records:
        ours = r.get("alphareq")
        rows.append([
            f"{r['n']} × {r['d']}", r["precision"], r["path"],
            spread(r["torch"]["stages_ms"]["total"]),
            spread(ours["stages_ms"]["total"]) if ours else "—",
            f"{r['torch_over_alphareq']:.2f}×" if ours else "—",
            f"{r['torch']['alpha']:.6f}",
            f"{r['alpha_difference']:.1e}" if ours else "—",
        ])
    return markdown_table(["n × D", "precision", "features", "torch ms, median (min–max)",
                           "alphareq ms, median (min–max)", "torch / alphareq", "α (torch)",
                           "|Δα|"], rows)


def stages_table(records: Sequence[Dict[str, Any]]) -> str:
    rows = []
    for r in records:
        torch_stages = r["torch"]["stages_ms"]
        cells = [f"{r['n']} × {r['d']}", r["precision"], r["path"]]
        cells += [f"{torch_stages[s]['median']:.2f}" if s in torch_stages else "—"
                  for s in ("transfer", "centre", "XtX", "eigvalsh", "fit")]
        ours = r.get("alphareq")
        if ours:
            stages = ours["stages_ms"]
            overhead = stages["total"]["median"] - stages["total_ms"]["median"]
            cells += [f"{stages[s]['median']:.2f}" for s in ("accumulate_ms", "eigenvalues_ms", "fit_ms")]
            cells.append(f"{overhead:.2f}")
        else:
            cells += ["—"] * 4
        rows.append(cells)
    return markdown_table(["n × D", "precision", "features", "torch transfer", "torch centre",
                           "torch XᵀX", "torch eigvalsh", "torch fit", "alphareq accumulate",
                           "alphareq eigenvalues", "alphareq fit", "alphareq other"], rows)


def agreement_lines(records: Sequence[Dict[str, Any]]) -> List[str]:
    lines = []
    for r in records:
        if r["precision"] != "float64" or r["path"] != "device" or "alphareq" not in r:
            continue
        verdict = "ok" if r["alpha_difference"] <= FLOAT64_AGREEMENT else f"ABOVE {FLOAT64_AGREEMENT:g}"
        lines.append(f"- {r['n']} × {r['d']}: α torch {r['torch']['alpha']:.12f}, alphareq "
                     f"{r['alphareq']['alpha']:.12f}, |Δα| = {r['alpha_difference']:.2e} ({verdict}); "
                     f"torch's fit on alphareq's eigenvalues differs by {r['fit_definition_difference']:.1e}")
    return lines


def resolve_device(parser: argparse.ArgumentParser, device: Optional[str]) -> str:
    """--device as given, else CUDA when PyTorch sees a device; a usage error for an absent one."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA device")
    return device


def parse_arguments(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=None,
                        help=f"comma-separated NxD sizes (default {DEFAULT_SIZES}; {QUICK_SIZES} with --quick)")
    parser.add_argument("--precisions", type=parse_precisions, default="float64,float32",
                        help="comma-separated: float64, float32, tf32 (float32 GEMMs in TF32, float32 "
                             "eigensolver); default float64,float32")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where the features live and both pipelines compute (default: cuda if available)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 10; 3 with --quick)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before the timed ones (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic features (default 0)")
    parser.add_argument("--alpha", type=float, default=1.0, help="population α of the synthetic features (default 1)")
    parser.add_argument("--first", type=int, default=11, help="first rank of the fit window, 1-based (default 11)")
    parser.add_argument("--last", type=int, default=100, help="last rank of the fit window, inclusive (default 100)")
    parser.add_argument("--no-host", action="store_true", help="skip path (c), features in pinned host memory")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 3 repeats: a smoke run for the CPU")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement and the environment here")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or parse_sizes(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.repeats = args.repeats or (3 if args.quick else 10)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")
    args.device = resolve_device(parser, args.device)
    return args


def write_json_atomically(path: str, document: Dict[str, Any]) -> None:
    """Writes `document` to `path` through a temporary file beside it and os.replace: a run
    killed mid-write (a phase's time limit) leaves the previous complete file, never a
    half-written one that the summary cannot read."""
    temporary = f"{path}.partial"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    device = torch.device(args.device)
    clock = Clock(device)
    alphareq, note = load_alphareq()
    backend = None
    if alphareq is not None:
        backend, note = alphareq_backend(alphareq, device)
    if backend is None:
        print(f"note: timing PyTorch only — {note}", file=sys.stderr)
    info = environment(device, getattr(alphareq, "__version__", None), note)
    where = info.get("gpu", platform.processor() or "CPU")
    print(f"torch {torch.__version__} on {device} ({where}); alphareq "
          f"{info['alphareq'] or 'not used'}; {args.repeats} repeats after {args.warmup} warm-up runs",
          file=sys.stderr)

    timer = "CUDA events" if device.type == "cuda" else "time.perf_counter"

    def write_json(records: list) -> None:
        write_json_atomically(args.json, {
            "benchmark": "torch_pipeline", "environment": info,
            "settings": {"sizes": args.sizes, "precisions": [p.name for p in args.precisions],
                         "repeats": args.repeats, "warmup": args.warmup, "seed": args.seed,
                         "alpha": args.alpha, "first": args.first, "last": args.last,
                         "feature_mean": FEATURE_MEAN, "timer": timer},
            "results": records})

    records = []
    for n, d in args.sizes:
        records += benchmark_size(n, d, args, device, clock, alphareq, backend)
        if args.json:
            write_json(records)  # after every size: a run cut short keeps what it measured
        if device.type == "cuda":
            # The size's tensors are gone; hand their cached blocks back to the driver, as
            # alphareq allocates with cudaMalloc outside PyTorch's caching allocator.
            torch.cuda.empty_cache()
    print(f"## α: PyTorch pipeline vs alphareq on {where}\n")
    print(f"torch {torch.__version__}, alphareq {info['alphareq'] or '— (' + note + ')'}; "
          f"{args.repeats} repeats after {args.warmup} warm-up runs, {timer}; features: float32, "
          f"λ_j = j^-{args.alpha:g} in a random basis, mean {FEATURE_MEAN:g}; fit ranks "
          f"{args.first}..{args.last}, weights 1/i.\n")
    print(totals_table(records))
    print("\nStage medians (ms). alphareq's stages are its own `timings`; \"other\" is "
          "alpha()'s end-to-end time minus their sum (set-up, allocation, Python).\n")
    print(stages_table(records))
    agreement = agreement_lines(records)
    if agreement:
        print("\nfloat64 agreement (device-resident features):\n")
        print("\n".join(agreement))
    if args.json:
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
