#!/usr/bin/env python3
"""CPU emulation of the CUDA backend's TF32 products: where does their rounding noise lie?

AccumulationPrecision::tf32 rounds each centred float32 value to TF32 (10 mantissa bits, to
nearest, ties to even: core/tf32_rounding.hpp) in the conversion kernel, then hands those
values to a TF32 GEMM (which takes them unchanged) and to the float32 column sums alike, and
sums the products over chunks in float64, shift = the first chunk's column means. This script
does the same with NumPy (rounding by bit manipulation, float32 GEMM) and compares it with
float64 and float32 products, and with what the tensor cores alone would give (products of
values they round to nearest or truncate, column sums of the unrounded values: the backend
before it rounded itself).

Two scenarios:
  spectrum (default): features of known rank (a power law plus exact linear combinations)
    in chunks of 1000; prints, against float64 products, the floor (the largest eigenvalue
    past the true rank, relative to λ_1), the numerical rank under the fit's float32
    threshold λ_1 · D · ε32, and α over the window (weighted 1/i fit). Quoted by
    CudaTf32Products.RoundingStaysBelowTheRankThreshold.
  outlier-shift: N(3, 1) features whose first batch is a single sample 20 spreads out
    (the shift), then batches of 250; prints the covariance's largest entry error relative
    to its largest entry. Quoted by CudaTf32Products.ColumnSumsSeeTheValuesTheProductsUse.

    python3 bench/emulate_tf32_products.py                           # 5 seeds
    python3 bench/emulate_tf32_products.py --scenario outlier-shift --seeds 8

Needs NumPy only.
"""

import argparse

import numpy as np

MODES = ("float64", "float32", "tf32", "tensor-cores-nearest", "tensor-cores-truncating")


def round_to_tf32(values, truncate=False):
    """float32 values with the 13 low mantissa bits cleared: truncated, or rounded to nearest
    even (core/tf32_rounding.hpp; values here stay far from float32's overflow)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if not truncate:
        bits = bits + 0x0FFF + ((bits >> 13) & 1)
    return (bits & ~np.uint64(0x1FFF)).astype(np.uint32).view(np.float32)


def chunked_covariance(features, batches, mode):
    """Covariance (divisor n − 1) from products over `batches` (row ranges) in `mode`, shift =
    the first batch's column means, as the CUDA accumulator does."""
    n, d = features.shape
    first, last = batches[0]
    shift = features[first:last].mean(axis=0)
    second = np.zeros((d, d))
    sums = np.zeros(d)
    for first, last in batches:
        centred = features[first:last] - shift
        if mode == "float64":
            second += centred.T @ centred
            sums += centred.sum(axis=0)
            continue
        centred = centred.astype(np.float32)
        product_inputs = centred
        if mode == "tf32":
            centred = product_inputs = round_to_tf32(centred)
        elif mode.startswith("tensor-cores"):
            product_inputs = round_to_tf32(centred, truncate=mode.endswith("truncating"))
        second += (product_inputs.T @ product_inputs).astype(np.float64)  # float32 GEMM
        sums += centred.astype(np.float64).sum(axis=0)
    mean = sums / n
    return (second - n * np.outer(mean, mean)) / (n - 1)


def weighted_alpha(lam, first, last):
    ranks = np.arange(first, last + 1)
    weights = 1.0 / ranks
    x, y = np.log(ranks), np.log(lam[first - 1:last])
    x_mean = (weights * x).sum() / weights.sum()
    y_mean = (weights * y).sum() / weights.sum()
    return -(weights * (x - x_mean) * (y - y_mean)).sum() / (weights * (x - x_mean) ** 2).sum()


def spectrum_scenario(args):
    threshold = args.d * np.finfo(np.float32).eps
    print(f"n {args.n}, rank {args.rank} in D {args.d}, alpha {args.alpha}, offset {args.offset}, "
          f"chunks of {args.chunk}; float32 threshold lambda_1 * D * eps32 = {threshold:.2e} lambda_1")
    batches = [(first, min(first + args.chunk, args.n)) for first in range(0, args.n, args.chunk)]
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.standard_normal((args.rank, args.rank)))
        spread = np.sqrt(np.arange(1, args.rank + 1) ** -args.alpha)
        basis = (rng.standard_normal((args.n, args.rank)) * spread) @ rotation.T + args.offset
        mixing = rng.standard_normal((args.rank, args.d - args.rank)) / np.sqrt(args.rank)
        features = np.hstack([basis, basis @ mixing]).astype(np.float32).astype(np.float64)
        cells = []
        for mode in MODES:
            lam = np.sort(np.linalg.eigvalsh(chunked_covariance(features, batches, mode)))[::-1]
            floor = lam[args.rank] / lam[0] if args.d > args.rank else 0.0
            rank = int((lam > lam[0] * threshold).sum())
            alpha = weighted_alpha(lam, *args.window)
            cells.append(f"{mode}: floor {floor:.1e}, rank {rank}, alpha {alpha:.5f}")
        print(f"seed {seed}: " + " | ".join(cells))


def outlier_shift_scenario(args):
    n, d, batch, spreads = 4000, 32, 250, 20.0
    print(f"n {n}, D {d}, N(3, 1) features; the first batch is one sample {spreads} spreads out "
          f"(the shift), then batches of {batch}; largest covariance entry error / largest entry")
    batches = [(0, 1)] + [(first, min(first + batch, n)) for first in range(1, n, batch)]
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        features = rng.normal(3.0, 1.0, (n, d))
        features[0] = 3.0 + spreads
        features = features.astype(np.float32).astype(np.float64)
        exact = np.cov(features, rowvar=False)
        cells = []
        for mode in MODES[1:]:
            error = np.abs(chunked_covariance(features, batches, mode) - exact).max()
            cells.append(f"{mode}: {error / np.abs(exact).max():.1e}")
        print(f"seed {seed}: " + " | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("spectrum", "outlier-shift"), default="spectrum")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--rank", type=int, default=96, help="true rank of the features")
    parser.add_argument("--d", type=int, default=256, help="features: rank + linear combinations")
    parser.add_argument("--alpha", type=float, default=1.5)
    parser.add_argument("--offset", type=float, default=3.0)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--window", type=int, nargs=2, default=(11, 90))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.scenario == "spectrum":
        spectrum_scenario(args)
    else:
        outlier_shift_scenario(args)


if __name__ == "__main__":
    main()
