// The CUDA bootstrap of α against the CPU bootstrap: both draw the same Poisson(1)
// multiplicities from (seed, replicate, sample) (core/bootstrap_draw.hpp), so on the same
// data they resample identically and their intervals agree to rounding. Also: device views
// of every dtype, uneven chunking, both eigensolver routes, lower precisions, the
// out-of-memory refusal, and coverage of a known α. Every case skips with a reason where
// there is no CUDA device.

#include "core/bootstrap.hpp"
#include "gpu_test_support.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

namespace alphareq {
namespace {

using test::device_view;
using test::DeviceBuffer;
using test::rounded_to;
using test::upload;

std::vector<double> power_law_features(std::int64_t n, std::int64_t d, double alpha,
                                       std::uint64_t seed, double offset = 10.0) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = alpha;
  spec.seed = seed;
  spec.offset = offset;  // a mean far above the spread: the shifted sums must cope
  return synthetic_power_law_features(spec);
}

AlphaOptions bootstrap_options(Backend backend, std::int64_t resamples, std::uint64_t seed) {
  AlphaOptions options;
  options.accumulator.backend = backend;
  options.fit.last_rank = 40;
  options.bootstrap.resamples = resamples;
  options.bootstrap.seed = seed;
  return options;
}

// Same replicates, float64 both ways: each replicate's covariance agrees to about 1e-15
// relative (CPU: Chan-merged centred batches; GPU: sums shifted by the first sample), the
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
  const auto x = power_law_features(n, d, 1.0, 21);
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
  const auto x = power_law_features(n, d, 1.3, 22);
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
  const auto wide = rounded_to(power_law_features(n, stride, 1.0, 23, 2.0), dtype);
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
  const auto x = power_law_features(n, d, 1.0, 24);
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
  const auto x = power_law_features(n, d, 1.0, 28);
  AlphaOptions options = bootstrap_options(Backend::cuda, 20, 6);
  options.fit.last_rank = 25;
  const MatrixView features = host_matrix(x.data(), n, d);
  const AlphaReport one_pass = compute_alpha(features, options);
  AlphaReport grouped = one_pass;
  grouped.diagnostics = FitDiagnostics{};
  detail::bootstrap_in_memory(features, options, Backend::cuda, grouped, 7);
  expect_same_bootstrap(grouped, one_pass, kSameReplicatesTolerance);
}

// Both routes solve the same float64 matrices with cuSOLVER's float64 solvers: backward
// stable, eigenvalues to about D · ε · λ_1, α to the same tolerance as the CPU comparison.
TEST(CudaBootstrap, BatchedAndLoopedEigensolversAgree) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 64;
  const auto x = power_law_features(n, d, 1.0, 25);
  const AlphaOptions options = bootstrap_options(Backend::cuda, 16, 4);
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
  const auto x = rounded_to(power_law_features(n, d, 1.0, 26), DType::float32);
  const AlphaReport reference =
      compute_alpha(host_matrix(x.data(), n, d), bootstrap_options(Backend::cpu, 30, 8));
  AlphaOptions options = bootstrap_options(Backend::cuda, 30, 8);
  options.accumulator.precision = c.precision;
  options.accumulator.solver = c.solver;
  const AlphaReport gpu = compute_alpha(host_matrix(x.data(), n, d), options);
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

// ---- memory and coverage ----------------------------------------------------------------

// A streamed file is one pass: all replicates must fit at once. 100,000 replicates of
// D = 4096 need about 13 TB: refused before any data is read, with the bytes and advice.
TEST(CudaBootstrap, RefusesAnUnfittableStreamedBootstrapWithTheBytesNeeded) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 8, d = 4096;
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

// λ_i ∝ i^(−1.2) with n ≫ D: the 95% interval of the resampled α covers the population α.
// (The same replicates as the CPU bootstrap, whose coverage tests/cpu/bootstrap_test.cpp
// checks on the same data.)
TEST(CudaBootstrap, IntervalCoversTheTrueAlphaOfAPowerLaw) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 20000, d = 128;
  constexpr double alpha = 1.2;
  const auto x = power_law_features(n, d, alpha, 27);
  AlphaOptions options = bootstrap_options(Backend::cuda, 100, 2);
  options.fit.first_rank = 5;
  options.fit.last_rank = 50;
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  EXPECT_LT(report.diagnostics.alpha_interval_low, alpha);
  EXPECT_GT(report.diagnostics.alpha_interval_high, alpha);
  EXPECT_LT(report.diagnostics.alpha_interval_high - report.diagnostics.alpha_interval_low, 0.05);
}

}  // namespace
}  // namespace alphareq
