#!/usr/bin/env python3
"""CPU emulation of the CUDA backend's TF32 products: where does their rounding noise lie?

AccumulationPrecision::tf32 hands cuBLAS float32 values that the tensor cores round to TF32
(10 mantissa bits; round to nearest, or truncated in some kernels) and multiply into float32
sums. This script does the same with NumPy (the rounding by bit manipulation, the product by
float32 GEMM, the sum over chunks in float64, shift = the first chunk's column means, as the
CUDA accumulator does) on features of known rank, and prints, against float64 products:
  - the floor: the largest eigenvalue past the true rank, relative to λ_1;
  - the numerical rank under the fit's float32 threshold λ_1 · D · ε32;
  - α over the window (weighted 1/i fit), float64 vs float32 vs TF32.

The tests' statements about TF32 (tests/gpu/cuda_accumulator_test.cpp,
CudaTf32Products.RoundingStaysBelowTheRankThreshold) quote its output:

    python3 bench/emulate_tf32_products.py            # the test's shape, 5 seeds

Needs NumPy only.
"""

import argparse

import numpy as np


def round_to_tf32(values, truncate):
    """float32 values with the 13 low mantissa bits cleared: truncated, or rounded to nearest
    even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if not truncate:
        bits = bits + 0x0FFF + ((bits >> 13) & 1)
    return (bits & ~np.uint64(0x1FFF)).astype(np.uint32).view(np.float32)


def eigenvalues(features, chunk, mode):
    """Descending covariance eigenvalues (divisor n − 1) from chunked products in `mode`:
    'float64', 'float32', 'tf32' (round to nearest) or 'tf32-truncated'."""
    n, d = features.shape
    shift = features[:chunk].mean(axis=0)
    second = np.zeros((d, d))
    sums = np.zeros(d)
    for first in range(0, n, chunk):
        centred = features[first:first + chunk] - shift
        if mode == "float64":
            second += centred.T @ centred
            sums += centred.sum(axis=0)
            continue
        centred = centred.astype(np.float32)
        if mode.startswith("tf32"):
            centred = round_to_tf32(centred, truncate=mode == "tf32-truncated")
        second += (centred.T @ centred).astype(np.float64)  # float32 GEMM, float64 master
        sums += centred.astype(np.float64).sum(axis=0)
    mean = sums / n
    covariance = (second - n * np.outer(mean, mean)) / (n - 1)
    return np.sort(np.linalg.eigvalsh(covariance))[::-1]


def weighted_alpha(lam, first, last):
    ranks = np.arange(first, last + 1)
    weights = 1.0 / ranks
    x, y = np.log(ranks), np.log(lam[first - 1:last])
    x_mean = (weights * x).sum() / weights.sum()
    y_mean = (weights * y).sum() / weights.sum()
    return -(weights * (x - x_mean) * (y - y_mean)).sum() / (weights * (x - x_mean) ** 2).sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--rank", type=int, default=96, help="true rank of the features")
    parser.add_argument("--d", type=int, default=256, help="features: rank + linear combinations")
    parser.add_argument("--alpha", type=float, default=1.5)
    parser.add_argument("--offset", type=float, default=3.0)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--window", type=int, nargs=2, default=(11, 90))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    threshold = args.d * np.finfo(np.float32).eps
    print(f"n {args.n}, rank {args.rank} in D {args.d}, alpha {args.alpha}, offset {args.offset}, "
          f"chunks of {args.chunk}; float32 threshold lambda_1 * D * eps32 = {threshold:.2e} lambda_1")
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.standard_normal((args.rank, args.rank)))
        spread = np.sqrt(np.arange(1, args.rank + 1) ** -args.alpha)
        basis = (rng.standard_normal((args.n, args.rank)) * spread) @ rotation.T + args.offset
        mixing = rng.standard_normal((args.rank, args.d - args.rank)) / np.sqrt(args.rank)
        features = np.hstack([basis, basis @ mixing]).astype(np.float32).astype(np.float64)
        cells = []
        for mode in ("float64", "float32", "tf32", "tf32-truncated"):
            lam = eigenvalues(features, args.chunk, mode)
            floor = lam[args.rank] / lam[0] if args.d > args.rank else 0.0
            rank = int((lam > lam[0] * threshold).sum())
            alpha = weighted_alpha(lam, *args.window)
            cells.append(f"{mode}: floor {floor:.1e}, rank {rank}, alpha {alpha:.5f}")
        print(f"seed {seed}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
