#!/usr/bin/env python3
"""Turns what the calls of `scripts/gpu_session.sh` left in $OUT into a Markdown results file.

    python3 bench/summarise_gpu_run.py CALL [CALL ...] [--date YYYY-MM-DD] [--output FILE.md]
                                                       [--readme-section FILE.md]

CALL is the files_at folder of one device-tool call (summary.txt and the script's
gpu-session-PHASES.tar.gz), an archive itself, or a folder of loose files; the calls are
gathered in the order given (bench/gpu_run/gather.py: summary lines appended, a later call's
file replacing an earlier one's). Reads, each if present (a missing or unreadable file is named in the output, and every
number that would have come from it reads "not measured"):

  machine.txt          `date -u`, nvidia-smi, nvcc --version (every session)
  summary.txt          gpu_session.sh's one line per step; its first line is nvidia-smi's
                       name, driver, memory
  bench_cuda_GROUP.json  bench_cuda_backend, Google Benchmark JSON with aggregates (phase
                       bench), one file per group of cases (pipeline, product, ceilings,
                       host), read as one; or bench_cuda.json, every case in one file
  bench_cpu.json       bench_cpu_backend, the same format (phase bench)
  torch_pipeline.json  bench/torch_pipeline.py --json (phase torch)
  torch_probe.json     bench/torch_probe.py --json (phase torch)
  table1_cuda.md       `alphareq table1 --backend cuda` (phase table1)
  table1_cpu.md        `alphareq table1 --backend cpu` (phase table1cpu)

and writes the results file (stdout unless --output): the machine and the commands, the
CUDA and CPU stage tables, each target of the GPU issue with its measured value and
PASS/MISS, Table 1 and the probe comparison as measured, and the session log. Only
Google Benchmark's "median" aggregates are used (± its "stddev" aggregate); the PyTorch
scripts' medians come with their min–max. Nothing is estimated or carried over from
another size: a number the run did not produce is "not measured". --readme-section
also writes a short README section: the targets at a glance, linking the results file.

This file is the command line; the work is in the package beside it, bench/gpu_run/.
Standard library only (Python ≥ 3.8), so that it runs on the GPU machine's bare python3.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

# Python puts the script's folder on sys.path when it runs it, but not under -P
# (PYTHONSAFEPATH) or when this file is loaded by path: find bench/gpu_run/ either way.
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from gpu_run import REPOSITORY  # noqa: E402
from gpu_run.gather import gather_calls  # noqa: E402
from gpu_run.inputs import read_run  # noqa: E402
from gpu_run.product import product_glance  # noqa: E402
from gpu_run.render import readme_section, render  # noqa: E402


def parse_arguments(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("calls", type=Path, nargs="+",
                        help="each call's files_at folder (or archive), in the order of the calls")
    parser.add_argument("--date", help="the run's date, YYYY-MM-DD (default: from machine.txt or the JSON)")
    parser.add_argument("--output", type=Path, help="write the results file here (default: stdout)")
    parser.add_argument("--readme-section", type=Path,
                        help="also write a short README performance section here, linking --output")
    args = parser.parse_args(argv)
    if args.date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        parser.error(f"--date {args.date}: expected YYYY-MM-DD")
    for call in args.calls:
        if not call.exists():
            parser.error(f"{call}: no such folder or archive")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="gpu-run-") as folder:
        notes = gather_calls(args.calls, Path(folder))
        run = read_run(Path(folder))
    run.calls = notes
    document, targets, facts = render(run, args.date)
    if args.output:
        args.output.write_text(document, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    if args.readme_section:
        link = None
        if args.output:
            # Relative to the repository, as the README that will hold the section links it.
            try:
                link = args.output.resolve().relative_to(REPOSITORY).as_posix()
            except ValueError:
                link = str(args.output)
        args.readme_section.write_text(readme_section(targets, run, facts, args.date or facts["date"], link),
                                       encoding="utf-8")
        print(f"wrote {args.readme_section}", file=sys.stderr)
    # The verdicts on stderr too, so that a session's log shows them without the file.
    missing = [name for name, status in run.status.items() if not status.startswith("read")]
    if missing:
        print("inputs not read as expected: " + ", ".join(f"{n} ({run.status[n]})" for n in missing), file=sys.stderr)
    for target in targets:
        print(f"({target.key}) {target.verdict()}: {target.glance()}", file=sys.stderr)
    print(f"(g) {product_glance(run.cuda)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
