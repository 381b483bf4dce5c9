// Hostile numerics on the CPU backend. Each case states its expectation: either the right
// answer to a stated tolerance (against the long-double two-pass covariance and LAPACK
// dsyev of tests/cpu/reference.hpp, and an independent long-double fit), or a clear
// alphareq::invalid_input — never a NaN or Inf in a report, never a hang (CTest's timeout).
// The measured errors quoted in the comments are from the 2-core development machine
// (Debian 12, OpenBLAS); the tolerances leave a factor of 50 or more.

#include <gtest/gtest.h>

#include <algorithm>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/synthetic.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "hardening_helpers.hpp"
#include "hostile_cases.hpp"

namespace alphareq {
namespace {

namespace hostile_cases = test::hostile_cases;

// This file's backend, for the cases shared with the other backend's tests.
CovarianceAccumulator backend_accumulator(std::int64_t d, AccumulationPrecision precision) {
  return test::cpu_accumulator(d, precision);
}

using test::cpu_accumulator;
using test::expect_invalid_input;
using test::expect_report_finite;
using test::power_law_features;
using test::random_matrix;
using test::reference_eigenvalues;
using test::reference_fit;
using test::relative_error;
using test::ScaledFloat32;
using test::scaled_float32_features;
using test::two_pass_covariance;
using test::zero_threshold;

constexpr AccumulationPrecision kF64 = AccumulationPrecision::float64;
constexpr AccumulationPrecision kF32 = AccumulationPrecision::float32;

template <typename T>
void add_in_batches(CovarianceAccumulator& acc, const std::vector<T>& x, std::int64_t d,
                    const std::vector<std::int64_t>& sizes) {
  std::int64_t first = 0;
  for (std::int64_t rows : sizes) {
    acc.add_batch(host_matrix(x.data() + first * d, rows, d));
    first += rows;
  }
}


// ---- Means far above the spread -------------------------------------------------------

// float64 features with mean 1e6 and spread 1 (population λ_i = i^-1, so mean / spread is
// 1e6 in the leading direction and 8e6 in the last), streamed in uneven batches, one of a
// single row. Expectation: covariance within 1e-9 (relative to its largest entry) of the
// long-double two-pass reference on the same values (measured 6e-12), the mean within 1e-13
// (measured 1e-16), α within 1e-9 of the reference fit on the reference's eigenvalues
// (measured 2e-12).
TEST(HostileNumerics, MeanAMillionTimesTheSpreadFloat64) {
  constexpr std::int64_t n = 4000, d = 64;
  const auto x = power_law_features(n, d, 1e6, 7);
  auto acc = cpu_accumulator(d);
  add_in_batches(acc, x, d, {1, 999, 1500, 1500});
  const auto reference = two_pass_covariance(x, n, d, n);
  EXPECT_LT(relative_error(acc.covariance(), reference), 1e-9);
  EXPECT_LT(relative_error(acc.mean(), test::two_pass_mean(x, n, d)), 1e-13);
  const AlphaReport report = acc.report();
  expect_report_finite(report);
  const auto expected = reference_fit(test::dsyev_eigenvalues(reference, d), 11, 64);
  EXPECT_NEAR(report.fit.alpha, expected.alpha, 1e-9);
  EXPECT_NEAR(report.fit.alpha, 1.0, 0.1);  // and it is the population's α, give or take
}

// float32 features with mean 1e3 and spread 1: float32 keeps ~4 digits of the spread
// (ulp(1000) = 6e-5). Expectation, against the reference on the same float32 values:
// float64 accumulation within 1e-12 (measured 5e-15) and α within 1e-10 (measured 7e-16);
// float32 accumulation (SSYRK on float64-centred values) within 1e-5 (measured 1.5e-7) and
// α within 1e-4 (measured 8e-8).
TEST(HostileNumerics, MeanAThousandTimesTheSpreadFloat32) {
  constexpr std::int64_t n = 4000, d = 64;
  const auto x32 = test::to_float(power_law_features(n, d, 1e3, 8));
  const auto x = test::to_double(x32);
  const auto reference = two_pass_covariance(x, n, d, n);
  const auto expected = reference_fit(test::dsyev_eigenvalues(reference, d), 11, 64);
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, 1e-5, 1e-4}}) {
    auto acc = cpu_accumulator(d, precision);
    add_in_batches(acc, x32, d, {1000, 1, 2999});
    EXPECT_LT(relative_error(acc.covariance(), reference), covariance_tolerance);
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    EXPECT_NEAR(report.fit.alpha, expected.alpha, alpha_tolerance);
  }
}

// ---- Constant and collinear columns ---------------------------------------------------

// Three constant columns (0.1, 1e6 + 0.3 and -3.7: none is exactly representable, so their
// float64 sums are not exactly n times the value) among 37 random ones, in two batches.
// Expectation: their covariance rows and columns are exactly 0 (before the fix: ~1e-33, the
// rounding error of the computed mean squared); their three eigenvalues are numerical zeros
// (|λ| <= λ_1 · D · ε = 9e-15 λ_1; measured 2e-17 λ_1); the fit is clipped to the 37 others,
// says why, and gives the α of the 37-column data alone to 1e-10 (measured 4e-16); no NaN
// anywhere.
TEST(HostileNumerics, ConstantColumnsHaveExactlyZeroCovarianceAndAreClippedFromTheFit) {
  constexpr std::int64_t n = 500, d = 40;
  const std::vector<std::int64_t> constant = {0, 17, 39};
  const std::vector<double> values = {0.1, 1e6 + 0.3, -3.7};
  auto x = power_law_features(n, d, 5.0, 9);
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < constant.size(); ++k) x[r * d + constant[k]] = values[k];
  }
  for (const auto precision : {kF64, kF32}) {
    SCOPED_TRACE(precision == kF64 ? "float64 accumulation" : "float32 accumulation");
    auto acc = cpu_accumulator(d, precision);
    add_in_batches(acc, x, d, {123, 377});
    const auto covariance = acc.covariance();
    for (std::size_t k = 0; k < constant.size(); ++k) {
      const std::int64_t c = constant[k];
      for (std::int64_t j = 0; j < d; ++j) {
        EXPECT_EQ(covariance[c * d + j], 0.0) << "row " << c << ", column " << j;
        EXPECT_EQ(covariance[j * d + c], 0.0) << "row " << j << ", column " << c;
      }
      EXPECT_EQ(acc.mean()[c], values[k]);
    }
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    const double zero = zero_threshold(report.eigenvalues);
    for (std::int64_t i = d - 3; i < d; ++i) EXPECT_LE(std::abs(report.eigenvalues[i]), zero);
    EXPECT_EQ(report.fit.rank_limit, d - 3);
    EXPECT_TRUE(report.fit.clipped);
    EXPECT_EQ(report.fit.last_rank, d - 3);
    EXPECT_NE(report.fit.clip_reason.find("only 37 eigenvalues exceed the numerical-zero"),
              std::string::npos)
        << report.fit.clip_reason;

    // The same data without the constant columns.
    std::vector<double> varying;
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t c = 0; c < d; ++c) {
        if (std::find(constant.begin(), constant.end(), c) == constant.end())
          varying.push_back(x[r * d + c]);
      }
    }
    auto reduced = cpu_accumulator(d - 3, precision);
    add_in_batches(reduced, varying, d - 3, {123, 377});
    const AlphaReport expected = reduced.report();
    EXPECT_NEAR(report.fit.alpha, expected.fit.alpha, precision == kF64 ? 1e-10 : 1e-6);
  }
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(HostileNumerics, AllColumnsConstantGiveAZeroSpectrumAndAClearError) {
  hostile_cases::all_columns_constant(backend_accumulator);
}

// 30 independent columns and 10 exact multiples of them (×2 and ×(−1): exact in binary
// floating point), so the covariance has rank 30. Expectation: the 10 null eigenvalues are
// numerical zeros (|λ| <= λ_1 · D · ε = 9e-15 λ_1; measured 9e-17 λ_1), the rank limit is 30
// and the clipping says so, the 30 others match the reference to 1e-12 λ_1 (measured
// 7e-16 λ_1) and α matches the reference fit on ranks 11..30 to 1e-9 (measured 0).
TEST(HostileNumerics, CollinearColumnsAreRankDeficientAndClippedFromTheFit) {
  constexpr std::int64_t n = 400, base = 30, d = 40;
  const auto independent = power_law_features(n, base, -2.0, 10);
  std::vector<double> x(static_cast<std::size_t>(n * d));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < base; ++c) x[r * d + c] = independent[r * base + c];
    for (std::int64_t k = 0; k < 5; ++k) {
      x[r * d + base + k] = 2.0 * independent[r * base + k];
      x[r * d + base + 5 + k] = -independent[r * base + 5 + k];
    }
  }
  auto acc = cpu_accumulator(d);
  add_in_batches(acc, x, d, {200, 200});
  const AlphaReport report = acc.report();
  expect_report_finite(report);
  const auto expected_eigenvalues = reference_eigenvalues(x, n, d, n);
  const double zero = zero_threshold(report.eigenvalues);
  for (std::int64_t i = base; i < d; ++i) EXPECT_LE(std::abs(report.eigenvalues[i]), zero);
  for (std::int64_t i = 0; i < base; ++i) {
    EXPECT_NEAR(report.eigenvalues[i], expected_eigenvalues[i], 1e-12 * expected_eigenvalues[0]);
  }
  EXPECT_EQ(report.fit.rank_limit, base);
  EXPECT_TRUE(report.fit.clipped);
  EXPECT_EQ(report.fit.last_rank, base);
  EXPECT_NE(report.fit.clip_reason.find("only 30 eigenvalues exceed"), std::string::npos)
      << report.fit.clip_reason;
  EXPECT_NEAR(report.fit.alpha, reference_fit(expected_eigenvalues, 11, base).alpha, 1e-9);
}

// ---- Few samples ----------------------------------------------------------------------

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(HostileNumerics, FewerSamplesThanFeaturesClipsTheFitToNMinusOne) {
  hostile_cases::fewer_samples_than_features(backend_accumulator);
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(HostileNumerics, TwoSamplesGiveRankOneAndAClearWindowError) {
  hostile_cases::two_samples(backend_accumulator);
}

// Batches of one row: 300 single-row batches equal one batch of 300 (to 1e-13 against the
// reference; measured 2e-15); a single row alone has mean = the row (exactly) and covariance 0 by n
// (exactly), while what needs two samples (normalisation by n − 1, eigenvalues, report,
// compute_alpha) is a clear invalid_input.
TEST(HostileNumerics, BatchesOfOneRow) {
  constexpr std::int64_t n = 300, d = 16;
  const auto x = random_matrix(n, d, 12, 100.0, 3.0);
  auto acc = cpu_accumulator(d);
  for (std::int64_t r = 0; r < n; ++r) acc.add_batch(host_matrix(x.data() + r * d, 1, d));
  EXPECT_EQ(acc.count(), n);
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-13);
  expect_report_finite(acc.report(FitOptions{FitMethod::weighted, 1, 100}));
  hostile_cases::one_row_alone(backend_accumulator, Backend::cpu);  // the first row of x
}

// The shared case (tests/hardening/hostile_cases.hpp); the variance to 1e-14.
TEST(HostileNumerics, OneFeatureHasAVarianceButNoFit) {
  hostile_cases::one_feature(backend_accumulator, 1e-14);
}

// ---- The edges of the floating-point range --------------------------------------------

// float32 features near float32's largest value (|x| up to 3e38, float32 max 3.4e38): the
// covariance entries (~1e76) fit in float64. Expectation: float64 accumulation within 1e-12
// of the reference on the same values (measured 2.5e-16) and α within 1e-10 of its fit
// (measured 7e-15); float32 accumulation (SSYRK) within 1e-5 (measured 1.3e-7) and α within
// 1e-4 (measured 2.5e-8) — before the fix its products overflowed float32 and the covariance
// was Inf/NaN. α is scale-free: it equals the α of the same features at scale 1 to 1e-5
// (measured 3e-8).
TEST(HostileNumerics, Float32ValuesNearOverflowGiveTheRightCovarianceAndAlpha) {
  constexpr std::int64_t n = 2000, d = 32;
  const ScaledFloat32 f = scaled_float32_features(n, d, 14, /*largest=*/3e38, 0.0);
  const auto x32 = test::to_float(f.x);
  for (float v : x32) ASSERT_TRUE(std::isfinite(v));
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, 1e-5, 1e-4}}) {
    SCOPED_TRACE(precision == kF64 ? "float64 accumulation" : "float32 accumulation");
    auto acc = cpu_accumulator(d, precision);
    add_in_batches(acc, x32, d, {700, 1300});
    const auto covariance = acc.covariance();
    for (double v : covariance) ASSERT_TRUE(std::isfinite(v));
    EXPECT_LT(relative_error(covariance, f.reference), covariance_tolerance);
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    EXPECT_NEAR(report.fit.alpha, f.expected_alpha, alpha_tolerance);
    EXPECT_NEAR(report.fit.alpha, f.unit_alpha, 1e-5);
  }
}

// float32 subnormal features (scale 1e-40; float32's smallest normal is 1.2e-38, so every
// value is subnormal, with 1.4e-45 steps): as float64 the covariance (~1e-80) is ordinary.
// Expectation: float64 accumulation within 1e-12 of the reference on the same values
// (measured 2.6e-16) and α within 1e-10 (measured 8e-15); float32 accumulation within 1e-5
// (measured 1.5e-7) and α within 1e-4 (measured 9e-8) — before the fix its products
// underflowed to zero, the variances came out negative and α was garbage. The quantisation
// to 1.4e-45 moves α by under 1e-4 from the α at scale 1 (measured 3e-7).
TEST(HostileNumerics, Float32SubnormalValuesGiveTheRightCovarianceAndAlpha) {
  constexpr std::int64_t n = 2000, d = 32;
  const ScaledFloat32 f = scaled_float32_features(n, d, 15, 0.0, /*scale=*/1e-40);
  const auto x32 = test::to_float(f.x);
  ASSERT_LT(*std::max_element(x32.begin(), x32.end()), std::numeric_limits<float>::min());
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, 1e-5, 1e-4}}) {
    SCOPED_TRACE(precision == kF64 ? "float64 accumulation" : "float32 accumulation");
    auto acc = cpu_accumulator(d, precision);
    add_in_batches(acc, x32, d, {1999, 1});
    const auto covariance = acc.covariance();
    EXPECT_LT(relative_error(covariance, f.reference), covariance_tolerance);
    for (std::int64_t c = 0; c < d; ++c) EXPECT_GT(covariance[c * d + c], 0.0);
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    EXPECT_NEAR(report.fit.alpha, f.expected_alpha, alpha_tolerance);
    EXPECT_NEAR(report.fit.alpha, f.unit_alpha, 1e-4);
  }
}

// float64 subnormal features (1e-310): their squares underflow, so the covariance is
// exactly zero — it is not representable in float64. Expectation: a clear invalid_input
// from report() (no eigenvalue above the numerical zero), no NaN.
TEST(HostileNumerics, Float64SubnormalValuesUnderflowToAClearError) {
  constexpr std::int64_t n = 100, d = 4;
  auto x = random_matrix(n, d, 16);
  for (double& v : x) v *= 1e-310;
  auto acc = cpu_accumulator(d);
  acc.add_batch(host_matrix(x.data(), n, d));
  for (double v : acc.covariance()) EXPECT_EQ(v, 0.0);
  expect_invalid_input(
      [&] {
        acc.report(FitOptions{FitMethod::weighted, 1, 100});
      },
      {"only 0 eigenvalues exceed the numerical-zero threshold 0 "});
}

// float64 features whose covariance overflows float64 (values ~1e200; found by the .npy
// fuzzer, tests/fuzz/regressions/npy/covariance_overflows_float64-*). Before the fix the
// covariance was ±Inf (NaN with float32 accumulation) and the eigensolver failed.
// Expectation: add_batch() refuses the batch with a clear invalid_input and leaves the
// accumulator as it was, for both precisions.
TEST(HostileNumerics, Float64CovarianceOverflowIsRefusedLeavingTheStateUnchanged) {
  constexpr std::int64_t n = 50, d = 3;
  const auto ok = random_matrix(n, d, 17);
  auto huge = random_matrix(n, d, 18);
  huge[10 * d + 1] = 4.2e201;
  for (const auto precision : {kF64, kF32}) {
    auto acc = cpu_accumulator(d, precision);
    acc.add_batch(host_matrix(ok.data(), n, d));
    const auto before = acc.covariance();
    expect_invalid_input([&] { acc.add_batch(host_matrix(huge.data(), n, d)); },
                         {"features too large", "overflow float64"});
    EXPECT_EQ(acc.count(), n);
    EXPECT_TRUE(test::same_bits(acc.covariance(), before));
  }
}

// Two accumulators that are each fine (values ±1e160 with spread 1e150: Σ x² overflows but
// Σ (x − x̄)² does not, so the exact second pass accepts them) but whose means are so far
// apart that Chan's merge term overflows. Expectation: each has the right covariance (to
// 1e-12 of the reference; measured 1.6e-16), and merge() is a clear invalid_input leaving
// the target unchanged.
TEST(HostileNumerics, HugeMeansAreAcceptedButAnOverflowingMergeIsRefused) {
  constexpr std::int64_t n = 200, d = 3;
  auto high = random_matrix(n, d, 19, 1e160, 1e150);
  auto low = random_matrix(n, d, 20, -1e160, 1e150);
  auto a = cpu_accumulator(d);
  auto b = cpu_accumulator(d);
  a.add_batch(host_matrix(high.data(), n, d));
  b.add_batch(host_matrix(low.data(), n, d));
  // The reference works in long double, whose range holds these squares.
  EXPECT_LT(relative_error(a.covariance(), two_pass_covariance(high, n, d, n)), 1e-12);
  const auto before = a.covariance();
  expect_invalid_input([&] { a.merge(b); }, {"merge", "features too large"});
  EXPECT_EQ(a.count(), n);
  EXPECT_TRUE(test::same_bits(a.covariance(), before));
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(HostileNumerics, ReportMetricsStayFiniteForHugeAndTinySpectra) {
  hostile_cases::report_metrics_for_huge_and_tiny_spectra(backend_accumulator);
}

TEST(HostileNumerics, SpreadBelowAbout1em140IsRefusedNotFittedWrongly) {
  hostile_cases::tiny_spread_is_refused_and_small_is_exact(backend_accumulator);
}

}  // namespace
}  // namespace alphareq
