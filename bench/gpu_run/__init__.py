"""The parts of bench/summarise_gpu_run.py, which turns what a GPU session leaves in $OUT
into a Markdown results file. From the bottom up:

  formatting.py      numbers the run may not have produced, as the file writes them
  benchmark_json.py  Google Benchmark JSON: median and stddev aggregates per case
  gather.py          several device-tool calls (folders, archives) into one folder
  inputs.py          reading that folder, tolerant of missing, empty and truncated files
  cases.py           the sizes, precisions and routines the benchmarks register
  machine.py         the machine, the date and the session's commands (the header)
  verdicts.py        a target's rows against their limits, and PASS/MISS
  targets.py         the GPU issue's targets (a)–(f)
  product.py         (g): SYRK or GEMM for each batch's product
  tables.py          the stage tables, Table 1, the probe and the input list
  render.py          the results file and the README section, in order

Standard library only (Python ≥ 3.8), so that it runs on the GPU machine's bare python3.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]  # bench/gpu_run/ → the repository root
