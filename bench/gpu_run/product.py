"""(g): SYRK or GEMM for each batch's product. Not a target with a limit but a decision: is
the routine the library picks by default the faster one for each D and precision?
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional

from .benchmark_json import BenchmarkResults, Stat, median_of, stat_text
from .cases import DEFAULT_PRODUCT, PRECISIONS, PRODUCT_ROWS, PRODUCT_SIZES
from .formatting import NOT_MEASURED, divide, markdown_table, ratio


class ProductCase(NamedTuple):
    d: int
    precision: str
    syrk: Optional[Stat]
    gemm: Optional[Stat]
    faster: Optional[str]  # "syrk", "gemm", or None where either is not measured


def product_cases(cuda: BenchmarkResults) -> List[ProductCase]:
    """Every case bench_cuda_backend registers for BM_CudaProductRoutine."""
    cases = []
    for d in PRODUCT_SIZES:
        for code, name in PRECISIONS.items():
            syrk = cuda.time_ms("BM_CudaProductRoutine", PRODUCT_ROWS, d, code, 0)
            gemm = cuda.time_ms("BM_CudaProductRoutine", PRODUCT_ROWS, d, code, 1)
            faster = None if syrk is None or gemm is None else ("syrk" if syrk.median < gemm.median else "gemm")
            cases.append(ProductCase(d, name, syrk, gemm, faster))
    return cases


def product_table(cuda: BenchmarkResults) -> List[str]:
    """SYRK against GEMM per D and precision, and whether the default is the faster."""
    rows = []
    for d, name, syrk, gemm, faster in product_cases(cuda):
        default, agrees = DEFAULT_PRODUCT[name], NOT_MEASURED
        if syrk and gemm and faster:
            close = abs(syrk.median - gemm.median) <= (syrk.stddev or 0.0) + (gemm.stddev or 0.0)
            agrees = ("yes" if faster == default else f"no: {faster} is faster") + \
                     (" (within the spread)" if close else "")
        rows.append([f"{d:,}", name, stat_text(syrk), stat_text(gemm),
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
    measured = [case for case in product_cases(cuda) if case.faster]
    if not measured:
        return NOT_MEASURED
    wrong = [f"{case.precision} D = {case.d:,} ({case.faster})" for case in measured
             if case.faster != DEFAULT_PRODUCT[case.precision]]
    if not wrong:
        return f"the default is the faster in all {len(measured)} measured cases"
    return f"the other routine is faster in {len(wrong)} of {len(measured)}: " + ", ".join(wrong)
