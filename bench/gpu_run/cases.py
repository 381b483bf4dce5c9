"""What the benchmarks register, mirrored here so that a case the run did not produce is
listed as "not measured" rather than left out; and the FLOP count the rates use.
"""

from __future__ import annotations

from typing import Optional

from .benchmark_json import BenchmarkResults, Stat

# The stage table's sizes (bench_cuda_backend.cu's stage_sizes, torch_pipeline.py's
# DEFAULT_SIZES) and bench_cuda_backend.cu's precision codes.
STAGE_SIZES = [(10000, 2048), (50000, 2048), (10000, 4096), (100000, 1024)]
PRECISIONS = {0: "float64", 1: "float32", 2: "tf32"}
PRECISION_CODES = {name: code for code, name in PRECISIONS.items()}
CPU_PRECISIONS = ("float64", "float32")  # bench_cpu_backend has no TF32
# The product routine the library picks when ALPHAREQ_CUDA_PRODUCT is unset
# (src/cuda/cuda_accumulator.cpp: GEMM for TF32, which reaches tensor cores; SYRK otherwise).
DEFAULT_PRODUCT = {"float64": "syrk", "float32": "syrk", "tf32": "gemm"}
PRODUCT_SIZES = [512, 1024, 2048, 4096, 8192]  # bench_cuda_backend.cu's product_sizes, n = 16,384
PRODUCT_ROWS = 16384
GEMM_CEILING_ROWS = 16384                       # BM_CublasGemmCeiling's n
IMAGENET = (1281167, 2048)                      # BM_CudaStreamFromHost's features

# Device-resident features → α; arguments (n, D, precision code). Its manual time is end to
# end (a new accumulator each time, as compute_alpha makes one), its counters setup_ms (that
# construction), accumulate_ms, eigenvalues_ms and fit_ms the library's stage timings.
PIPELINE = "BM_CudaPipelineDeviceResident"


def cpu_accumulation(cpu: BenchmarkResults, n: int, d: int, precision: str) -> Optional[Stat]:
    function = "BM_AccumulateFloat64" if precision == "float64" else "BM_AccumulateFloat32"
    return cpu.time_ms(function, n, d)


def cpu_end_to_end(cpu: BenchmarkResults, n: int, d: int, precision: str) -> Optional[Stat]:
    # BM_ComputeAlphaEndToEnd uses AlphaOptions' default: float64 accumulation and solver;
    # BM_ComputeAlphaEndToEndFloat32 float32 accumulation (both at the stage table's sizes).
    function = "BM_ComputeAlphaEndToEnd" if precision == "float64" else "BM_ComputeAlphaEndToEndFloat32"
    return cpu.time_ms(function, n, d)


def flop_rate(n: int, d: int, ms: Optional[float]) -> Optional[float]:
    """flop/s of forming XᵀX, counted 2·n·D² (see target (a)'s note in targets.py)."""
    return None if ms is None or ms <= 0 else 2.0 * n * d * d / (ms * 1e-3)


def tera(rate: Optional[float]) -> Optional[float]:
    return None if rate is None else rate * 1e-12
