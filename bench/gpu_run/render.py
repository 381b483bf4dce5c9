"""The results file, section by section, and the short README section that links it."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from .formatting import NOT_RECORDED, markdown_table
from .inputs import Run
from .machine import header, machine_facts
from .product import product_glance, product_table
from .tables import (copy_table, cpu_stage_table, cuda_stage_table, inputs_section, probe_section, skipped_cases,
                     table1_section)
from .targets import build_targets
from .verdicts import Target


def render(run: Run, date: Optional[str]) -> Tuple[str, List[Target], Dict[str, Optional[str]]]:
    """(the results file, the targets, the machine's facts); `date` overrides the recorded one."""
    torch_env = run.torch_environment()
    facts = machine_facts(run.machine, run.summary, run.cuda, run.cpu, torch_env)
    targets = build_targets(run)
    lines = header(facts, date or facts["date"], torch_env, run.cpu, run.summary)
    lines += inputs_section(run)
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


def glance_table(targets: Sequence[Target], run: Run) -> str:
    rows = [[f"({t.key}) {t.title}", t.target_text, t.glance(), t.verdict()] for t in targets]
    rows.append(["(g) SYRK or GEMM for each batch's product", "the default is the faster routine",
                 product_glance(run.cuda), "decision"])
    return markdown_table(["target", "what", "measured (least favourable row)", "verdict"], rows)


def readme_section(targets: Sequence[Target], run: Run, facts: Dict[str, Optional[str]], date: Optional[str],
                   results_file: Optional[str]) -> str:
    """"## Performance": the targets at a glance, linking `results_file` where there is one."""
    where = f"; full results, commands and machine: [{results_file}]({results_file})" if results_file else ""
    rows = [[f"({t.key}) {t.target_text}", t.glance(), t.verdict()] for t in targets]
    rows.append(["(g) SYRK or GEMM: the default is the faster routine", product_glance(run.cuda), "decision"])
    return "\n".join([
        "## Performance", "",
        f"Measured on {facts['gpu'] or 'the GPU machine'} (driver {facts['driver'] or NOT_RECORDED}, CUDA "
        f"{facts['cuda_driver'] or NOT_RECORDED}) on {date or facts['date'] or 'an unrecorded date'}{where}.", "",
        markdown_table(["target", "measured (least favourable row)", "verdict"], rows), ""])
