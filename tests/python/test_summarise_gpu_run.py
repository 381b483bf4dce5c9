"""bench/summarise_gpu_run.py on the synthetic GPU-run fixture (tests/python/fixtures/gpu_run/,
made-up numbers in the exact formats gpu_session.sh leaves in $OUT): each target's arithmetic
on a passing and a missing case, missing, truncated and unreadable files, and that a number
the run did not produce reads "not measured" and nothing else."""

from __future__ import annotations

import json
import re
import shutil
import io
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gpu_run"

# bench/ is not a package: the script and its gpu_run package are found as the script finds them.
sys.path.insert(0, str(REPOSITORY / "bench"))
import summarise_gpu_run  # noqa: E402
from gpu_run.formatting import NOT_MEASURED, num, percent, with_spread  # noqa: E402
from gpu_run.gather import ARCHIVE_PATTERN, gather_calls  # noqa: E402
from gpu_run.inputs import CUDA_BENCH_GROUPS, INPUTS, parse_gain, read_run  # noqa: E402
from gpu_run.machine import session_commands  # noqa: E402
from gpu_run.render import render  # noqa: E402


def document(outdir: Path) -> str:
    text, _, _ = render(read_run(outdir), None)
    return text


def section(text: str, heading: str) -> str:
    """From the heading line to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"#{1,%d} " % level, lines[i])), len(lines))
    return "\n".join(lines[start:end])


def tables(text: str) -> List[List[Dict[str, str]]]:
    """Every Markdown table in `text`, as rows keyed by the header's cells."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(header, [c.strip() for c in lines[i].strip().strip("|").split("|")])))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def rows_of(text: str, heading: str) -> List[Dict[str, str]]:
    return tables(section(text, heading))[0]


def row(rows: List[Dict[str, str]], **match: str) -> Dict[str, str]:
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, (match, hits)
    return hits[0]


def fixture_copy(tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(FIXTURE, target)
    return target


def median_ms(path: Path, run_name: str) -> float:
    for entry in json.loads(path.read_text())["benchmarks"]:
        if entry.get("run_name") == run_name and entry.get("aggregate_name") == "median":
            return entry["real_time"]
    raise KeyError(run_name)


def counter(path: Path, run_name: str, name: str) -> float:
    for entry in json.loads(path.read_text())["benchmarks"]:
        if entry.get("run_name") == run_name and entry.get("aggregate_name") == "median":
            return entry[name]
    raise KeyError(run_name)


@pytest.fixture(scope="module")
def full() -> str:
    return document(FIXTURE)


# --- the header --------------------------------------------------------------------------


def test_header_names_machine_date_commands_and_says_measured(full):
    head = full.split("## Inputs")[0]
    assert "NVIDIA FIXTURE-GPU 80GB (synthetic)" in head
    assert "driver 999.01.02" in head and "CUDA 99.9" in head and "nvcc 99.9 (V99.9.999)" in head
    assert "- Date: 2000-01-01" in head
    assert "Measured, not copied" in head
    assert ("`build-sm90/bench/bench_cuda_backend --benchmark_filter='^BM_CudaPipelineDeviceResident/' "
            "--benchmark_repetitions=5 --benchmark_min_time=0.1 --benchmark_report_aggregates_only=true "
            "--benchmark_out=$OUT/bench_cuda_pipeline.json --benchmark_out_format=json`") in head
    assert "`build-sm90/alphareq table1 --backend cuda --quiet`" in head
    assert "phases done: bench table1 (500 s)" in head


def test_date_option_overrides_the_recorded_date():
    text, _, _ = render(read_run(FIXTURE), "2026-12-01")
    assert "- Date: 2026-12-01" in text


def test_commands_and_inputs_match_gpu_session_script():
    """The commands are read from scripts/gpu_session.sh, and the files they write are the
    ones this tool reads: a renamed output would otherwise read as missing."""
    commands = session_commands()
    text = " ".join(command for phase in ("bench", "torch", "table1", "table1cpu") for _, command in commands[phase])
    for name in (*CUDA_BENCH_GROUPS, "bench_cpu.json", "torch_pipeline.json", "torch_probe.json"):
        assert f"$OUT/{name}" in text and name in INPUTS
    assert [output for output, _ in commands["table1"]] == ["table1_cuda.md"]
    assert [output for output, _ in commands["table1cpu"]] == ["table1_cpu.md"]
    assert "--benchmark_report_aggregates_only=true" in text  # the medians the tool reads


@pytest.mark.parametrize("binary, fixture", [("bench_cuda_backend", "bench_cuda.json"),
                                             ("bench_cpu_backend", "bench_cpu.json")])
def test_fixture_names_are_those_the_benchmarks_register(binary, fixture):
    built = [REPOSITORY / folder / "bench" / binary for folder in ("build", "build-sm90")]
    executable = next((path for path in built if path.is_file()), None)
    if executable is None:
        pytest.skip(f"{binary} is not built (cmake --build build --target {binary})")
    listed = set(subprocess.run([str(executable), "--benchmark_list_tests"], capture_output=True, text=True,
                                check=True).stdout.split())
    names = {entry["run_name"] for entry in json.loads((FIXTURE / fixture).read_text())["benchmarks"]}
    assert names <= listed, names - listed


# --- the stage tables --------------------------------------------------------------------


def test_cuda_stage_table_reads_medians_counters_and_stddev(full):
    rows = rows_of(full, "## CUDA stages")
    assert len(rows) == 12  # 4 sizes × 3 precisions
    r = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float32"})
    assert r["setup ms"] == "3.00 ± 0.030"
    assert r["accumulation ms"] == "12.5 ± 0.12"
    assert r["eigenvalues ms"] == "8.00 ± 0.080"
    assert r["fit ms"] == "0.500 ± 0.0050"
    assert r["end to end ms"] == "22.0 ± 0.22"
    # 2·n·D² / accumulate_ms
    assert r["accumulation TFLOP/s (GEMM-equivalent)"] == num(2 * 10000 * 2048 ** 2 / 12.5e-3 * 1e-12) == "6.71"
    absent = row(rows, **{"n × D": "50,000 × 2,048", "precision": "float64"})
    assert set(list(absent.values())[2:]) == {NOT_MEASURED}


def test_cpu_table_ratios_and_unit_conversion(full):
    rows = rows_of(full, "## CPU backend")
    r = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float64"})
    assert r["CPU accumulation ms"] == "400 ± 4.0" and r["CPU / GPU accumulation"] == "20.0×"  # 400 / 20
    assert r["CPU eigenvalues ms"] == "300 ± 3.0" and r["CPU / GPU eigenvalues"] == "20.0×"    # 300 / 15
    assert r["CPU fit ms"] == "0.00400 ± 0.000040"  # BM_Fit is reported in µs
    assert r["CPU end to end ms"] == "1,000 ± 10" and r["CPU / GPU end to end"] == "25.0×"
    float32 = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float32"})
    assert float32["CPU end to end ms"] == NOT_MEASURED  # the CPU bench has float64 only
    big = row(rows, **{"n × D": "10,000 × 4,096", "precision": "float64"})
    assert set(list(big.values())[2:]) == {NOT_MEASURED}


# --- the targets -------------------------------------------------------------------------


def test_a_accumulation_against_gemm_ceiling(full):
    rows = rows_of(full, "### (a)")
    cuda = FIXTURE / "bench_cuda.json"
    gemm = median_ms(cuda, "BM_CublasGemmCeiling/16384/2048/1/manual_time")
    for n, expected, verdict in ((10000, "80.0 %", "PASS"), (50000, "40.0 %", "MISS")):
        accumulate = counter(cuda, f"BM_CudaPipelineDeviceResident/{n}/2048/1/manual_time", "accumulate_ms")
        fraction = (2 * n * 2048 ** 2 / accumulate) / (2 * 16384 * 2048 ** 2 / gemm)
        r = row(rows, what="pipeline accumulation", **{"n × D": f"{n:,} × 2,048", "precision": "float32"})
        assert r["fraction of GEMM"] == percent(fraction) == expected
        assert r["verdict"] == verdict
    assert row(rows, what="pipeline accumulation", **{"n × D": "10,000 × 4,096", "precision": "float32"})[
        "fraction of GEMM"] == "160 %"
    no_ceiling = row(rows, what="pipeline accumulation", **{"n × D": "100,000 × 1,024", "precision": "float32"})
    assert no_ceiling["ms"] == "50.0 ± 0.50"
    assert no_ceiling["GEMM ceiling (16,384 × D) ms"] == NOT_MEASURED
    assert no_ceiling["fraction of GEMM"] == NOT_MEASURED and no_ceiling["verdict"] == NOT_MEASURED
    tf32 = row(rows, what="pipeline accumulation", **{"n × D": "10,000 × 2,048", "precision": "tf32"})
    assert tf32["fraction of GEMM"] == "50.0 %" and tf32["verdict"] == "info"  # not counted
    assert "Verdict: **MISS**" in section(full, "### (a)")
    assert "2·n·D²" in section(full, "### (a)")  # the convention is stated


def test_b_end_to_end_against_syevd_alone(full):
    rows = rows_of(full, "### (b)")
    assert row(rows, **{"n × D": "10,000 × 2,048", "precision": "float64"})["end to end / syevd"] == "2.00×"
    assert row(rows, **{"n × D": "10,000 × 2,048", "precision": "float64"})["verdict"] == "MISS"
    passing = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float32"})
    assert passing["end to end / syevd"] == "1.10×" and passing["verdict"] == "PASS"
    # BM_CusolverSyevdAlone/4096 was skipped with an error (real_time 0): no number from it.
    errored = row(rows, **{"n × D": "10,000 × 4,096", "precision": "float32"})
    assert errored["end to end ms"] == "100 ± 1.0"
    assert errored["syevd alone ms"] == errored["end to end / syevd"] == errored["verdict"] == NOT_MEASURED
    assert "`BM_CusolverSyevdAlone/4096`" in full and "synthetic fixture error" in full


def test_c_against_pytorch_at_equal_precision(full):
    rows = rows_of(full, "### (c)")
    faster = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float64", "features": "device"})
    assert faster["torch / alphareq"] == "1.25×" and faster["verdict"] == "PASS"
    assert faster["PyTorch ms, median (min–max)"] == "50.0 (45.0–60.0)"
    slower = row(rows, **{"n × D": "10,000 × 2,048", "precision": "float32", "features": "device"})
    assert slower["torch / alphareq"] == "0.800×" and slower["verdict"] == "MISS"
    alone = row(rows, **{"n × D": "50,000 × 2,048", "precision": "float64", "features": "device"})
    assert alone["PyTorch ms, median (min–max)"] == "100 (90.0–110)"
    assert alone["alphareq ms, median (min–max)"] == alone["torch / alphareq"] == alone["verdict"] == NOT_MEASURED
    copies = rows_of(full, "### Host → device copies")
    assert row(copies, **{"n × D": "10,000 × 2,048", "precision": "float64"})["PyTorch copy ms"] == "20.0"


def test_c_equal_times_are_not_faster(tmp_path):
    out = fixture_copy(tmp_path)
    data = json.loads((out / "torch_pipeline.json").read_text())
    first = data["results"][0]
    first["alphareq"]["stages_ms"]["total"]["median"] = first["torch"]["stages_ms"]["total"]["median"]
    (out / "torch_pipeline.json").write_text(json.dumps(data))
    r = row(rows_of(document(out), "### (c)"), **{"n × D": "10,000 × 2,048", "precision": "float64",
                                                   "features": "device"})
    assert r["torch / alphareq"] == "1.00×" and r["verdict"] == "MISS"


def test_d_against_cpu_passes_and_misses(full, tmp_path):
    r = row(rows_of(full, "### (d)"), **{"n × D": "10,000 × 2,048", "precision": "float64"})
    assert (r["CPU / GPU"], r["verdict"]) == ("25.0×", "PASS")  # 1,000 / 40 ms
    out = fixture_copy(tmp_path)
    data = json.loads((out / "bench_cpu.json").read_text())
    for entry in data["benchmarks"]:
        if entry["run_name"] == "BM_ComputeAlphaEndToEnd/10000/2048/real_time" and entry["aggregate_name"] == "median":
            entry["real_time"] = 400.0
    (out / "bench_cpu.json").write_text(json.dumps(data))
    text = document(out)
    r = row(rows_of(text, "### (d)"), **{"n × D": "10,000 × 2,048", "precision": "float64"})
    assert (r["CPU / GPU"], r["verdict"]) == ("10.0×", "MISS")
    assert "Verdict: **MISS**" in section(text, "### (d)")


def test_e_host_stream_against_bare_copy(full):
    rows = rows_of(full, "### (e)")
    pageable = row(rows, **{"host memory": "pageable"})
    assert (pageable["stream / copy"], pageable["verdict"]) == ("1.50×", "MISS")
    locked = row(rows, **{"host memory": "page-locked"})
    assert (locked["stream / copy"], locked["verdict"]) == ("1.20×", "PASS")
    rate = 1281167 * 2048 * 4e-9 / 0.5  # GB in 500 ms; the fixture's stddev is 1 %
    assert locked["bare copy GB/s"] == with_spread(rate, rate / 100)


def test_f_table1_gains_against_ten_times_the_paper(full):
    rows = rows_of(full, "### (f)")
    cifar = row(rows, dataset="CIFAR10")
    assert (cifar["perf. gains"], cifar["target"], cifar["verdict"]) == ("200×", "≥ 160×", "PASS")
    assert cifar["α, in memory"] == "0.01 ± 0.001 s"
    assert row(rows, dataset="STL10")["verdict"] == "MISS"
    imagenet = row(rows, dataset="ImageNet")  # "~1.5e+03x": the tool prints %.3g
    assert (imagenet["perf. gains"], imagenet["target"], imagenet["verdict"]) == ("1,500×", "≥ 150×", "PASS")


def test_g_product_routine_decision(full):
    rows = rows_of(full, "### (g)")
    assert row(rows, D="1,024", precision="float32")["default is the faster?"] == "no: gemm is faster"
    assert row(rows, D="2,048", precision="float32")["default is the faster?"] == "yes"
    tf32 = row(rows, D="2,048", precision="tf32")
    assert (tf32["faster"], tf32["default now"], tf32["GEMM / SYRK"]) == ("gemm", "gemm", "0.500×")
    assert row(rows, D="8,192", precision="float64")["faster"] == NOT_MEASURED


def test_glance_table_gives_worst_row_and_overall_verdict(full):
    glance = rows_of(full, "## Targets at a glance")
    verdicts = {r["target"][:3]: r["verdict"] for r in glance}
    assert verdicts == {"(a)": "MISS", "(b)": "MISS", "(c)": "MISS", "(d)": "PASS", "(e)": "MISS", "(f)": "MISS",
                        "(g)": "decision"}
    a = next(r for r in glance if r["target"].startswith("(a)"))
    assert a["measured (least favourable row)"] == "40.0 % at 50,000 × 2,048 float32; 2 of 3 pass (1 not measured)"


# --- Table 1 and the probe as measured ---------------------------------------------------


def test_table1_files_are_copied_verbatim(full):
    for name in ("table1_cuda.md", "table1_cpu.md"):
        assert (FIXTURE / name).read_text().strip() in full


def test_probe_epochs_per_second(full):
    rows = rows_of(full, "## Linear probe")
    cifar = row(rows, dataset="CIFAR10")
    assert (cifar["PyTorch epochs/s"], cifar["alphareq epochs/s"]) == ("10.0", "40.0")
    assert cifar["alphareq / PyTorch"] == "4.00×"
    stl = row(rows, dataset="STL10")
    assert stl["alphareq epochs/s"] == stl["alphareq / PyTorch"] == stl["alphareq train / test acc. %"] == NOT_MEASURED
    assert "STL10: alphareq probe failed" in full


# --- missing, truncated and unreadable files ---------------------------------------------

# Columns that name a case rather than hold a measurement.
LABELS = {"n × D", "precision", "features", "what", "D", "dataset", "host memory", "default now", "file", "from",
          "status", "target", "train / test", "epochs"}


def test_empty_folder_gives_not_measured_everywhere(tmp_path):
    text = document(tmp_path)
    for name in INPUTS:
        assert row(rows_of(text, "## Inputs"), file=f"`{name}`")["status"] == "missing"
    for table in tables(text):
        for r in table:
            for column, cell in r.items():
                if column in LABELS:
                    continue
                if column == "verdict" and r.get("target", "").startswith("(g)"):
                    assert cell == "decision"
                else:
                    assert cell == NOT_MEASURED, (column, cell, r)
    assert "- Date: not recorded" in text
    assert "not measured (table1_cuda.md: missing)." in text
    assert "not measured (torch_probe.json: missing)." in text


def test_no_placeholder_numbers_anywhere(full, tmp_path):
    for text in (full, document(tmp_path)):
        assert not re.search(r"\b(nan|NaN|None|inf)\b", text)
        for table in tables(text):
            for r in table:
                for cell in r.values():
                    # no dash or empty placeholder, and an errored case's real_time of 0
                    # never surfaces as a time
                    assert cell not in ("", "-", "—", "?") and not re.fullmatch(r"0(\.0*)?( ±.*)?×?", cell), r


def test_some_files_missing(tmp_path):
    out = fixture_copy(tmp_path)
    for name in ("bench_cpu.json", "table1_cuda.md", "torch_probe.json", "machine.txt"):
        (out / name).unlink()
    text = document(out)
    inputs = rows_of(text, "## Inputs")
    assert row(inputs, file="`bench_cpu.json`")["status"] == "missing"
    assert row(inputs, file="`bench_cuda.json`")["status"].startswith("read")
    cpu = row(rows_of(text, "## CPU backend"), **{"n × D": "10,000 × 2,048", "precision": "float64"})
    assert set(list(cpu.values())[2:]) == {NOT_MEASURED}
    assert "Verdict: **not measured**" in section(text, "### (d)")
    assert "Verdict: **not measured**" in section(text, "### (f)")
    assert "Verdict: **MISS**" in section(text, "### (a)")  # CUDA numbers still read
    # machine.txt gone: the GPU and driver come from summary.txt, CUDA and nvcc are unknown
    head = text.split("## Inputs")[0]
    assert "NVIDIA FIXTURE-GPU 80GB (synthetic)" in head and "driver 999.01.02" in head
    assert "supports CUDA not recorded" in head and "nvcc not recorded" in head
    assert "- Date: 2000-01-01" in head  # from the benchmark JSON's context


def test_truncated_benchmark_json_keeps_complete_entries(tmp_path):
    out = fixture_copy(tmp_path)
    text = (out / "bench_cuda.json").read_text()
    cut = text.index('"run_name": "BM_CudaProductRoutine')  # inside the first product entry
    (out / "bench_cuda.json").write_text(text[:cut])
    summary = document(out)
    assert row(rows_of(summary, "## Inputs"), file="`bench_cuda.json`")["status"].startswith("truncated")
    stages = rows_of(summary, "## CUDA stages")
    assert row(stages, **{"n × D": "10,000 × 2,048", "precision": "float32"})["end to end ms"] == "22.0 ± 0.22"
    assert row(rows_of(summary, "### (e)"), **{"host memory": "pageable"})["stream / copy"] == NOT_MEASURED


def split_cuda_benchmarks(out: Path) -> Dict[str, str]:
    """The fixture's bench_cuda.json as the bench phase writes it: one file per group,
    each case in the group gpu_session.sh's --benchmark_filter puts it in."""
    script = (REPOSITORY / "scripts" / "gpu_session.sh").read_text().replace("\\\n", " ")
    filters = dict((name, pattern) for pattern, name in re.findall(
        r"--benchmark_filter='([^']+)'.*?--benchmark_out=\"\$out/(bench_cuda_\w+\.json)\"", script))
    assert sorted(filters) == sorted(CUDA_BENCH_GROUPS)
    single = json.loads((out / "bench_cuda.json").read_text())
    (out / "bench_cuda.json").unlink()
    texts = {}
    for name, pattern in filters.items():
        entries = [e for e in single["benchmarks"] if re.search(pattern, e["run_name"])]
        texts[name] = json.dumps({"context": single["context"], "benchmarks": entries}, indent=2)
        (out / name).write_text(texts[name])
    # every case is in exactly one group
    assert sum(len(json.loads(t)["benchmarks"]) for t in texts.values()) == len(single["benchmarks"])
    return texts


def test_cuda_benchmarks_in_group_files_read_as_one(tmp_path):
    out = fixture_copy(tmp_path)
    split_cuda_benchmarks(out)
    text = document(out)
    # Only the Inputs section, which names the files, differs from reading the single file.
    assert full_without_inputs(text) == full_without_inputs(document(FIXTURE))
    inputs = rows_of(text, "## Inputs")
    for name in CUDA_BENCH_GROUPS:
        assert row(inputs, file=f"`{name}`")["status"].startswith("read")
    assert not [r for r in inputs if r["file"] == "`bench_cuda.json`"]
    # the fixture's errored case is named under the group file that holds it
    assert "- bench_cuda_ceilings.json: 1 case(s) skipped with `synthetic fixture error" in text


def test_an_aborted_group_loses_only_its_own_cases(tmp_path):
    """Google Benchmark 1.7 aborts mid-file when a case fails in some repetitions: that
    group's file is cut off (read up to its last complete entry), a group that did not run
    is missing, and the other groups' numbers stand."""
    out = fixture_copy(tmp_path)
    texts = split_cuda_benchmarks(out)
    product = texts["bench_cuda_product.json"]
    (out / "bench_cuda_product.json").write_text(product[:product.index('"run_name": "BM_CudaProductRoutine/16384/2048')])
    (out / "bench_cuda_host.json").unlink()
    text = document(out)
    inputs = rows_of(text, "## Inputs")
    assert row(inputs, file="`bench_cuda_product.json`")["status"].startswith("truncated")
    assert row(inputs, file="`bench_cuda_host.json`")["status"] == "missing"
    stages = rows_of(text, "## CUDA stages")
    assert row(stages, **{"n × D": "10,000 × 2,048", "precision": "float32"})["end to end ms"] == "22.0 ± 0.22"
    assert row(rows_of(text, "### (b)"), **{"n × D": "10,000 × 2,048", "precision": "float32"})["verdict"] == "PASS"
    assert row(rows_of(text, "### (e)"), **{"host memory": "pageable"})["stream / copy"] == NOT_MEASURED
    products = rows_of(text, "### (g)")
    assert row(products, D="1,024", precision="float32")["default is the faster?"] == "no: gemm is faster"
    assert row(products, D="2,048", precision="float32")["faster"] == NOT_MEASURED


def test_group_files_from_several_calls_are_gathered(tmp_path):
    """The bench phase split over two calls (a group cut by one call's budget, run again in
    the next): each group file from the last call that has it."""
    out = fixture_copy(tmp_path / "fixture")
    texts = split_cuda_benchmarks(out)
    gpu_line = (FIXTURE / "summary.txt").read_text().splitlines()[0]
    first = device_call(tmp_path / "call1", "bench",
                        {"bench_cuda_pipeline.json": texts["bench_cuda_pipeline.json"],
                         "bench_cuda_product.json": texts["bench_cuda_product.json"][:200]},
                        f"{gpu_line}\nphases bench done in 500 s\n")
    second = device_call(tmp_path / "call2", "bench",
                         {name: texts[name] for name in ("bench_cuda_product.json", "bench_cuda_ceilings.json",
                                                         "bench_cuda_host.json")},
                         f"{gpu_line}\nphases bench done in 300 s\n")
    merged = tmp_path / "merged"
    gather_calls([first, second], merged)
    inputs = rows_of(document(merged), "## Inputs")
    for name in CUDA_BENCH_GROUPS:
        assert row(inputs, file=f"`{name}`")["status"].startswith("read"), name


def full_without_inputs(text: str) -> str:
    """The document less its Inputs section (which names the files read)."""
    return re.sub(r"## Inputs\n.*?(?=\n## )", "", text, flags=re.DOTALL)


def test_unreadable_files_are_named(tmp_path):
    out = fixture_copy(tmp_path)
    (out / "torch_pipeline.json").write_text("{ not json")
    (out / "bench_cpu.json").write_text("")
    text = document(out)
    inputs = rows_of(text, "## Inputs")
    assert row(inputs, file="`torch_pipeline.json`")["status"].startswith("unreadable")
    assert row(inputs, file="`bench_cpu.json`")["status"].startswith("unreadable")
    assert "Verdict: **not measured**" in section(text, "### (c)")


# --- several device-tool calls ----------------------------------------------------------


def device_call(folder: Path, phases: str, files: Dict[str, str], summary: str,
                extra_members: Dict[str, str] = {}) -> Path:
    """What one call of gpu_session.sh leaves in files_at: summary.txt beside the archive of
    its folder (members at the top level, as `tar -C "$out" .` writes them: ./name)."""
    folder.mkdir(parents=True)
    (folder / "summary.txt").write_text(summary)
    with tarfile.open(folder / f"gpu-session-{phases}.tar.gz", "w:gz") as tar:
        for name, text in {**files, "summary.txt": summary, **extra_members}.items():
            data = text.encode()
            member = tarfile.TarInfo(name if name.startswith(("/", "..", "sub/")) else f"./{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return folder


def test_script_archive_name_is_the_one_gathered():
    script = (REPOSITORY / "scripts" / "gpu_session.sh").read_text()
    name = re.search(r"^archive=(\S+?)\$", script, re.MULTILINE).group(1)
    assert Path(name + "tests-sanitize.tar.gz").match(ARCHIVE_PATTERN)
    # The script packs this call's folder into the tool's folder after every step.
    assert script.count("\n  pack\n") >= 6 and "trap pack EXIT" in script


def test_calls_are_gathered_in_order(tmp_path):
    fixture = {name: (FIXTURE / name).read_text() for name in ("bench_cuda.json", "machine.txt", "table1_cpu.md")}
    gpu_line = (FIXTURE / "summary.txt").read_text().splitlines()[0]
    first = device_call(tmp_path / "call1", "tests-sanitize",
                        {"machine.txt": fixture["machine.txt"], "table1_cpu.md": "stale first attempt\n"},
                        f"{gpu_line}\nbuild ok in 100 s\nphases tests sanitize done in 500 s\n",
                        extra_members={"../escape.txt": "outside", "sub/deeper.txt": "deeper"})
    second = device_call(tmp_path / "call2", "bench-table1",
                         {"machine.txt": "Thu Jan 01 00:00:00 UTC 2099\n", "bench_cuda.json": fixture["bench_cuda.json"],
                          "table1_cpu.md": fixture["table1_cpu.md"]},
                         f"{gpu_line}\nbuild ok in 3 s\nphases bench table1 done in 400 s\n")
    merged = tmp_path / "merged"
    notes = gather_calls([first, second], merged)
    assert sorted(p.name for p in merged.iterdir()) == ["bench_cuda.json", "machine.txt", "summary.txt", "table1_cpu.md"]
    assert (merged / "machine.txt").read_text() == fixture["machine.txt"]  # the first call's
    assert (merged / "table1_cpu.md").read_text() == fixture["table1_cpu.md"]  # the later call's
    summary = (merged / "summary.txt").read_text()
    assert summary.index("tests sanitize done") < summary.index("bench table1 done")
    assert notes[0].startswith("call 1: call1 (") and notes[1].startswith("call 2: call2 (")
    assert not any("WARNING" in note for note in notes)
    head = document(merged).split("## Inputs")[0]
    assert "phases done: tests sanitize (500 s); bench table1 (400 s)" in head
    assert "- Date: 2000-01-01" in head


def test_calls_on_different_gpus_are_flagged_and_bad_archives_named(tmp_path):
    first = device_call(tmp_path / "a", "tests", {}, "NVIDIA H100 80GB HBM3, 570.1, 81559 MiB\n")
    second = device_call(tmp_path / "b", "bench", {}, "NVIDIA H200, 570.1, 143771 MiB\n")
    (second / "gpu-session-torch.tar.gz").write_bytes(b"not gzip")
    notes = gather_calls([first, second], tmp_path / "merged")
    assert any(note.startswith("WARNING: the calls ran on different GPUs (NVIDIA H100 80GB HBM3, NVIDIA H200)")
               for note in notes)
    assert any("gpu-session-torch.tar.gz: not a readable gpu-session archive" in note for note in notes)


def test_command_line_takes_several_calls_and_lists_them(tmp_path, capsys):
    first = device_call(tmp_path / "call1", "bench", {name: (FIXTURE / name).read_text()
                                                      for name in ("bench_cuda.json", "bench_cpu.json", "machine.txt")},
                        (FIXTURE / "summary.txt").read_text())
    archive = device_call(tmp_path / "call2", "table1", {"table1_cuda.md": (FIXTURE / "table1_cuda.md").read_text()},
                          "x, 1.0, 1 MiB\n") / "gpu-session-table1.tar.gz"
    output = tmp_path / "results.md"
    assert summarise_gpu_run.main([str(first), str(archive), "--output", str(output)]) == 0
    text = output.read_text()
    inputs = rows_of(text, "## Inputs")
    assert row(inputs, file="`bench_cpu.json`")["status"] == "read"
    assert row(inputs, file="`table1_cuda.md`")["status"] == "read"
    assert row(inputs, file="`torch_probe.json`")["status"] == "missing"
    assert "- call 2: gpu-session-table1.tar.gz (summary.txt, table1_cuda.md)" in text
    with pytest.raises(SystemExit):
        summarise_gpu_run.main([str(tmp_path / "no-such-call")])
    assert "no such folder or archive" in capsys.readouterr().err


# --- the command line --------------------------------------------------------------------


def test_command_line_writes_results_and_readme_section(tmp_path, capsys):
    output, readme = tmp_path / "results.md", tmp_path / "readme.md"
    assert summarise_gpu_run.main([str(FIXTURE), "--date", "2000-01-02", "--output", str(output),
                           "--readme-section", str(readme)]) == 0
    assert "- Date: 2000-01-02" in output.read_text()
    section_text = readme.read_text()
    assert section_text.startswith("## Performance")
    assert "NVIDIA FIXTURE-GPU 80GB (synthetic)" in section_text and "2000-01-02" in section_text
    assert "results.md" in section_text
    verdicts = [r["verdict"] for r in tables(section_text)[0]]
    assert verdicts == ["MISS", "MISS", "MISS", "PASS", "MISS", "MISS", "decision"]
    err = capsys.readouterr().err
    assert "(d) PASS: 25.0× at 10,000 × 2,048 float64" in err


def test_command_line_prints_to_stdout(capsys):
    assert summarise_gpu_run.main([str(FIXTURE)]) == 0
    assert capsys.readouterr().out.startswith("# CUDA backend on NVIDIA FIXTURE-GPU 80GB (synthetic)")


def test_number_formatting():
    assert num(1234.6) == "1,235"
    assert num(0.0123) == "0.0123"
    assert num(None) == NOT_MEASURED
    assert parse_gain("~1.23e+03x") == 1230.0 and parse_gain("~47.8x") == 47.8


def test_machine_txt_gives_date_and_gpu_when_summary_is_missing(tmp_path):
    out = fixture_copy(tmp_path)
    (out / "summary.txt").unlink()
    machine = (out / "machine.txt").read_text().splitlines()
    (out / "machine.txt").write_text("\n".join(["Fri Dec 31 23:59:59 UTC 1999"] + machine[1:]) + "\n")
    head = document(out).split("## Inputs")[0]
    assert "- Date: 1999-12-31" in head  # machine.txt's `date -u` before the JSON's context
    assert "NVIDIA FIXTURE-GPU 80GB (synth..." in head  # nvidia-smi's table, truncated as it prints it
    assert "driver 999.01.02" in head
