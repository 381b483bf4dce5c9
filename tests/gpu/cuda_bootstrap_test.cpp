// The CUDA bootstrap of α against the CPU bootstrap: both draw the same Poisson(1)
// multiplicities from (seed, replicate, sample) (core/bootstrap_draw.hpp), so on the same
// data they resample identically and their intervals agree to rounding. Also: device views
// of every dtype, uneven chunking, both eigensolver routes, lower precisions, features far
// outside float32's range, replicates with too few samples, the out-of-memory refusal, and
// coverage of a known α. Every case skips with a reason where there is no CUDA device.

#include "core/bootstrap.hpp"
#include "core/bootstrap_draw.hpp"
#include "cuda/cuda_bootstrap.hpp"
#include "gpu_test_support.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace alphareq {
namespace {

using test::device_view;
using test::DeviceBuffer;
using test::offset_power_law_features;
using test::rounded_to;
using test::upload;

AlphaOptions bootstrap_options(Backend backend, std::int64_t resamples, std::uint64_t seed) {
  AlphaOptions options;
  options.accumulator.backend = backend;
  options.fit.last_rank = 40;
  options.bootstrap.resamples = resamples;
  options.bootstrap.seed = seed;
  return options;
}

// 30 resamples (seed 8) of the row-major n × d `x`: on CUDA with `precision` and `solver`, and
// the float64 CPU reference.
std::pair<AlphaReport, AlphaReport> cuda_and_cpu_bootstrap(const std::vector<double>& x,
                                                           std::int64_t n, std::int64_t d,
                                                           AccumulationPrecision precision,
                                                           SolverPrecision solver) {
  AlphaOptions options = bootstrap_options(Backend::cuda, 30, 8);
  options.accumulator.precision = precision;
  options.accumulator.solver = solver;
  return {compute_alpha(host_matrix(x.data(), n, d), options),
          compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cpu, 30, 8))};
}

// Same replicates, float64 both ways: each replicate's covariance agrees to about 1e-15
// relative (CPU: Chan-merged centred batches; GPU: sums shifted by the first chunk's mean), the
// eigenvalues of the window (λ_40 ≈ λ_1 / 40) to about D · ε · 40 ≈ 6e-13 relative, so
// each replicate's α to about 1e-12. The interval ends are piecewise-linear in the sorted
// α (quantile interpolation), the standard error and bias smooth in them: 1e-9 leaves
// three orders of magnitude.
constexpr double kSameReplicatesTolerance = 1e-9;

void expect_same_bootstrap(const AlphaReport& a, const AlphaReport& b, double tolerance) {
  const FitDiagnostics &x = a.diagnostics, &y = b.diagnostics;
  EXPECT_EQ(x.bootstrap_resamples, y.bootstrap_resamples);
  EXPECT_NEAR(x.alpha_interval_low, y.alpha_interval_low, tolerance);
  EXPECT_NEAR(x.alpha_interval_high, y.alpha_interval_high, tolerance);
  EXPECT_NEAR(x.alpha_standard_error, y.alpha_standard_error, tolerance);
  EXPECT_NEAR(x.bootstrap_bias, y.bootstrap_bias, tolerance);
}

// Sets an environment variable for a scope.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      had_ = true;
      old_ = old;
    }
    setenv(name, value, 1);
  }
  ~ScopedEnvironment() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(CudaBootstrap, MatchesTheCpuBootstrapOnTheSameSeed) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 3000, d = 64;
  const auto x = offset_power_law_features(n, d, 1.0, 21);
  const AlphaReport cpu =
      compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cpu, 40, 11));
  const AlphaReport gpu =
      compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cuda, 40, 11));
  EXPECT_EQ(gpu.backend, "cuda");
  EXPECT_NEAR(gpu.fit.alpha, cpu.fit.alpha, kSameReplicatesTolerance);
  expect_same_bootstrap(gpu, cpu, kSameReplicatesTolerance);
  EXPECT_GT(gpu.diagnostics.alpha_standard_error, 0.0);
  EXPECT_LT(gpu.diagnostics.alpha_interval_low, gpu.diagnostics.alpha_interval_high);
  // Another seed, other replicates.
  const AlphaReport other =
      compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cuda, 40, 12));
  EXPECT_NE(other.diagnostics.alpha_interval_low, gpu.diagnostics.alpha_interval_low);
}

TEST(CudaBootstrap, ByNMinusOneAndOlsMatchTheCpuToo) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2500, d = 48;
  const auto x = offset_power_law_features(n, d, 1.3, 22);
  AlphaOptions cpu_options = bootstrap_options(Backend::cpu, 24, 3);
  cpu_options.normalization = Normalization::by_n_minus_one;
  cpu_options.fit.method = FitMethod::ols;
  cpu_options.fit.first_rank = 5;
  cpu_options.fit.last_rank = 30;
  AlphaOptions gpu_options = cpu_options;
  gpu_options.accumulator.backend = Backend::cuda;
  expect_same_bootstrap(compute_alpha(host_matrix(x.data(), n, d), gpu_options),
                        compute_alpha(host_matrix(x.data(), n, d), cpu_options),
                        kSameReplicatesTolerance);
}

// ---- device views of every dtype ----------------------------------------------------

class CudaBootstrapDtypes : public ::testing::TestWithParam<DType> {};

// The device converts each value exactly to float64, so the CPU bootstrap of the values
// as the device sees them (rounded to the dtype) is the reference, at the same tolerance.
// The view is strided (padded rows, an offset first column) and ordered on a caller
// stream.
TEST_P(CudaBootstrapDtypes, DeviceViewsMatchTheCpuOnTheValuesTheDeviceSees) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const DType dtype = GetParam();
  constexpr std::int64_t n = 2000, d = 40, stride = 45, first_column = 3;
  const auto wide = rounded_to(offset_power_law_features(n, stride, 1.0, 23, 2.0), dtype);
  std::vector<double> narrow(static_cast<std::size_t>(n * d));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < d; ++c) narrow[r * d + c] = wide[r * stride + first_column + c];
  }
  const DeviceBuffer buffer = upload(wide, dtype);
  const test::CudaStream stream;
  AlphaOptions options = bootstrap_options(Backend::cuda, 30, 5);
  options.fit.last_rank = 30;
  const AlphaReport gpu = compute_alpha(
      device_view(buffer, dtype, 0, n, d, stride, first_column, stream.handle()), options);
  options.accumulator.backend = Backend::cpu;
  const AlphaReport cpu = compute_alpha(host_matrix(narrow.data(), n, d), options);
  EXPECT_EQ(gpu.diagnostics.bootstrap_resamples, 30);
  expect_same_bootstrap(gpu, cpu, kSameReplicatesTolerance);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaBootstrapDtypes,
                         ::testing::Values(DType::float16, DType::bfloat16, DType::float32,
                                           DType::float64),
                         [](const auto& info) { return to_string(info.param); });

// ---- chunking and eigensolver routes ----------------------------------------------------

// Replicates depend on (seed, replicate, sample) only: a file streamed in 97-row chunks
// (the last one shorter) gives the replicates of the same features in memory, and the CPU
// streaming 131-row chunks the same again; only the order of float64 additions differs.
TEST(CudaBootstrap, UnevenChunksGiveTheSameReplicates) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1500, d = 48;
  const auto x = offset_power_law_features(n, d, 1.0, 24);
  const std::string path = ::testing::TempDir() + "alphareq_cuda_bootstrap.npy";
  save_npy(path, x.data(), {n, d});
  const AlphaOptions options = bootstrap_options(Backend::cuda, 20, 9);
  const AlphaReport memory = compute_alpha(host_matrix(x.data(), n, d), options);
  const AlphaReport streamed = compute_alpha_npy(path, options, {}, d * sizeof(double) * 97);
  const AlphaReport cpu =
      compute_alpha_npy(path, bootstrap_options(Backend::cpu, 20, 9), {}, d * sizeof(double) * 131);
  std::remove(path.c_str());
  expect_same_bootstrap(streamed, memory, kSameReplicatesTolerance);
  expect_same_bootstrap(streamed, cpu, kSameReplicatesTolerance);
}

// Features in memory whose replicates do not all fit run in groups, one pass each; the
// replicates keep their global indices, so 3 passes (7 + 7 + 6) give the one-pass result.
TEST(CudaBootstrap, GroupsOfReplicatesGiveTheOneGroupResult) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1200, d = 32;
  const auto x = offset_power_law_features(n, d, 1.0, 28);
  AlphaOptions options = bootstrap_options(Backend::cuda, 20, 6);
  options.fit.last_rank = 25;
  const MatrixView features = host_matrix(x.data(), n, d);
  const AlphaReport one_pass = compute_alpha(features, options);
  AlphaReport grouped = one_pass;
  grouped.diagnostics = FitDiagnostics{};
  detail::bootstrap_in_memory(features, options, Backend::cuda, grouped, 7);
  expect_same_bootstrap(grouped, one_pass, kSameReplicatesTolerance);
}

// The replicate α of a CudaBootstrap built with ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER=`route`,
// after checking that the override was obeyed (a test that merely compares the two runs
// would pass if both silently took the same route).
std::vector<double> replicate_alphas_on_route(const char* route, cuda::EigenRoute expected,
                                              const std::vector<double>& x, std::int64_t n,
                                              std::int64_t d, const AlphaOptions& options) {
  const ScopedEnvironment forced("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER", route);
  cuda::CudaBootstrap bootstrap(d, options, 0, options.bootstrap.resamples);
  EXPECT_STREQ(cuda::to_string(bootstrap.eigen_route()), cuda::to_string(expected))
      << "ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER=" << route << " was not obeyed";
  bootstrap.add_chunk(host_matrix(x.data(), n, d), 0);
  return bootstrap.replicate_alphas();
}

// Both routes solve the same float64 matrices with cuSOLVER's float64 solvers: backward
// stable, eigenvalues to about D · ε · λ_1, α to the same tolerance as the CPU comparison.
// Each CudaBootstrap is checked to have taken the route it was told to; their replicates'
// α agree one by one, and so do the summaries of compute_alpha under each setting.
TEST(CudaBootstrap, BatchedAndLoopedEigensolversAgree) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 64;
  const auto x = offset_power_law_features(n, d, 1.0, 25);
  const AlphaOptions options = bootstrap_options(Backend::cuda, 16, 4);
  const std::vector<double> batched_alphas =
      replicate_alphas_on_route("batched", cuda::EigenRoute::batched, x, n, d, options);
  const std::vector<double> looped_alphas =
      replicate_alphas_on_route("loop", cuda::EigenRoute::loop, x, n, d, options);
  ASSERT_EQ(batched_alphas.size(), 16u);
  ASSERT_EQ(looped_alphas.size(), 16u);
  for (std::size_t b = 0; b < batched_alphas.size(); ++b) {
    EXPECT_NEAR(batched_alphas[b], looped_alphas[b], kSameReplicatesTolerance) << "replicate " << b;
  }
  AlphaReport batched, looped;
  {
    const ScopedEnvironment route("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER", "batched");
    batched = compute_alpha(host_matrix(x.data(), n, d), options);
  }
  {
    const ScopedEnvironment route("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER", "loop");
    looped = compute_alpha(host_matrix(x.data(), n, d), options);
  }
  expect_same_bootstrap(batched, looped, kSameReplicatesTolerance);
}

// ---- lower precisions -------------------------------------------------------------------

struct PrecisionCase {
  const char* name;
  AccumulationPrecision precision;
  SolverPrecision solver;
  double tolerance;  // on the interval ends and the standard error, against float64
};

class CudaBootstrapPrecision : public ::testing::TestWithParam<PrecisionCase> {};

// float32 products (1e-5 relative on the covariance, the accumulator's stated bound) move
// the eigenvalue at rank 40 of a 1/i spectrum by up to 40 times that relative to its size:
// α by well under 1e-3, stated as 2e-3. The float32 solver (√D · ε32 · λ_1): 1e-3. TF32
// (the accumulator's stated 1e-2 on the covariance): 0.05.
TEST_P(CudaBootstrapPrecision, StaysNearTheFloat64Interval) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const PrecisionCase& c = GetParam();
  constexpr std::int64_t n = 3000, d = 64;
  const auto x = rounded_to(offset_power_law_features(n, d, 1.0, 26), DType::float32);
  const auto [gpu, reference] = cuda_and_cpu_bootstrap(x, n, d, c.precision, c.solver);
  expect_same_bootstrap(gpu, reference, c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Precisions, CudaBootstrapPrecision,
    ::testing::Values(PrecisionCase{"float32_products", AccumulationPrecision::float32,
                                    SolverPrecision::float64, 2e-3},
                      PrecisionCase{"tf32_products", AccumulationPrecision::tf32,
                                    SolverPrecision::float64, 5e-2},
                      PrecisionCase{"float32_solver", AccumulationPrecision::float64,
                                    SolverPrecision::float32, 1e-3}),
    [](const auto& info) { return std::string(info.param.name); });

// float32 products of a group large enough that a sub-chunk is multiplied in several blocks:
// block_rows = 256 MiB / (B · D · 4 bytes) = 436 rows for D = 256 and B = 600 (plan_bootstrap),
// so n = 2000 rows are 5 blocks, the last one short (256 rows), summed in float32 into one
// product per replicate before it reaches the float64 masters. Against the CPU bootstrap in
// float64 on the same values and seed. Tolerance: the float32 sums carry about ε32 · √rows
// relative error per entry (6e-8 · √2000 ≈ 3e-6, times the centring factor (1 + z²) of the
// fixed shift, the first chunk's mean), within the accumulator's stated 1e-5; a random error of that size
// moves each λ_i of the window by about as much relative to itself, α (a log-log slope over
// ranks 1..40) and each interval end (2α̂ − a quantile of the replicates' α) by a few 1e-5.
// Errors adding up coherently could move λ_40 = λ_1 / 40 by up to 40 times the per-entry
// bound relative to its size, hence 2e-3, the float32_products precision case's tolerance.
TEST(CudaBootstrap, Float32ProductsOverSeveralBlocksMatchTheCpu) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 256, resamples = 600;
  const auto x = rounded_to(offset_power_law_features(n, d, 1.0, 29), DType::float32);
  AlphaOptions options = bootstrap_options(Backend::cuda, resamples, 13);
  options.accumulator.precision = AccumulationPrecision::float32;
  const cuda::BootstrapPlan plan = cuda::plan_bootstrap(d, options, resamples);
  ASSERT_LT(plan.block_rows, n) << "the product must run in several blocks";
  ASSERT_GE(plan.chunk_rows, n) << "one sub-chunk: all its blocks are summed in float32";
  ASSERT_NE(n % plan.block_rows, 0) << "the last block should be short";
  ASSERT_EQ(cuda::bootstrap_replicates_fitting(d, options), resamples)
      << "all replicates must run as one group, with this plan";
  const AlphaReport gpu = compute_alpha(host_matrix(x.data(), n, d), options);
  const AlphaReport cpu =
      compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cpu, resamples, 13));
  EXPECT_EQ(gpu.diagnostics.bootstrap_resamples, resamples);
  expect_same_bootstrap(gpu, cpu, 2e-3);
}

// ---- features far outside float32's range -----------------------------------------------

struct HostileRangeCase {
  const char* name;
  double scale;  // the features of the precision cases times this
  AccumulationPrecision precision;
  SolverPrecision solver;
  double tolerance;
};

class CudaBootstrapHostileRange : public ::testing::TestWithParam<HostileRangeCase> {};

// The features of the precision cases (spread about 1 around 10) times 1e±30 or 1e±22.
// Unprotected, float32/TF32 products of centred values near 1e30 overflow to Inf (1e60 >
// 3.4e38) and send NaN to the solver, and those of values near 1e-30 underflow to 0 (1e-60 is
// below float32's smallest subnormal, 1.4e-45): a zero spectrum. A float32 solver overflows on
// a covariance near 1e44 and flushes one near 1e-44 to zero. Protected (as the accumulator):
// the columns are scaled by powers of two before the float32 products and scaled back exactly
// in float64, and each replicate's covariance reaches the float32 solver times a power of two
// that brings it near 1, so the rounding relative to the values is that of features near 1
// (the float32 rounding of the centred values, 6e-8, is far below the products' 1e-5), and
// the precision cases' tolerances hold against the CPU bootstrap, float64 throughout: 2e-3
// for float32 products, 5e-2 for TF32, 1e-3 for the float32 solver, and their sum for float32
// products with the float32 solver.
TEST_P(CudaBootstrapHostileRange, MatchesTheFloat64CpuBootstrap) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const HostileRangeCase& c = GetParam();
  constexpr std::int64_t n = 3000, d = 64;
  auto x = offset_power_law_features(n, d, 1.0, 26);
  for (double& v : x) v *= c.scale;
  const auto [gpu, reference] = cuda_and_cpu_bootstrap(x, n, d, c.precision, c.solver);
  EXPECT_TRUE(std::isfinite(gpu.diagnostics.alpha_interval_low));
  EXPECT_TRUE(std::isfinite(gpu.diagnostics.alpha_interval_high));
  EXPECT_GT(gpu.diagnostics.alpha_standard_error, 0.0);
  expect_same_bootstrap(gpu, reference, c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, CudaBootstrapHostileRange,
    ::testing::Values(
        HostileRangeCase{"float32_products_1e30", 1e30, AccumulationPrecision::float32,
                         SolverPrecision::float64, 2e-3},
        HostileRangeCase{"float32_products_1em30", 1e-30, AccumulationPrecision::float32,
                         SolverPrecision::float64, 2e-3},
        HostileRangeCase{"tf32_products_1e30", 1e30, AccumulationPrecision::tf32,
                         SolverPrecision::float64, 5e-2},
        HostileRangeCase{"float32_solver_1e22", 1e22, AccumulationPrecision::float64,
                         SolverPrecision::float32, 1e-3},
        HostileRangeCase{"float32_solver_1em22", 1e-22, AccumulationPrecision::float64,
                         SolverPrecision::float32, 1e-3},
        HostileRangeCase{"float32_both_1e30", 1e30, AccumulationPrecision::float32,
                         SolverPrecision::float32, 3e-3}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- replicates with too few samples ----------------------------------------------------

// n = 3 samples, 12 replicates: the Poisson(1) multiplicities leave some replicate fewer than
// 2 samples (probability 4 e^-3 ≈ 0.2 each). Its covariance would be 0/0: it must reach the
// solver as zeros, and replicate_alphas must name the first such replicate and its count, with
// either solver precision. (compute_alpha cannot get here: its own fit of 3 samples fails
// first, so the resampler is driven directly.)
TEST(CudaBootstrap, AReplicateWithFewerThanTwoSamplesIsAClearError) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 3, d = 4, resamples = 12;
  constexpr std::uint64_t seed = 1;
  const std::vector<double> x = {1.0, 2.0, -1.0, 0.5, 3.0, -2.0, 0.25, 1.5, -0.5, 1.0, 2.5, 0.0};
  std::int64_t first_small = -1, drawn = 0;
  for (std::int64_t b = 0; b < resamples && first_small < 0; ++b) {
    std::int64_t samples = 0;
    for (std::int64_t i = 0; i < n; ++i) samples += detail::bootstrap_multiplicity(seed, b, i);
    if (samples < 2) {
      first_small = b;
      drawn = samples;
    }
  }
  ASSERT_GE(first_small, 0) << "the draw gave every replicate 2 samples: choose another seed";
  const std::string expected = "replicate " + std::to_string(first_small) + " drew " +
                               std::to_string(drawn) + " samples, fewer than the 2";
  for (const SolverPrecision solver : {SolverPrecision::float64, SolverPrecision::float32}) {
    SCOPED_TRACE(solver == SolverPrecision::float64 ? "float64 solver" : "float32 solver");
    AlphaOptions options = bootstrap_options(Backend::cuda, resamples, seed);
    options.accumulator.solver = solver;
    cuda::CudaBootstrap bootstrap(d, options, 0, resamples);
    bootstrap.add_chunk(host_matrix(x.data(), n, d), 0);
    std::string message = "<no invalid_input thrown>";
    try {
      bootstrap.replicate_alphas();
    } catch (const invalid_input& e) {
      message = e.what();
    }
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

// ---- memory and coverage ----------------------------------------------------------------

// A streamed file is one pass: all replicates must fit at once. 100,000 replicates of
// D = 4096 need about 13 TB: refused before any data is read, with the bytes and advice.
TEST(CudaBootstrap, RefusesAnUnfittableStreamedBootstrapWithTheBytesNeeded) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  // 64 rows: the default window [11, 40] fits the shape, so the shape check (which runs
  // first) passes and the bootstrap's own memory check is what refuses.
  constexpr std::int64_t n = 64, d = 4096;
  const std::vector<float> x(static_cast<std::size_t>(n * d), 1.0f);
  const std::string path = ::testing::TempDir() + "alphareq_cuda_bootstrap_oom.npy";
  save_npy(path, x.data(), {n, d});
  const AlphaOptions options = bootstrap_options(Backend::cuda, 100000, 1);
  std::string message = "<no out_of_memory thrown>";
  try {
    compute_alpha_npy(path, options);
  } catch (const out_of_memory& e) {
    message = e.what();
  }
  std::remove(path.c_str());
  EXPECT_NE(message.find("100000 replicates of D = 4096"), std::string::npos) << message;
  EXPECT_NE(message.find("TiB of device memory"), std::string::npos) << message;
  EXPECT_NE(message.find("fewer resamples"), std::string::npos) << message;
}

// λ_i ∝ i^(−1.2) with n ≫ D: the 95% interval of the resampled α covers the population α,
// and it is the CPU bootstrap's on the same data and seed (float64 both ways, the tolerance
// of the other comparisons). This is the float64 product over several blocks: block_rows =
// 256 MiB / (100 · 128 · 8 bytes) = 2621 rows (plan_bootstrap), so the 20000 rows, one
// sub-chunk, are 8 blocks, the last one short.
TEST(CudaBootstrap, IntervalCoversTheTrueAlphaOfAPowerLaw) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 20000, d = 128, resamples = 100;
  constexpr double alpha = 1.2;
  const auto x = offset_power_law_features(n, d, alpha, 27);
  AlphaOptions options = bootstrap_options(Backend::cuda, resamples, 2);
  options.fit.first_rank = 5;
  options.fit.last_rank = 50;
  const cuda::BootstrapPlan plan = cuda::plan_bootstrap(d, options, resamples);
  ASSERT_LT(plan.block_rows, n) << "the product must run in several blocks";
  ASSERT_EQ(cuda::bootstrap_replicates_fitting(d, options), resamples)
      << "all replicates must run as one group, with this plan";
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  EXPECT_LT(report.diagnostics.alpha_interval_low, alpha);
  EXPECT_GT(report.diagnostics.alpha_interval_high, alpha);
  EXPECT_LT(report.diagnostics.alpha_interval_high - report.diagnostics.alpha_interval_low, 0.05);
  AlphaOptions cpu_options = options;
  cpu_options.accumulator.backend = Backend::cpu;
  const AlphaReport cpu = compute_alpha(host_matrix(x.data(), n, d), cpu_options);
  EXPECT_NEAR(report.fit.alpha, cpu.fit.alpha, kSameReplicatesTolerance);
  expect_same_bootstrap(report, cpu, kSameReplicatesTolerance);
}

}  // namespace
}  // namespace alphareq
