#!/usr/bin/env python3
"""Linear-probe epochs per second: a plain PyTorch loop against `alphareq probe`.

The baseline is the loop a user would write: nn.Linear(D, C), cross-entropy, SGD with
momentum (or Adam), a fresh shuffle each epoch, over features that stay in device memory.
The shapes are those of the paper's Table 1 (CIFAR10, STL10 and, when named, ImageNet),
filled with seeded synthetic features made on the device: class centres plus noise with
a power-law spectrum, as `alphareq table1` makes them. Options default to `alphareq
probe`'s (batch 256, SGD, momentum 0.9, lr 0.1, no weight decay).

alphareq's probe has no Python API, so the features and labels are written as .npy files
(to --save-npy DIR, or a temporary directory) and the `alphareq probe` command-line tool
is run on them; its own per-epoch timing (CUDA events, features already on the device)
is compared with PyTorch's.

    python bench/torch_probe.py --json probe.json --alphareq-cli build-sm90/alphareq
    python bench/torch_probe.py --quick --device cpu
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from torch_pipeline import Clock, environment, markdown_table, resolve_device, summarise, write_json_atomically

REPOSITORY = Path(__file__).resolve().parent.parent
# Where the command-line tool is looked for when --alphareq-cli is not given: the GPU
# session's build (scripts/gpu_session.sh), the default build, then the PATH.
CLI_CANDIDATES = (REPOSITORY / "build-sm90" / "alphareq", REPOSITORY / "build" / "alphareq")
# Rows generated at a time: bounds the temporaries of ImageNet's 10.5 GB of features.
GENERATION_ROWS = 65536
SGD_MOMENTUM = 0.9  # alphareq's ProbeOptions::momentum (the CLI has no option for it)


@dataclass(frozen=True)
class Shape:
    """One row of Table 1: split sizes, feature width, classes and the paper's epochs."""

    name: str
    train_rows: int
    test_rows: int
    dim: int
    classes: int
    epochs: int

    def quick(self) -> "Shape":
        """The row shrunk as `alphareq table1 --quick` shrinks it."""
        return replace(self, train_rows=max(500, self.train_rows // 25),
                       test_rows=max(400, self.test_rows // 20), dim=256,
                       classes=min(self.classes, 100), epochs=10)


TABLE1 = {
    "CIFAR10": Shape("CIFAR10", 50000, 10000, 2048, 10, 200),
    "STL10": Shape("STL10", 5000, 8000, 2048, 10, 200),
    # 100 epochs in the paper; a few suffice for epochs/s, and each costs ~5,000 steps.
    "ImageNet": Shape("ImageNet", 1281167, 50000, 2048, 1000, 5),
}


@dataclass
class Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


# --------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------


def labelled_split(rows: int, centres: torch.Tensor, spread: torch.Tensor,
                   generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """rows float32 samples x = √λ ⊙ (z + c_y), z ~ N(0, I), labels y uniform over the
    classes: alphareq's synthetic_labelled_features, drawn with PyTorch's generator."""
    classes, dim = centres.shape
    device = centres.device
    labels = torch.randint(classes, (rows,), generator=generator, device=device)
    features = torch.empty(rows, dim, device=device)
    for first in range(0, rows, GENERATION_ROWS):
        last = min(rows, first + GENERATION_ROWS)
        block = torch.randn(last - first, dim, generator=generator, device=device)
        features[first:last] = block.add_(centres[labels[first:last]]).mul_(spread)
    return features, labels


def make_data(shape: Shape, alpha: float, class_distance: float, seed: int, device: torch.device) -> Data:
    """Train and test splits on `device`: the same class centres, other samples. Two centres
    lie about `class_distance` noise spreads apart whatever the width, as in `alphareq table1`."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    separation = class_distance / math.sqrt(2.0 * shape.dim)
    centres = separation * torch.randn(shape.classes, shape.dim, generator=generator, device=device)
    spread = torch.arange(1, shape.dim + 1, device=device, dtype=torch.float32).pow(-alpha / 2)
    train_x, train_y = labelled_split(shape.train_rows, centres, spread, generator)
    test_x, test_y = labelled_split(shape.test_rows, centres, spread, generator)
    return Data(train_x, train_y, test_x, test_y)


# --------------------------------------------------------------------------------------
# The PyTorch probe
# --------------------------------------------------------------------------------------


def make_probe(dim: int, classes: int, args: argparse.Namespace,
               device: torch.device) -> Tuple[torch.nn.Module, torch.optim.Optimizer]:
    """nn.Linear with its default initialisation (uniform ±1/√D, as alphareq's) and the
    optimizer; weight decay on the weights only, as alphareq applies it."""
    model = torch.nn.Linear(dim, classes, device=device)
    groups = [{"params": [model.weight], "weight_decay": args.weight_decay},
              {"params": [model.bias], "weight_decay": 0.0}]
    if args.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(groups, lr=args.lr, momentum=SGD_MOMENTUM)
    else:
        optimizer = torch.optim.Adam(groups, lr=args.lr)
    return model, optimizer


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """One epoch over a fresh shuffle, the last batch partial (as alphareq's); returns the
    mean batch loss as a device tensor, so that nothing waits for the GPU inside it."""
    rows = x.shape[0]
    order = torch.randperm(rows, device=x.device, generator=generator)
    loss_sum = torch.zeros((), device=x.device)
    for first in range(0, rows, batch_size):
        batch = order[first:first + batch_size]
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach()
    return loss_sum / math.ceil(rows / batch_size)


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for first in range(0, x.shape[0], GENERATION_ROWS):
        logits = model(x[first:first + GENERATION_ROWS])
        correct += (logits.argmax(dim=1) == y[first:first + GENERATION_ROWS]).sum()
    return correct.item() / x.shape[0]


def torch_probe(data: Data, shape: Shape, args: argparse.Namespace, device: torch.device,
                clock: Clock) -> Dict[str, Any]:
    """Trains the probe for the row's epochs, timing each, after one untimed warm-up epoch
    of a throwaway probe (first-use costs: kernels' loading, cuBLAS handles, the caching
    allocator's first allocations)."""
    warmup_model, warmup_optimizer = make_probe(shape.dim, shape.classes, args, device)
    warmup_shuffle = torch.Generator(device=device)
    train_epoch(warmup_model, warmup_optimizer, data.train_x, data.train_y, args.batch_size, warmup_shuffle)
    del warmup_model, warmup_optimizer

    torch.manual_seed(args.seed)  # the initial weights
    model, optimizer = make_probe(shape.dim, shape.classes, args, device)
    shuffle = torch.Generator(device=device)
    shuffle.manual_seed(args.seed)
    clock.settle()
    marks = [clock.mark()]
    for _ in range(shape.epochs):
        loss = train_epoch(model, optimizer, data.train_x, data.train_y, args.batch_size, shuffle)
        marks.append(clock.mark())
    epoch_ms = [clock.elapsed_ms(start, stop) for start, stop in zip(marks, marks[1:])]
    train_ms = clock.elapsed_ms(marks[0], marks[-1])
    return {
        "epochs": shape.epochs,
        "epochs_per_s": 1e3 * shape.epochs / train_ms,
        "epoch_ms": summarise(epoch_ms),
        "train_ms": train_ms,
        "final_loss": loss.item(),
        "train_accuracy": accuracy(model, data.train_x, data.train_y),
        "test_accuracy": accuracy(model, data.test_x, data.test_y),
    }


# --------------------------------------------------------------------------------------
# alphareq's probe, through the command-line tool
# --------------------------------------------------------------------------------------


def find_cli(requested: Optional[str]) -> Tuple[Optional[str], str]:
    """(path of the alphareq executable, "") or (None, why there is none)."""
    if requested:
        if shutil.which(requested) is None:
            return None, f"--alphareq-cli {requested}: not an executable"
        return requested, ""
    for candidate in CLI_CANDIDATES:
        if candidate.is_file():
            return str(candidate), ""
    found = shutil.which("alphareq")
    if found:
        return found, ""
    places = ", ".join(str(c.relative_to(REPOSITORY)) for c in CLI_CANDIDATES)
    return None, f"no alphareq executable in {places} or on the PATH (build it, or pass --alphareq-cli)"


def cli_version(cli: str) -> Optional[str]:
    result = subprocess.run([cli, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def save_npy(data: Data, directory: Path) -> Dict[str, Path]:
    """Writes the splits as float32 features and int64 labels, the files `alphareq probe`
    reads; returns them by option name."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for option, tensor in (("--train", data.train_x), ("--train-labels", data.train_y),
                           ("--test", data.test_x), ("--test-labels", data.test_y)):
        path = directory / (option.lstrip("-").replace("-", "_") + ".npy")
        np.save(path, tensor.cpu().numpy())
        files[option] = path
    return files


def cli_command(cli: str, files: Dict[str, Path], shape: Shape, args: argparse.Namespace,
                backend: str) -> List[str]:
    command = [cli, "probe"]
    for option, path in files.items():
        command += [option, str(path)]
    # --classes: the same D × C weights as the PyTorch model, whichever labels were drawn.
    command += ["--epochs", str(shape.epochs), "--classes", str(shape.classes), "--optimizer", args.optimizer, "--batch-size", str(args.batch_size),
                "--lr", repr(args.lr), "--weight-decay", repr(args.weight_decay), "--seed", str(args.seed),
                "--backend", backend, "--json", "--quiet"]
    return command


def alphareq_probe(command: List[str]) -> Dict[str, Any]:
    """Runs `alphareq probe --json`; epochs/s over the epochs after the first, with the
    features already in memory (device memory for CUDA), timed by the tool itself — the
    first epoch of a fresh process also pays first-use costs, as the PyTorch loop's
    untimed warm-up epoch does (the rate with it is kept too)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"`{shlex.join(command)}` exited with {result.returncode}: {result.stderr.strip()}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    epochs, first_ms = report["epochs"], report.get("first_epoch_ms")
    # The later epochs' own mean (device events on the GPU); older tools gave only train_ms,
    # a host stopwatch that also holds the host's work around the epochs.
    steady_ms = report.get("later_epoch_ms")
    if steady_ms is None:
        steady_ms = ((report["train_ms"] - first_ms) / (epochs - 1) if first_ms is not None and epochs > 1
                     else report["epoch_ms"])
    return {
        "backend": report["backend"],
        "epochs": epochs,
        "epochs_per_s": 1e3 / steady_ms,
        "epochs_per_s_including_first": 1e3 / report["epoch_ms"],
        "epoch_ms_mean": report["epoch_ms"],
        "first_epoch_ms": first_ms,
        "train_ms": report["train_ms"],
        "final_loss": report["final_loss"],
        "train_accuracy": report["train_accuracy"],
        "test_accuracy": report["test_accuracy"],
        "wall_s": wall_s,  # the whole process: reading the .npy files, upload, evaluation
        "command": shlex.join(command),
    }


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def benchmark_dataset(shape: Shape, args: argparse.Namespace, device: torch.device, clock: Clock,
                      cli: Optional[str]) -> Dict[str, Any]:
    """One Table 1 row: the PyTorch probe, then alphareq's on the same features (or its
    command line when there is no executable to run)."""
    data = make_data(shape, args.alpha, args.class_distance, args.seed, device)
    record: Dict[str, Any] = {"dataset": shape.name, "train_rows": shape.train_rows,
                              "test_rows": shape.test_rows, "dim": shape.dim, "classes": shape.classes}
    record["torch"] = torch_probe(data, shape, args, device, clock)
    print(f"  {shape.name}: torch {record['torch']['epochs_per_s']:.2f} epochs/s", file=sys.stderr, flush=True)
    if cli is None and args.save_npy is None:
        return record
    backend = "cuda" if device.type == "cuda" else "cpu"
    with tempfile.TemporaryDirectory(prefix="torch_probe_") as scratch:
        directory = Path(args.save_npy) / shape.name if args.save_npy else Path(scratch)
        files = save_npy(data, directory)
        del data  # the tool needs the device memory
        if device.type == "cuda":
            torch.cuda.empty_cache()
        command = cli_command(cli or "alphareq", files, shape, args, backend)
        if cli is None:
            record["alphareq_command"] = shlex.join(command)
            return record
        try:
            record["alphareq"] = alphareq_probe(command)
        except RuntimeError as error:
            record["alphareq_error"] = str(error)
            print(f"  {shape.name}: alphareq probe failed: {error}", file=sys.stderr)
            return record
    print(f"  {shape.name}: alphareq {record['alphareq']['epochs_per_s']:.2f} epochs/s", file=sys.stderr, flush=True)
    return record


def results_table(records: Sequence[Dict[str, Any]]) -> str:
    rows = []
    for r in records:
        ours, baseline = r.get("alphareq"), r["torch"]
        epoch_ms = baseline["epoch_ms"]
        cells = [r["dataset"], f"{r['train_rows']:,} / {r['test_rows']:,}", str(r["dim"]), str(r["classes"]),
                 str(baseline["epochs"]), f"{baseline['epochs_per_s']:.2f}",
                 f"{epoch_ms['median']:.2f} ({epoch_ms['min']:.2f}–{epoch_ms['max']:.2f})",
                 f"{100 * baseline['train_accuracy']:.2f} / {100 * baseline['test_accuracy']:.2f}"]
        if ours:
            cells += [f"{ours['epochs_per_s']:.2f}",
                      f"{100 * ours['train_accuracy']:.2f} / {100 * ours['test_accuracy']:.2f}",
                      f"{ours['epochs_per_s'] / baseline['epochs_per_s']:.2f}×"]
        else:
            cells += ["—"] * 3
        rows.append(cells)
    return markdown_table(["dataset", "train / test", "D", "classes", "epochs", "torch epochs/s",
                           "torch epoch ms, median (min–max)", "torch train / test acc. %",
                           "alphareq epochs/s", "alphareq train / test acc. %", "alphareq / torch"], rows)


def parse_datasets(text: str) -> List[Shape]:
    unknown = [name for name in text.split(",") if name not in TABLE1]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown dataset {unknown[0]!r} (expected {', '.join(TABLE1)})")
    return [TABLE1[name] for name in text.split(",")]


def parse_arguments(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=parse_datasets, default="CIFAR10,STL10",
                        help="comma-separated Table 1 rows: CIFAR10, STL10, ImageNet (default "
                             "CIFAR10,STL10; ImageNet needs 10.5 GB of device memory and takes ~5,000 "
                             "steps an epoch: name it to run it)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every row (default: 200 for CIFAR10 and STL10 as in Table 1, "
                             "5 for ImageNet; 10 with --quick)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help=f"SGD with momentum {SGD_MOMENTUM} (default), or Adam")
    parser.add_argument("--batch-size", type=int, default=256, help="samples per step (default 256)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 0.1 for SGD, 1e-3 for Adam)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the weights, not the bias (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the features, initial weights and shuffles (default 0)")
    parser.add_argument("--alpha", type=float, default=1.0, help="power-law exponent of the noise spectrum (default 1)")
    parser.add_argument("--class-distance", type=float, default=4.5,
                        help="distance of two class centres in noise spreads, as `alphareq table1` sets it "
                             "(default 4.5)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where the features live and both probes train (default: cuda if available)")
    parser.add_argument("--alphareq-cli", metavar="PATH", default=None,
                        help="the alphareq executable (default: build-sm90/alphareq, build/alphareq, the PATH)")
    parser.add_argument("--no-alphareq", action="store_true", help="time the PyTorch probe only")
    parser.add_argument("--save-npy", metavar="DIR", default=None,
                        help="keep the features and labels as DIR/<dataset>/*.npy (else a temporary directory)")
    parser.add_argument("--quick", action="store_true", help="Table 1 rows shrunk as `table1 --quick`: a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement and the environment here")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets = [shape.quick() for shape in args.datasets]
    if args.epochs is not None:
        args.datasets = [replace(shape, epochs=args.epochs) for shape in args.datasets]
    if args.lr is None:
        args.lr = 0.1 if args.optimizer == "sgd" else 1e-3  # alphareq's resolved_learning_rate
    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1 or not args.lr > 0:
        parser.error("--epochs and --batch-size must be >= 1 and --lr > 0")
    args.device = resolve_device(parser, args.device)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    device = torch.device(args.device)
    clock = Clock(device)
    cli, note = (None, "--no-alphareq") if args.no_alphareq else find_cli(args.alphareq_cli)
    if cli is None:
        print(f"note: timing the PyTorch probe only — {note}", file=sys.stderr)
    info = environment(device, cli_version(cli) if cli else None, note)
    info["alphareq_cli"] = cli
    where = info.get("gpu", "CPU")

    timer = "CUDA events" if device.type == "cuda" else "time.perf_counter"

    def write_json(records: List[dict]) -> None:
        settings = {key: value for key, value in vars(args).items() if key not in ("datasets", "epochs", "json")}
        settings["datasets"] = [vars(shape) for shape in args.datasets]
        settings["sgd_momentum"] = SGD_MOMENTUM
        settings["timer"] = timer
        write_json_atomically(args.json, {"benchmark": "torch_probe", "environment": info, "settings": settings,
                                          "results": records})

    records = []
    for shape in args.datasets:
        records.append(benchmark_dataset(shape, args, device, clock, cli))
        if args.json:
            write_json(records)  # after every dataset: a run cut short keeps what it measured

    print(f"## Linear probe: PyTorch loop vs alphareq probe on {where}\n")
    print(f"torch {torch.__version__}, {info['alphareq'] or 'alphareq — (' + note + ')'}; "
          f"{args.optimizer} (lr {args.lr:g}{f', momentum {SGD_MOMENTUM}' if args.optimizer == 'sgd' else ''}, "
          f"weight decay {args.weight_decay:g}), batch {args.batch_size}, seed {args.seed}; synthetic "
          f"features (class centres {args.class_distance:g} spreads apart plus λ_j = j^-{args.alpha:g} noise) in "
          f"{'device' if device.type == 'cuda' else 'host'} memory. torch: {timer} per epoch after a "
          f"warm-up epoch; alphareq: the tool's own epoch times, after its first epoch.\n")
    print(results_table(records))
    commands = [r["alphareq_command"] for r in records if "alphareq_command" in r]
    if commands:
        print("\nalphareq probe on the same data (no executable was found to run it):\n")
        print("\n".join(f"    {command}" for command in commands))
    errors = [f"- {r['dataset']}: {r['alphareq_error']}" for r in records if "alphareq_error" in r]
    if errors:
        print("\nalphareq probe failures:\n\n" + "\n".join(errors))
    if args.json:
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
