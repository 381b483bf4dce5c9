#pragma once
// Hostile-numerics cases that both backends must pass with the same expectations: each is a
// body that makes its accumulators with `make` (the CPU tests in hostile_numerics_test.cpp
// pass cpu_accumulator, the CUDA tests in tests/gpu/ cuda_accumulator) and adds host batches.
// A case whose tolerance depends on the backend's summation takes it as an argument.

#include <gtest/gtest.h>

#include <alphareq/accumulator.hpp>
#include <alphareq/alpha.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hardening_helpers.hpp"

namespace alphareq::test::hostile_cases {

using MakeAccumulator = std::function<CovarianceAccumulator(std::int64_t d, AccumulationPrecision)>;

// Every column constant, 1e5 rows in one batch (a large n lets the float64 sum of equal
// values drift furthest from n times the value). Before the fix the CPU's centring left
// rounding noise in the covariance, and report() fitted it: α = 6.7 (R² 0.93) with float64
// accumulation, α = 9.2 (R² 0.97) with float32, from data that has no spectrum at all.
// Expectation, for both product precisions: the covariance is exactly zero, every eigenvalue
// is exactly zero, and report() is a clear invalid_input: no rank above the numerical zero.
inline void all_columns_constant(const MakeAccumulator& make) {
  constexpr std::int64_t n = 100000, d = 12;
  std::vector<double> x(static_cast<std::size_t>(n * d));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < d; ++c)
      x[r * d + c] = std::sin(c + 1.0) * std::pow(10.0, c % 5 - 1);
  }
  for (const auto precision : {AccumulationPrecision::float64, AccumulationPrecision::float32}) {
    SCOPED_TRACE(precision == AccumulationPrecision::float64 ? "float64 accumulation"
                                                             : "float32 accumulation");
    auto acc = make(d, precision);
    acc.add_batch(host_matrix(x.data(), n, d));
    for (double v : acc.covariance()) ASSERT_EQ(v, 0.0);
    for (double v : acc.eigenvalues()) ASSERT_EQ(v, 0.0);
    expect_invalid_input(
        [&] {
          acc.report(FitOptions{FitMethod::weighted, 1, 100});
        },
        {"only 0 eigenvalues exceed the numerical-zero threshold 0 ", "at least 3 are needed"});
  }
}

// n = 20 samples of D = 64 features: the covariance has rank n − 1 = 19. Expectation:
// ranks 20..64 are numerical zeros (threshold 1.4e-14 λ_1; measured on the CPU 1.8e-16 λ_1),
// the rank limit is 19 and the clipping names n − 1, and the fit on ranks 1..19 matches the
// reference fit to 1e-9 (measured on the CPU 1e-16).
inline void fewer_samples_than_features(const MakeAccumulator& make) {
  constexpr std::int64_t n = 20, d = 64;
  const auto x = power_law_features(n, d, 1.0, 11);
  auto acc = make(d, AccumulationPrecision::float64);
  acc.add_batch(host_matrix(x.data(), n, d));
  const AlphaReport report = acc.report(FitOptions{FitMethod::weighted, 1, 100});
  expect_report_finite(report);
  const double zero = zero_threshold(report.eigenvalues);
  for (std::int64_t i = n - 1; i < d; ++i) EXPECT_LE(std::abs(report.eigenvalues[i]), zero);
  EXPECT_EQ(report.fit.rank_limit, n - 1);
  EXPECT_EQ(report.fit.last_rank, n - 1);
  EXPECT_NE(report.fit.clip_reason.find("n - 1 = 19"), std::string::npos) << report.fit.clip_reason;
  const auto expected = reference_eigenvalues(x, n, d, n);
  EXPECT_NEAR(report.fit.alpha, reference_fit(expected, 1, n - 1).alpha, 1e-9);
}

// n = 2 (dyadic values: every step is exact): the covariance is (x₁ − x₂)(x₁ − x₂)ᵀ / 4, of
// rank 1. Expectation: covariance and λ_1 = |x₁ − x₂|² / 4 to 1e-14 (relative), the other
// eigenvalues numerical zeros, and report() a clear invalid_input that names n − 1 = 1 — for
// the default window and for 1..100.
inline void two_samples(const MakeAccumulator& make) {
  constexpr std::int64_t d = 5;
  const std::vector<double> x = {1.5, -2.0, 0.25, 7.0,  3.0,   // sample 1
                                 0.5, 1.0,  0.75, -1.0, 3.0};  // sample 2
  auto acc = make(d, AccumulationPrecision::float64);
  acc.add_batch(host_matrix(x.data(), 2, d));
  const auto covariance = acc.covariance();
  double squared_distance = 0.0;
  for (std::int64_t i = 0; i < d; ++i) {
    const double di = x[i] - x[d + i];
    squared_distance += di * di;
    for (std::int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(covariance[i * d + j], di * (x[j] - x[d + j]) / 4.0, 1e-14 * 16.0);
    }
  }
  const auto eigenvalues = acc.eigenvalues();
  EXPECT_NEAR(eigenvalues[0], squared_distance / 4.0, 1e-14 * squared_distance);
  for (std::int64_t i = 1; i < d; ++i)
    EXPECT_LE(std::abs(eigenvalues[i]), zero_threshold(eigenvalues));
  for (const FitOptions& window : {FitOptions{}, FitOptions{FitMethod::weighted, 1, 100}}) {
    expect_invalid_input([&] { acc.report(window); }, {"at least 3 are needed", "n - 1 = 1"});
  }
}

// A single row alone: mean = the row and covariance (by n) 0, both exactly; what needs two
// samples (normalisation by n − 1, eigenvalues, report, compute_alpha on `backend`) is a
// clear invalid_input.
inline void one_row_alone(const MakeAccumulator& make, Backend backend) {
  constexpr std::int64_t d = 16;
  const auto x = random_matrix(1, d, 12, 100.0, 3.0);
  auto single = make(d, AccumulationPrecision::float64);
  single.add_batch(host_matrix(x.data(), 1, d));
  EXPECT_EQ(single.mean(), x);
  for (double v : single.covariance()) EXPECT_EQ(v, 0.0);
  expect_invalid_input([&] { single.covariance(Normalization::by_n_minus_one); },
                       {"needs at least 2 samples"});
  expect_invalid_input([&] { single.eigenvalues(); }, {"needs at least 2 samples"});
  expect_invalid_input([&] { single.report(); }, {"needs at least 2 samples"});
  AlphaOptions options;
  options.accumulator.backend = backend;
  expect_invalid_input([&] { compute_alpha(host_matrix(x.data(), 1, d), options); },
                       {"at least 2 samples"});
}

// D = 1, host batches of 10 and 990 rows: the covariance is the variance (to
// `variance_tolerance`, relative, against the reference) and its one eigenvalue; a fit needs
// 3 ranks, so report() is a clear invalid_input that says there is only D = 1 eigenvalue, for
// the default window and for 1..100.
inline void one_feature(const MakeAccumulator& make, double variance_tolerance) {
  constexpr std::int64_t n = 1000, d = 1;
  const auto x = random_matrix(n, d, 13, -4.0, 0.5);
  auto acc = make(d, AccumulationPrecision::float64);
  acc.add_batch(host_matrix(x.data(), 10, d));
  acc.add_batch(host_matrix(x.data() + 10 * d, 990, d));
  const double variance = two_pass_covariance(x, n, d, n)[0];
  EXPECT_NEAR(acc.covariance()[0], variance, variance_tolerance * variance);
  ASSERT_EQ(acc.eigenvalues().size(), 1u);
  EXPECT_NEAR(acc.eigenvalues()[0], variance, variance_tolerance * variance);
  for (const FitOptions& window : {FitOptions{}, FitOptions{FitMethod::weighted, 1, 100}}) {
    expect_invalid_input([&] { acc.report(window); }, {"at least 3 are needed", "D = 1"});
  }
}

// A float64 accumulator of the n × d features `x` multiplied by `scale`.
inline CovarianceAccumulator accumulate_scaled(const MakeAccumulator& make, std::vector<double> x,
                                               std::int64_t n, std::int64_t d, double scale) {
  for (double& v : x) v *= scale;
  CovarianceAccumulator acc = make(d, AccumulationPrecision::float64);
  acc.add_batch(host_matrix(x.data(), n, d));
  return acc;
}

// Regression (found by the .npy fuzzer): the report's participation ratio (Σλ)² / Σλ² was
// NaN when the eigenvalues exceeded ~1e154 (Inf / Inf) or fell below ~1e-162 (0 / 0); the
// metrics are now computed on λ / λ_1 (shared host code; the CUDA fit works in logarithms).
// Expectation: every number in the report finite, and α the α of the same features at
// scale 1 (α is scale-free) to 1e-9.
inline void report_metrics_for_huge_and_tiny_spectra(const MakeAccumulator& make) {
  constexpr std::int64_t n = 500, d = 16;
  const FitOptions window{FitMethod::weighted, 1, 100};
  const auto unit = power_law_features(n, d, 0.0, 24);
  const double unit_alpha = accumulate_scaled(make, unit, n, d, 1.0).report(window).fit.alpha;
  for (const double scale : {1e100, 1e-100}) {
    SCOPED_TRACE(scale > 1.0 ? "scale 1e100" : "scale 1e-100");
    const AlphaReport report = accumulate_scaled(make, unit, n, d, scale).report(window);
    expect_report_finite(report);
    EXPECT_NEAR(report.fit.alpha, unit_alpha, 1e-9);
  }
}

// Features varying by ~1e-160 (float64): their squares (~1e-320) are subnormal, and α came
// out 0.5 % off without a word (1e-162: "only 0 eigenvalues", as for constant features).
// Expectation: a clear invalid_input saying to scale them up, at 1e-160 and at 1e-200 (the
// squares, and so the covariance, exactly 0); at 1e-130 (squares ~1e-260, normal numbers)
// α equal to the unit-scale α to 1e-9.
inline void tiny_spread_is_refused_and_small_is_exact(const MakeAccumulator& make) {
  constexpr std::int64_t n = 500, d = 16;
  const FitOptions window{FitMethod::weighted, 1, 100};
  const auto unit = power_law_features(n, d, 0.0, 25);
  const double unit_alpha = accumulate_scaled(make, unit, n, d, 1.0).report(window).fit.alpha;
  for (const double scale : {1e-130, 1e-160, 1e-200}) {
    SCOPED_TRACE("scale " + std::to_string(std::log10(scale)));
    const CovarianceAccumulator acc = accumulate_scaled(make, unit, n, d, scale);
    if (scale > 1e-140) {
      EXPECT_NEAR(acc.report(window).fit.alpha, unit_alpha, 1e-9);
    } else {
      expect_invalid_input([&] { acc.report(window); },
                           {"by less than about 1e-140", "scale the features up"});
    }
  }
}

}  // namespace alphareq::test::hostile_cases
