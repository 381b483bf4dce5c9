// Hostile numerics on the CUDA backend, beside the CPU's in tests/hardening/: each case of
// hostile_numerics_test.cpp on Backend::cuda, from host and device memory, with its
// expectation — the right answer to a stated tolerance against the long-double two-pass
// reference (tests/cpu/reference.hpp) and an independent fit, or a clear invalid_input — and
// never a NaN or Inf in a report.
// Where the CUDA backend differs from the CPU by design — it checks device data on the
// device, so NaN/Inf and a covariance overflowing float64 are reported by the next call that
// returns results, not by add_batch — the test says so and checks that behaviour.
//
// Tolerances: float64 products are held to the CPU's tolerances or 1e-12 (the other CUDA
// tests' bound). float32 products centre on one fixed shift (the mean of the first chunk:
// the first batch, or the first chunk of it) rather than on each batch's mean, so their
// rounding, about ε32 · √rows per product, is multiplied by up to (1 + z²) with z the shift's
// distance from the mean in standard deviations (at most a sample's, when the first batch is
// one row): 6e-8 · √3000 · 10 ≈ 3e-5 for the batches below, stated as 1e-4 (kFloat32Tolerance: covariance, relative to its largest
// entry, and α). These are predictions from the algorithm, not yet measurements: every case
// skips where there is no GPU.

#include "cuda_hardening_support.hpp"
#include "hardening/hostile_cases.hpp"

namespace alphareq {
namespace {

using namespace cuda_hardening;
namespace hostile_cases = test::hostile_cases;

// This file's backend, for the cases shared with the other backend's tests.
CovarianceAccumulator backend_accumulator(std::int64_t d, AccumulationPrecision precision) {
  return cuda_accumulator(d, precision);
}

// float64 features with mean 1e6 and spread ≤ 1, in uneven batches (one of a single row),
// from the host and from device memory. The first batch is one row, so the shift is that
// sample; x − K is exact (Sterbenz: both near 1e6) and the float64 products see the spread only. Expectation (the CPU's): the
// covariance within 1e-9 of the reference, the mean within 1e-13, α within 1e-9 of the
// reference fit and of the CPU backend's α, α ≈ 1 (the population's).
TEST(CudaHostileNumerics, MeanAMillionTimesTheSpreadFloat64) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 64;
  const auto x = power_law_features(n, d, 1e6, 7);
  const auto reference = two_pass_covariance(x, n, d, n);
  const auto expected = reference_fit(test::dsyev_eigenvalues(reference, d), 11, 64);
  auto cpu = test::cpu_accumulator(d);
  cpu.add_batch(host_matrix(x.data(), n, d));
  for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
    SCOPED_TRACE(name_of(space));
    auto acc = cuda_accumulator(d);
    add_batches(acc, x, d, DType::float64, space, {1, 999, 1500, 1500});
    EXPECT_LT(relative_error(acc.covariance(), reference), 1e-9);
    EXPECT_LT(relative_error(acc.mean(), test::two_pass_mean(x, n, d)), 1e-13);
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    EXPECT_EQ(report.backend, "cuda");
    EXPECT_NEAR(report.fit.alpha, expected.alpha, 1e-9);
    EXPECT_NEAR(report.fit.alpha, cpu.report().fit.alpha, 1e-9);
    EXPECT_NEAR(report.fit.alpha, 1.0, 0.1);
  }
}

// float32 features with mean 1e3 and spread ≤ 1 (ulp(1000) = 6e-5), from the host and from a
// float32 device view. x − K is exact in float64 and fits float32 (17 bits), so only the
// products round. Expectation, against the reference on the same float32 values: float64
// products within 1e-12 and α within 1e-10 (the CPU's); float32 products within 1e-4 and α
// within 1e-4 (the file comment: batches up to 2999 rows centred on the first 1000 rows' mean;
// x − K is exact in float64 but rounds to float32 once, ε32 relative, like the products).
TEST(CudaHostileNumerics, MeanAThousandTimesTheSpreadFloat32) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 64;
  const auto x = test::rounded_to(power_law_features(n, d, 1e3, 8), DType::float32);
  const auto reference = two_pass_covariance(x, n, d, n);
  const auto expected = reference_fit(test::dsyev_eigenvalues(reference, d), 11, 64);
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, kFloat32Tolerance, kFloat32Tolerance}}) {
    for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
      SCOPED_TRACE(std::string(name_of(precision)) + ", " + name_of(space));
      auto acc = cuda_accumulator(d, precision);
      add_batches(acc, x, d, DType::float32, space, {1000, 1, 2999});
      EXPECT_LT(relative_error(acc.covariance(), reference), covariance_tolerance);
      const AlphaReport report = acc.report();
      expect_report_finite(report);
      EXPECT_NEAR(report.fit.alpha, expected.alpha, alpha_tolerance);
    }
  }
}

// float16 and bfloat16 device features with mean 100 and spread 1 (ulps 1/16 and 1/2 there):
// the device converts them to float64 exactly, and their differences from the shift (the
// first batch is one row, so the shift is that sample) are short dyadic numbers, so even float32 products and their sums over a chunk are (nearly)
// exact. Expectation, against the reference on the same rounded values: covariance within
// 1e-12 with float64 products and 1e-6 with float32 products, the mean within 1e-13, the
// eigenvalues within 1e-10 (1e-5) of the reference's largest.
TEST(CudaHostileNumerics, HalfPrecisionDeviceFeaturesWithALargeMean) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 48;
  for (const DType dtype : {DType::float16, DType::bfloat16}) {
    const auto x = test::rounded_to(random_matrix(n, d, 30, 100.0, 1.0), dtype);
    const auto reference = two_pass_covariance(x, n, d, n);
    const auto expected = test::dsyev_eigenvalues(reference, d);
    for (const auto& [precision, tolerance, eigenvalue_tolerance] :
         {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, 1e-6, 1e-5}}) {
      SCOPED_TRACE(to_string(dtype) + ", " + name_of(precision));
      auto acc = cuda_accumulator(d, precision);
      add_batches(acc, x, d, dtype, MemorySpace::device, {1, 1999, 2000});
      EXPECT_LT(relative_error(acc.covariance(), reference), tolerance);
      EXPECT_LT(relative_error(acc.mean(), test::two_pass_mean(x, n, d)), 1e-13);
      EXPECT_LT(relative_error(acc.eigenvalues(), expected), eigenvalue_tolerance);
    }
  }
}

// Three constant columns (0.1, 1e6 + 0.3, −3.7) among 37 varying ones, in two batches. The
// CUDA backend shifts a column whose first chunk is constant by that value itself (not by its
// float64 mean, which may be off by ulps), so a constant column is exactly 0 after the shift:
// expectation, for both product precisions, its covariance rows and columns exactly 0, its
// mean exactly the value, three numerical-zero eigenvalues (|λ| <= λ_1 · D · ε), the fit
// clipped to the 37 others with the CPU's reason, and α within 1e-9 (float64 products) or
// 1e-4 (float32) of the reference fit on the 37 varying columns alone.
TEST(CudaHostileNumerics, ConstantColumnsHaveExactlyZeroCovarianceAndAreClippedFromTheFit) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 500, d = 40;
  const std::vector<std::int64_t> constant = {0, 17, 39};
  const std::vector<double> values = {0.1, 1e6 + 0.3, -3.7};
  auto x = power_law_features(n, d, 5.0, 9);
  std::vector<double> varying;
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < constant.size(); ++k) x[r * d + constant[k]] = values[k];
    for (std::int64_t c = 0; c < d; ++c) {
      if (std::find(constant.begin(), constant.end(), c) == constant.end())
        varying.push_back(x[r * d + c]);
    }
  }
  const auto varying_eigenvalues = reference_eigenvalues(varying, n, d - 3, n);
  const double expected_alpha = reference_fit(varying_eigenvalues, 11, d - 3).alpha;
  for (const auto& [precision, alpha_tolerance] :
       {std::tuple{kF64, 1e-9}, std::tuple{kF32, kFloat32Tolerance}}) {
    SCOPED_TRACE(name_of(precision));
    auto acc = cuda_accumulator(d, precision);
    add_batches(acc, x, d, DType::float64, MemorySpace::host, {123, 377});
    const auto covariance = acc.covariance();
    const auto mean = acc.mean();
    for (std::size_t k = 0; k < constant.size(); ++k) {
      const std::int64_t c = constant[k];
      for (std::int64_t j = 0; j < d; ++j) {
        EXPECT_EQ(covariance[c * d + j], 0.0) << "row " << c << ", column " << j;
        EXPECT_EQ(covariance[j * d + c], 0.0) << "row " << j << ", column " << c;
      }
      EXPECT_EQ(mean[c], values[k]);
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
    EXPECT_NEAR(report.fit.alpha, expected_alpha, alpha_tolerance);
  }
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(CudaHostileNumerics, AllColumnsConstantGiveAZeroSpectrumAndAClearError) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::all_columns_constant(backend_accumulator);
}

// 30 independent columns and 10 exact multiples of them (×2, ×(−1)): rank 30. Shifting and
// scaling by 2 commute exactly. Expectation (the CPU's): the 10 null eigenvalues below
// λ_1 · D · ε, the 30 others within 1e-12 λ_1 of the reference, the rank limit 30 with its
// reason, α within 1e-9 of the reference fit on ranks 11..30.
TEST(CudaHostileNumerics, CollinearColumnsAreRankDeficientAndClippedFromTheFit) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
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
  const auto expected = reference_eigenvalues(x, n, d, n);
  for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
    SCOPED_TRACE(name_of(space));
    auto acc = cuda_accumulator(d);
    add_batches(acc, x, d, DType::float64, space, {200, 200});
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    const double zero = zero_threshold(report.eigenvalues);
    for (std::int64_t i = base; i < d; ++i) EXPECT_LE(std::abs(report.eigenvalues[i]), zero);
    for (std::int64_t i = 0; i < base; ++i)
      EXPECT_NEAR(report.eigenvalues[i], expected[i], 1e-12 * expected[0]);
    EXPECT_EQ(report.fit.rank_limit, base);
    EXPECT_TRUE(report.fit.clipped);
    EXPECT_NE(report.fit.clip_reason.find("only 30 eigenvalues exceed"), std::string::npos)
        << report.fit.clip_reason;
    EXPECT_NEAR(report.fit.alpha, reference_fit(expected, 11, base).alpha, 1e-9);
  }
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(CudaHostileNumerics, FewerSamplesThanFeaturesClipsTheFitToNMinusOne) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::fewer_samples_than_features(backend_accumulator);
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(CudaHostileNumerics, TwoSamplesGiveRankOneAndAClearWindowError) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::two_samples(backend_accumulator);
}

// 300 single-row batches, from the host and from device memory, equal one batch of 300 (to
// 1e-12 against the reference); a single row alone has mean = the row and covariance 0 (both
// exactly: the row is the shift), and what needs two samples is the CPU's clear invalid_input,
// compute_alpha included.
TEST(CudaHostileNumerics, BatchesOfOneRow) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 300, d = 16;
  const auto x = random_matrix(n, d, 12, 100.0, 3.0);
  for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
    SCOPED_TRACE(name_of(space));
    auto acc = cuda_accumulator(d);
    add_batches(acc, x, d, DType::float64, space, std::vector<std::int64_t>(n, 1));
    EXPECT_EQ(acc.count(), n);
    EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
    expect_report_finite(acc.report(FitOptions{FitMethod::weighted, 1, 100}));
  }
  hostile_cases::one_row_alone(backend_accumulator, Backend::cuda);  // the first row of x
}

// The shared case (tests/hardening/hostile_cases.hpp); the variance to 1e-13: float64 sums of
// up to 990 squares of values centred on the first chunk's mean, not on the whole mean
// (n · ε · (1 + z²) at worst).
TEST(CudaHostileNumerics, OneFeatureHasAVarianceButNoFit) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::one_feature(backend_accumulator, 1e-13);
}

// float32 features of scale `scale` (largest |value| 3e38, or all subnormal at 1e-40), from
// the host and from a float32 device view; the reference and the fit on the same values, and
// the α of the same features at scale 1.
// float32 values near float32's largest (covariance ~1e76, fine in float64). Float32
// products of such values overflowed before the fix (the CPU had the same bug): each column
// whose centred values exceed 2^40 is now scaled by a power of two before SSYRK/SGEMM and its
// products scaled back in float64 (kernels/float32_scaling.cuh). Expectation: float64
// products within 1e-12 and α within 1e-10 of the reference; float32 products within 1e-4,
// α within 1e-4; TF32 (about 10 bits per product; the values rounded to TF32 to nearest
// before the product and the sums) within 1e-3 (emulated: 6e-5) and finite; α of the float64
// and float32 products within 1e-4 of the α at scale 1 (α is scale-free).
TEST(CudaHostileNumerics, Float32ValuesNearOverflowGiveTheRightCovarianceAndAlpha) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 32;
  const ScaledFloat32 f = scaled_float32_features(n, d, 14, /*largest=*/3e38, 0.0);
  for (double v : f.x) ASSERT_TRUE(std::isfinite(static_cast<float>(v)));
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, kFloat32Tolerance, kFloat32Tolerance},
        std::tuple{kTF32, 1e-3, 0.0}}) {
    for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
      SCOPED_TRACE(std::string(name_of(precision)) + ", " + name_of(space));
      auto acc = cuda_accumulator(d, precision);
      add_batches(acc, f.x, d, DType::float32, space, {700, 1300});
      const auto covariance = acc.covariance();
      for (double v : covariance) ASSERT_TRUE(std::isfinite(v));
      EXPECT_LT(relative_error(covariance, f.reference), covariance_tolerance);
      const AlphaReport report = acc.report();
      expect_report_finite(report);
      if (precision == kTF32) continue;
      EXPECT_NEAR(report.fit.alpha, f.expected_alpha, alpha_tolerance);
      EXPECT_NEAR(report.fit.alpha, f.unit_alpha, 1e-4);
    }
  }
}

// float32 subnormal features (scale 1e-40): their float32 products underflowed to zero before
// the fix (variances came out negative); such columns are now scaled up by a power of two.
// Expectation: float64 products within 1e-12 and α within 1e-10 of the reference; float32
// products within 1e-4 and α within 1e-4; every variance positive; α within 1e-4 of the α
// at scale 1 (the CPU's bound on what the 1.4e-45 quantisation moves).
TEST(CudaHostileNumerics, Float32SubnormalValuesGiveTheRightCovarianceAndAlpha) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 32;
  const ScaledFloat32 f = scaled_float32_features(n, d, 15, 0.0, /*scale=*/1e-40);
  ASSERT_LT(*std::max_element(f.x.begin(), f.x.end()), std::numeric_limits<float>::min());
  for (const auto& [precision, covariance_tolerance, alpha_tolerance] :
       {std::tuple{kF64, 1e-12, 1e-10}, std::tuple{kF32, kFloat32Tolerance, kFloat32Tolerance}}) {
    for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
      SCOPED_TRACE(std::string(name_of(precision)) + ", " + name_of(space));
      auto acc = cuda_accumulator(d, precision);
      add_batches(acc, f.x, d, DType::float32, space, {1999, 1});
      const auto covariance = acc.covariance();
      EXPECT_LT(relative_error(covariance, f.reference), covariance_tolerance);
      for (std::int64_t c = 0; c < d; ++c) EXPECT_GT(covariance[c * d + c], 0.0);
      const AlphaReport report = acc.report();
      expect_report_finite(report);
      EXPECT_NEAR(report.fit.alpha, f.expected_alpha, alpha_tolerance);
      EXPECT_NEAR(report.fit.alpha, f.unit_alpha, 1e-4);
    }
  }
}

// The float32 eigensolver (SolverPrecision::float32) on covariances outside float32's range:
// ~1e76 (float32 features near 3e38), ~1e-80 (float32 subnormals) and ~1e200 (float64
// features times 1e100). Before the fix the covariance became Inf (or flushed to 0) when
// converted for the solver, giving NaN or an empty spectrum; it is now scaled by a power of
// two for the solver and the eigenvalues and intercept scaled back. Expectation: every number
// in the report finite, the eigenvalues within 1e-5 λ_1 of the reference (float32 solver: about
// D · ε32 · λ_1), α within 1e-4 of the reference fit and the intercept within 1e-3 of its.
TEST(CudaHostileNumerics, Float32SolverHandlesCovariancesBeyondFloat32Range) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 32;
  const ScaledFloat32 huge = scaled_float32_features(n, d, 14, /*largest=*/3e38, 0.0);
  const ScaledFloat32 tiny = scaled_float32_features(n, d, 15, 0.0, /*scale=*/1e-40);
  auto wide = power_law_features(n, d, 0.0, 16);
  for (double& v : wide) v *= 1e100;
  const auto wide_reference = two_pass_covariance(wide, n, d, n);
  for (const auto& [name, x, reference, dtype] :
       {std::tuple{"float32 near 3e38", huge.x, huge.reference, DType::float32},
        std::tuple{"float32 subnormal", tiny.x, tiny.reference, DType::float32},
        std::tuple{"float64 times 1e100", wide, wide_reference, DType::float64}}) {
    SCOPED_TRACE(name);
    const auto expected_eigenvalues = test::dsyev_eigenvalues(reference, d);
    const auto expected = reference_fit(expected_eigenvalues, 11, d);
    auto acc = cuda_accumulator(d, kF64, false, nullptr, SolverPrecision::float32);
    add_batches(acc, x, d, dtype, MemorySpace::device, {n});
    const AlphaReport report = acc.report();
    expect_report_finite(report);
    EXPECT_LT(relative_error(report.eigenvalues, expected_eigenvalues), 1e-5);
    EXPECT_NEAR(report.fit.alpha, expected.alpha, 1e-4);
    EXPECT_NEAR(report.fit.intercept, expected.intercept, 1e-3);
  }
}

// float64 subnormal features (1e-310): their products underflow, so the covariance is exactly
// zero for both product precisions. Expectation: the CPU's clear invalid_input from report().
TEST(CudaHostileNumerics, Float64SubnormalValuesUnderflowToAClearError) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 100, d = 4;
  auto x = random_matrix(n, d, 16);
  for (double& v : x) v *= 1e-310;
  for (const auto precision : {kF64, kF32}) {
    SCOPED_TRACE(name_of(precision));
    auto acc = cuda_accumulator(d, precision);
    acc.add_batch(host_matrix(x.data(), n, d));
    for (double v : acc.covariance()) EXPECT_EQ(v, 0.0);
    expect_invalid_input(
        [&] {
          acc.report(FitOptions{FitMethod::weighted, 1, 100});
        },
        {"only 0 eigenvalues exceed the numerical-zero threshold 0 "});
  }
}

// float64 features whose covariance overflows float64 (one value 4.2e201). The CPU refuses
// the batch in add_batch; the CUDA backend differs by design (it does not read device data on
// the host): add_batch returns, the overflow is found on the device (the trace of the shifted
// squares is no longer finite) and every later result call throws the CPU's words, naming the
// first row of the batch, as for NaN/Inf — never an Inf or NaN covariance or a solver failure.
// Before the fix the covariance was ±Inf and the eigensolver failed or returned NaN. A merge
// of such an accumulator is refused (its moments() throws), leaving the target unchanged.
TEST(CudaHostileNumerics, Float64CovarianceOverflowIsReportedByEveryResultCall) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 50, d = 3;
  const auto ok = random_matrix(n, d, 17);
  auto huge = random_matrix(n, d, 18);
  huge[10 * d + 1] = 4.2e201;
  const std::vector<std::string> words = {"features too large", "overflow float64", "rows from 50"};
  for (const auto precision : {kF64, kF32}) {
    for (const MemorySpace space : {MemorySpace::host, MemorySpace::device}) {
      SCOPED_TRACE(std::string(name_of(precision)) + ", " + name_of(space));
      std::vector<double> both(ok);
      both.insert(both.end(), huge.begin(), huge.end());
      auto acc = cuda_accumulator(d, precision);
      EXPECT_NO_THROW(add_batches(acc, both, d, DType::float64, space, {n, n}));
      EXPECT_EQ(acc.count(), 2 * n);
      expect_invalid_input([&] { acc.covariance(); }, words);
      expect_invalid_input([&] { acc.mean(); }, words);
      expect_invalid_input([&] { acc.eigenvalues(); }, words);
      // A window D = 3 allows: the default [11, 100] is refused by the shape check, which
      // runs before the backend is asked for anything.
      expect_invalid_input([&] { acc.report(FitOptions{FitMethod::weighted, 1, 3}); }, words);
      auto target = cuda_accumulator(d, precision);
      target.add_batch(host_matrix(ok.data(), n, d));
      const auto before = target.covariance();
      expect_invalid_input([&] { target.merge(acc); }, words);
      EXPECT_EQ(target.count(), n);
      EXPECT_TRUE(same_bits(target.covariance(), before));
    }
  }
}

// Two accumulators that are each fine (values ±1e160 with spread 1e150: the shifted squares
// are ~1e302) but whose means are so far apart that the merged covariance overflows.
// Expectation (the CPU's): each covariance within 1e-12 of the reference, and merge() a
// clear invalid_input leaving the target unchanged — CUDA into CUDA, CPU into CUDA, and CUDA
// into CPU.
TEST(CudaHostileNumerics, HugeMeansAreAcceptedButAnOverflowingMergeIsRefused) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 200, d = 3;
  const auto high = random_matrix(n, d, 19, 1e160, 1e150);
  const auto low = random_matrix(n, d, 20, -1e160, 1e150);
  auto a = cuda_accumulator(d);
  auto b = cuda_accumulator(d);
  auto cpu_low = test::cpu_accumulator(d);
  auto cpu_high = test::cpu_accumulator(d);
  a.add_batch(host_matrix(high.data(), n, d));
  b.add_batch(host_matrix(low.data(), n, d));
  cpu_low.add_batch(host_matrix(low.data(), n, d));
  cpu_high.add_batch(host_matrix(high.data(), n, d));
  EXPECT_LT(relative_error(a.covariance(), two_pass_covariance(high, n, d, n)), 1e-12);
  EXPECT_LT(relative_error(b.covariance(), two_pass_covariance(low, n, d, n)), 1e-12);
  const auto before = a.covariance();
  expect_invalid_input([&] { a.merge(b); }, {"merge", "features too large"});
  expect_invalid_input([&] { a.merge(cpu_low); }, {"merge", "features too large"});
  EXPECT_EQ(a.count(), n);
  EXPECT_TRUE(same_bits(a.covariance(), before));
  const auto cpu_before = cpu_high.covariance();
  expect_invalid_input([&] { cpu_high.merge(b); }, {"merge", "features too large"});
  EXPECT_EQ(cpu_high.count(), n);
  EXPECT_TRUE(same_bits(cpu_high.covariance(), cpu_before));
}

// The shared case: tests/hardening/hostile_cases.hpp.
TEST(CudaHostileNumerics, ReportMetricsStayFiniteForHugeAndTinySpectra) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::report_metrics_for_huge_and_tiny_spectra(backend_accumulator);
}

TEST(CudaHostileNumerics, SpreadBelowAbout1em140IsRefusedNotFittedWrongly) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  hostile_cases::tiny_spread_is_refused_and_small_is_exact(backend_accumulator);
}

}  // namespace
}  // namespace alphareq
