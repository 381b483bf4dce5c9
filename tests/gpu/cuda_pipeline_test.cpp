// The CUDA backend from covariance to α: eigenvalues against LAPACK dsyev on the
// reference covariance, the device-side power-law fit against fit_power_law on the same
// eigenvalues, α of sampled power-law features, and compute_alpha / compute_alpha_npy.
// Every case skips with a reason where there is no CUDA device.

#include "core/fit_window.hpp"
#include "gpu_test_support.hpp"
#include "reference.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace alphareq {
namespace {

using test::DeviceBuffer;
using test::device_view;
using test::offset_power_law_features;
using test::relative_error;
using test::upload;

CovarianceAccumulator cuda_accumulator(std::int64_t d,
                                       SolverPrecision solver = SolverPrecision::float64) {
  return CovarianceAccumulator(
      d, AccumulatorOptions{Backend::cuda, AccumulationPrecision::float64, solver});
}

bool sorted_descending(const std::vector<double>& values) {
  return std::is_sorted(values.begin(), values.end(), std::greater<double>());
}

using test::invalid_input_of;

// ---- eigenvalues ------------------------------------------------------------------------

struct EigenCase {
  const char* name;
  std::int64_t n, d;
  SolverPrecision solver;
  Normalization normalization;
  double tolerance;  // max |λ − λ_ref| / λ_max
};

class CudaEigenvalues : public ::testing::TestWithParam<EigenCase> {};

// Power-law data (λ_i ∝ i^−1.2, rotated) so the spectrum spans orders of magnitude. The
// reference is dsyev (QR algorithm) on the long-double two-pass covariance. A float64
// solver is backward stable: errors near D · eps · λ_max, far below 1e-12 · λ_max. The
// float32 solver works on the covariance rounded to float32: about √D · eps32 · λ_max,
// stated as 1e-5.
TEST_P(CudaEigenvalues, MatchLapackOnTheReferenceCovariance) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const EigenCase& c = GetParam();
  const auto x = offset_power_law_features(c.n, c.d, 1.2, 3);
  const double divisor =
      static_cast<double>(c.normalization == Normalization::by_n ? c.n : c.n - 1);
  const auto reference =
      test::dsyev_eigenvalues(test::two_pass_covariance(x, c.n, c.d, divisor), c.d);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(c.d, c.solver);
  acc.add_batch(device_view(buffer, DType::float64, 0, c.n, c.d, c.d));

  const auto eigenvalues = acc.eigenvalues(c.normalization);
  ASSERT_EQ(eigenvalues.size(), static_cast<std::size_t>(c.d));
  EXPECT_TRUE(sorted_descending(eigenvalues));
  EXPECT_LT(relative_error(eigenvalues, reference), c.tolerance);
  if (c.d >= 3) {
    const AlphaReport report = acc.report(FitOptions{FitMethod::weighted, 1, 3}, c.normalization);
    EXPECT_EQ(report.backend, "cuda");
    EXPECT_EQ(report.n, c.n);
    EXPECT_EQ(report.d, c.d);
    ASSERT_EQ(report.eigenvalues.size(), static_cast<std::size_t>(c.d));
    EXPECT_TRUE(sorted_descending(report.eigenvalues));
    EXPECT_LT(relative_error(report.eigenvalues, reference), c.tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(
    SizesAndSolvers, CudaEigenvalues,
    ::testing::Values(
        EigenCase{"d1", 50, 1, SolverPrecision::float64, Normalization::by_n, 1e-12},
        EigenCase{"d2", 50, 2, SolverPrecision::float64, Normalization::by_n, 1e-12},
        EigenCase{"d37_by_n_minus_one", 500, 37, SolverPrecision::float64,
                  Normalization::by_n_minus_one, 1e-12},
        EigenCase{"d200", 2000, 200, SolverPrecision::float64, Normalization::by_n, 1e-12},
        EigenCase{"d513", 2000, 513, SolverPrecision::float64, Normalization::by_n, 1e-12},
        EigenCase{"d37_float32_solver", 500, 37, SolverPrecision::float32, Normalization::by_n,
                  1e-5},
        EigenCase{"d200_float32_solver", 2000, 200, SolverPrecision::float32,
                  Normalization::by_n_minus_one, 1e-5}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- the device-side fit equals fit_power_law on the same eigenvalues ------------------

struct FitCase {
  const char* name;
  std::int64_t n, d;
  std::int64_t rank;  // rank of the features before the mean is added; 0: full
  std::int64_t first_rank, last_rank;
  SolverPrecision solver;
};

// n × d features of rank `rank`: Gaussian latents times a random d × rank loading, plus a
// mean. The covariance has rank `rank` and numerically zero eigenvalues after it.
std::vector<double> low_rank_features(std::int64_t n, std::int64_t d, std::int64_t rank) {
  const auto latent = test::random_matrix(n, rank, 7);
  const auto loading = test::random_matrix(d, rank, 8);
  std::vector<double> x(static_cast<std::size_t>(n * d), 0.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c) {
      double sum = 5.0;
      for (std::int64_t k = 0; k < rank; ++k) sum += latent[r * rank + k] * loading[c * rank + k];
      x[r * d + c] = sum;
    }
  return x;
}

class CudaDeviceFit : public ::testing::TestWithParam<std::tuple<FitCase, FitMethod>> {};

TEST_P(CudaDeviceFit, EqualsFitPowerLawOnTheReportedEigenvalues) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto& [c, method] = GetParam();
  const auto x = c.rank == 0 ? offset_power_law_features(c.n, c.d, 1.1, 17)
                             : low_rank_features(c.n, c.d, c.rank);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(c.d, c.solver);
  acc.add_batch(device_view(buffer, DType::float64, 0, c.n, c.d, c.d));
  const FitOptions options{method, c.first_rank, c.last_rank};

  const AlphaReport report = acc.report(options);
  // With the threshold's ε the accumulator uses: float32's for the float32 solver.
  const PowerLawFit expected = detail::fit_power_law(
      report.eigenvalues, report.n, options,
      detail::rank_epsilon(AccumulationPrecision::float64, c.solver, false));
  const PowerLawFit& fit = report.fit;
  EXPECT_EQ(fit.method, method);
  EXPECT_NEAR(fit.alpha, expected.alpha, 1e-10);
  EXPECT_NEAR(fit.intercept, expected.intercept, 1e-10);
  EXPECT_NEAR(fit.r2, expected.r2, 1e-10);
  EXPECT_EQ(fit.first_rank, expected.first_rank);
  EXPECT_EQ(fit.last_rank, expected.last_rank);
  EXPECT_EQ(fit.requested_first_rank, c.first_rank);
  EXPECT_EQ(fit.requested_last_rank, c.last_rank);
  EXPECT_EQ(fit.rank_limit, expected.rank_limit);
  EXPECT_EQ(fit.clipped, expected.clipped);
  EXPECT_EQ(fit.clip_reason, expected.clip_reason);
  ASSERT_EQ(fit.residuals.size(), expected.residuals.size());
  for (std::size_t i = 0; i < fit.residuals.size(); ++i) {
    EXPECT_NEAR(fit.residuals[i], expected.residuals[i], 1e-10) << "residual " << i;
  }
  EXPECT_GT(report.timings.eigenvalues_ms, 0.0);
  EXPECT_NEAR(report.timings.total_ms,
              report.timings.accumulate_ms + report.timings.eigenvalues_ms + report.timings.fit_ms,
              1e-9);
}

// The clipped cases check the limit the host fit computes (D, n − 1 or the numerical rank;
// whichever applies, the device must agree), not a hard-coded one.
INSTANTIATE_TEST_SUITE_P(
    WindowsAndMethods, CudaDeviceFit,
    ::testing::Combine(
        ::testing::Values(
            FitCase{"unclipped", 3000, 200, 0, 11, 100, SolverPrecision::float64},
            FitCase{"custom_window", 3000, 200, 0, 3, 20, SolverPrecision::float64},
            FitCase{"clipped_by_dimension", 3000, 60, 0, 11, 100, SolverPrecision::float64},
            FitCase{"clipped_by_sample_count", 50, 120, 0, 11, 100, SolverPrecision::float64},
            FitCase{"clipped_by_numerical_rank", 1000, 100, 30, 5, 100, SolverPrecision::float64},
            FitCase{"unclipped_float32_solver", 3000, 200, 0, 11, 100, SolverPrecision::float32}),
        ::testing::Values(FitMethod::weighted, FitMethod::ols)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + to_string(std::get<1>(info.param));
    });

TEST(CudaDeviceFit, ClippingIsReportedForTheThreeReasons) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  {
    const auto x = offset_power_law_features(3000, 60, 1.1, 17);
    const DeviceBuffer buffer = upload(x, DType::float64);
    auto acc = cuda_accumulator(60);
    acc.add_batch(device_view(buffer, DType::float64, 0, 3000, 60, 60));
    const PowerLawFit fit = acc.report().fit;
    EXPECT_TRUE(fit.clipped);
    EXPECT_EQ(fit.last_rank, 60);
    EXPECT_NE(fit.clip_reason.find("last rank clipped from 100 to 60"), std::string::npos)
        << fit.clip_reason;
    EXPECT_NE(fit.clip_reason.find("only D = 60 eigenvalues"), std::string::npos) << fit.clip_reason;
  }
  {
    const auto x = offset_power_law_features(50, 120, 1.1, 17);
    const DeviceBuffer buffer = upload(x, DType::float64);
    auto acc = cuda_accumulator(120);
    acc.add_batch(device_view(buffer, DType::float64, 0, 50, 120, 120));
    const PowerLawFit fit = acc.report().fit;
    EXPECT_TRUE(fit.clipped);
    EXPECT_EQ(fit.last_rank, 49);
    EXPECT_NE(fit.clip_reason.find("n - 1 = 49"), std::string::npos) << fit.clip_reason;
  }
  {
    const auto x = low_rank_features(1000, 100, 30);
    const DeviceBuffer buffer = upload(x, DType::float64);
    auto acc = cuda_accumulator(100);
    acc.add_batch(device_view(buffer, DType::float64, 0, 1000, 100, 100));
    const PowerLawFit fit = acc.report(FitOptions{FitMethod::weighted, 5, 100}).fit;
    // 30 eigenvalues are far above the zero threshold λ_1 · D · eps, the other 70 are
    // rounding noise near eps · λ_1, far below it.
    EXPECT_TRUE(fit.clipped);
    EXPECT_EQ(fit.last_rank, 30);
    EXPECT_NE(fit.clip_reason.find("eigenvalues exceed the numerical-zero threshold"),
              std::string::npos)
        << fit.clip_reason;
  }
}

// ---- α of sampled power-law features ----------------------------------------------------

class CudaSampledPowerLaw : public ::testing::TestWithParam<double> {};

// As the CPU test: n = 20000, D = 256, population spectrum i^−α, rotated, offset 100. The
// sample spectrum moves α by under 0.01 for this seed; 0.02 is the stated tolerance. The
// features are produced on a caller stream in four float32 device batches. The CPU backend
// on the same values agrees to rounding: its eigenvalues down to rank 100 (λ_100 ≈ 1e−4 ·
// λ_1 at α = 2) differ by about 1e−10 relative, so α by far less than 1e−8.
TEST_P(CudaSampledPowerLaw, RecoversAlphaWithinTwoHundredthsForBothMethods) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const double alpha = GetParam();
  constexpr std::int64_t n = 20000, d = 256, batch = 5000;
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = alpha;
  spec.seed = 1234;
  spec.offset = 100.0;
  const auto x = test::rounded_to(synthetic_power_law_features(spec), DType::float32);
  const std::vector<float> x32(x.begin(), x.end());
  const DeviceBuffer buffer = upload(x, DType::float32);
  const test::CudaStream stream;

  auto gpu = cuda_accumulator(d);
  for (std::int64_t first = 0; first < n; first += batch) {
    gpu.add_batch(device_view(buffer, DType::float32, first, batch, d, d, 0, stream.handle()));
  }
  auto cpu = CovarianceAccumulator(d, AccumulatorOptions{Backend::cpu});
  cpu.add_batch(host_matrix(x32.data(), n, d));

  for (FitMethod method : {FitMethod::weighted, FitMethod::ols}) {
    FitOptions options;
    options.method = method;
    const AlphaReport report = gpu.report(options);
    EXPECT_NEAR(report.fit.alpha, alpha, 0.02) << to_string(method);
    EXPECT_GT(report.fit.r2, 0.999) << to_string(method);
    EXPECT_EQ(report.fit.method, method);
    EXPECT_EQ(report.n, n);
    EXPECT_EQ(report.d, d);
    EXPECT_EQ(report.backend, "cuda");
    EXPECT_EQ(report.eigenvalues.size(), static_cast<std::size_t>(d));
    EXPECT_GT(report.timings.accumulate_ms, 0.0);
    EXPECT_GT(report.timings.eigenvalues_ms, 0.0);
    EXPECT_NEAR(report.timings.total_ms,
                report.timings.accumulate_ms + report.timings.eigenvalues_ms + report.timings.fit_ms,
                1e-9);
    const AlphaReport on_cpu = cpu.report(options);
    EXPECT_NEAR(report.fit.alpha, on_cpu.fit.alpha, 1e-8) << to_string(method);
    EXPECT_NEAR(report.fit.r2, on_cpu.fit.r2, 1e-8) << to_string(method);
    EXPECT_LT(relative_error(report.eigenvalues, on_cpu.eigenvalues), 1e-12);
  }
  stream.synchronize();
}

INSTANTIATE_TEST_SUITE_P(Alphas, CudaSampledPowerLaw, ::testing::Values(0.5, 1.0, 1.5, 2.0),
                         [](const auto& info) {
                           return "alpha_" + std::to_string(static_cast<int>(info.param * 10)) +
                                  "_tenths";
                         });

// ---- the report's guards and repeatability ------------------------------------------------

TEST(CudaReport, FewerThanThreeRanksIsRefused) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 100, d = 12;
  const auto x = test::random_matrix(n, d, 6);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(d);
  acc.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  // Default window [11, 100] clipped to D = 12: two ranks.
  std::string message = invalid_input_of([&] { acc.report(); });
  EXPECT_NE(message.find("at least 3 are needed"), std::string::npos) << message;
  EXPECT_NE(message.find("last rank clipped from 100 to 12"), std::string::npos) << message;
  message = invalid_input_of([&] { acc.report(FitOptions{FitMethod::ols, 5, 6}); });
  EXPECT_NE(message.find("at least 3 are needed"), std::string::npos) << message;
  message = invalid_input_of([&] { acc.report(FitOptions{FitMethod::weighted, 20, 30}); });
  EXPECT_NE(message.find("at least 3 are needed"), std::string::npos) << message;
  EXPECT_THROW(acc.report(FitOptions{FitMethod::weighted, 0, 10}), invalid_input);
  EXPECT_THROW(acc.report(FitOptions{FitMethod::weighted, 8, 7}), invalid_input);
  // The accumulator is still usable.
  const AlphaReport report = acc.report(FitOptions{FitMethod::weighted, 1, 10});
  EXPECT_EQ(report.fit.last_rank, 10);
  EXPECT_EQ(acc.count(), n);
}

TEST(CudaReport, TooFewSamplesIsRefused) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto x = test::random_matrix(1, 5, 2);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(5);
  acc.add_batch(device_view(buffer, DType::float64, 0, 1, 5, 5));
  EXPECT_NE(invalid_input_of([&] { acc.report(); }).find("at least 2"), std::string::npos);
  EXPECT_NE(invalid_input_of([&] { acc.eigenvalues(); }).find("at least 2"), std::string::npos);
}

// The solver workspace is reused between calls: results are bit-for-bit the same, other
// calls in between change nothing, and the state is not consumed by a report.
TEST(CudaReport, RepeatedReportsAreIdenticalAndLeaveTheStateUsable) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 3000, d = 120;
  const auto x = offset_power_law_features(n, d, 1.3, 21);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(d);
  acc.add_batch(device_view(buffer, DType::float64, 0, 2000, d, d));
  const AlphaReport first = acc.report();
  const AlphaReport second = acc.report();
  EXPECT_EQ(first.eigenvalues, second.eigenvalues);
  EXPECT_EQ(first.fit.alpha, second.fit.alpha);
  EXPECT_EQ(first.fit.r2, second.fit.r2);
  EXPECT_EQ(first.fit.residuals, second.fit.residuals);
  acc.eigenvalues(Normalization::by_n_minus_one);
  acc.report(FitOptions{FitMethod::ols, 2, 50}, Normalization::by_n_minus_one);
  acc.covariance();
  const AlphaReport third = acc.report();
  EXPECT_EQ(first.eigenvalues, third.eigenvalues);
  EXPECT_EQ(first.fit.alpha, third.fit.alpha);

  acc.add_batch(device_view(buffer, DType::float64, 2000, 1000, d, d));
  auto fresh = cuda_accumulator(d);
  fresh.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  const AlphaReport after = acc.report(), all_at_once = fresh.report();
  EXPECT_EQ(after.n, n);
  EXPECT_NEAR(after.fit.alpha, all_at_once.fit.alpha, 1e-10);
  EXPECT_LT(relative_error(after.eigenvalues, all_at_once.eigenvalues), 1e-12);
  const auto reference = test::dsyev_eigenvalues(test::two_pass_covariance(x, n, d, n), d);
  EXPECT_LT(relative_error(after.eigenvalues, reference), 1e-12);
}

// ---- compute_alpha and compute_alpha_npy ---------------------------------------------------

AlphaOptions options_for(Backend backend) {
  AlphaOptions options;
  options.accumulator.backend = backend;
  return options;
}

TEST(CudaComputeAlpha, DeviceViewGivesTheCpuResult) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 5000, d = 150;
  const auto x = test::rounded_to(offset_power_law_features(n, d, 0.9, 5), DType::float32);
  const std::vector<float> x32(x.begin(), x.end());
  const DeviceBuffer buffer = upload(x, DType::float32);
  const AlphaReport on_cpu = compute_alpha(host_matrix(x32.data(), n, d), options_for(Backend::cpu));
  for (Backend backend : {Backend::cuda, Backend::automatic}) {
    const AlphaReport on_gpu =
        compute_alpha(device_view(buffer, DType::float32, 0, n, d, d), options_for(backend));
    EXPECT_EQ(on_gpu.backend, "cuda") << to_string(backend);
    EXPECT_EQ(on_gpu.n, n);
    EXPECT_NEAR(on_gpu.fit.alpha, on_cpu.fit.alpha, 1e-9) << to_string(backend);
    EXPECT_NEAR(on_gpu.fit.r2, on_cpu.fit.r2, 1e-9) << to_string(backend);
    EXPECT_LT(relative_error(on_gpu.eigenvalues, on_cpu.eigenvalues), 1e-12);
  }
}

// Three layers of different widths (float32, float16 and bfloat16 device views; a float64
// host view), one pass on the stream the call creates and, again, on a caller's stream:
// each layer's report equals compute_alpha on that layer alone on the CPU (same rounded
// values), to the float64 paths' tolerances.
TEST(CudaComputeAlphaLayers, LayersOfDifferentWidthsOnOneStreamGiveEachLayersCpuResult) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000;
  const std::vector<std::int64_t> widths = {96, 160, 224, 128};
  const std::vector<DType> dtypes = {DType::float32, DType::float16, DType::bfloat16,
                                     DType::float64};
  std::vector<std::vector<double>> values;
  std::vector<DeviceBuffer> buffers;
  std::vector<AlphaReport> expected;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    values.push_back(test::rounded_to(
        offset_power_law_features(n, widths[i], 0.8 + 0.2 * i, 40 + i, 3.0), dtypes[i]));
    if (dtypes[i] != DType::float64)
      buffers.push_back(upload(values[i], dtypes[i]));  // host: the last
    expected.push_back(
        compute_alpha(host_matrix(values[i].data(), n, widths[i]), options_for(Backend::cpu)));
  }
  const auto views = [&](void* stream) {
    std::vector<MatrixView> layers;
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
      layers.push_back(device_view(buffers[i], dtypes[i], 0, n, widths[i], widths[i], 0, stream));
    }
    layers.push_back(host_matrix(values.back().data(), n, widths.back()));
    return layers;
  };
  const test::CudaStream caller;
  for (void* stream : {static_cast<void*>(nullptr), static_cast<void*>(caller.handle())}) {
    AlphaOptions options = options_for(Backend::cuda);
    options.accumulator.stream = stream;
    const std::vector<AlphaReport> reports = compute_alpha_layers(views(stream), options);
    ASSERT_EQ(reports.size(), widths.size());
    for (std::size_t i = 0; i < widths.size(); ++i) {
      SCOPED_TRACE("layer " + std::to_string(i) + (stream ? ", caller's stream" : ", own stream"));
      EXPECT_EQ(reports[i].backend, "cuda");
      EXPECT_EQ(reports[i].d, widths[i]);
      EXPECT_NEAR(reports[i].fit.alpha, expected[i].fit.alpha, 1e-9);
      EXPECT_LT(relative_error(reports[i].eigenvalues, expected[i].eigenvalues), 1e-12);
    }
  }
}

// Layers of D = 16,384 (4 GiB each: the float64 state and the solver's copy), each of which
// fits on the device alone, two more of them than fit together: refused before the first
// accumulator is made, naming the layers and the bytes. Each accumulator checks only its
// own memory, so without the joint check the accumulators would be built one by one until
// one of them ran out ("D = 16384 needs ...") with the others' memory held.
TEST(CudaComputeAlphaLayers, LayersThatFitOnlyOneAtATimeAreRefusedBeforeAllocating) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  std::size_t free_before = 0, total = 0;
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemGetInfo(&free_before, &total));
  constexpr std::int64_t d = 16384, n = 200;
  const double layer_bytes = 16.0 * d * d;
  if (static_cast<double>(free_before) < 1.5 * layer_bytes) {
    GTEST_SKIP() << "needs 6 GiB of free device memory, " << free_before << " bytes are free";
  }
  const auto count = static_cast<std::size_t>(static_cast<double>(free_before) / layer_bytes) + 2;
  const DeviceBuffer buffer(static_cast<std::size_t>(n * d) * sizeof(float));
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemset(buffer.get(), 0, buffer.bytes()));  // never read: refused first
  const std::vector<MatrixView> layers(count, device_view(buffer, DType::float32, 0, n, d, d));
  try {
    compute_alpha_layers(layers, options_for(Backend::cuda));
    FAIL() << "no out_of_memory for " << count << " layers of D = " << d;
  } catch (const out_of_memory& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(std::to_string(count) + " layers (D = 16384, 16384"), std::string::npos) << message;
    EXPECT_NE(message.find(" need "), std::string::npos) << message;
  }
  std::size_t free_after = 0;
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemGetInfo(&free_after, &total));
  // Nothing was kept (one layer's state alone would be 4 GiB): the 13 MB batch buffer, and
  // a little slack for the driver's own bookkeeping.
  EXPECT_LT(static_cast<double>(free_before) - static_cast<double>(free_after), 256.0 * (1 << 20));
}

std::string temp_path(const std::string& name) {
  // Test cases run in parallel processes: the test name keeps the files apart.
  return ::testing::TempDir() + "alphareq_cuda_pipeline_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
}

TEST(CudaComputeAlphaNpy, StreamedFileGivesTheCpuResult) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 5000, d = 150;
  const auto x = offset_power_law_features(n, d, 0.9, 5);
  const auto x32 = test::to_float(x);
  const std::string path32 = temp_path("f32.npy"), path64 = temp_path("f64.npy");
  save_npy(path32, x32.data(), {n, d});
  save_npy(path64, x.data(), {n, d});
  for (const std::string& path : {path32, path64}) {
    const std::uint64_t file_bytes = n * d * (path == path32 ? sizeof(float) : sizeof(double));
    const AlphaReport on_cpu = compute_alpha_npy(path, options_for(Backend::cpu));
    for (std::uint64_t chunk_bytes : {std::uint64_t{150 * 4 * 333}, std::uint64_t{64} << 20}) {
      std::uint64_t last_done = 0;
      const AlphaReport on_gpu = compute_alpha_npy(
          path, options_for(Backend::cuda),
          [&](std::uint64_t done, std::uint64_t) { last_done = done; }, chunk_bytes);
      EXPECT_EQ(on_gpu.backend, "cuda");
      EXPECT_EQ(on_gpu.n, n);
      EXPECT_EQ(on_gpu.d, d);
      EXPECT_NEAR(on_gpu.fit.alpha, on_cpu.fit.alpha, 1e-9) << path << " " << chunk_bytes;
      EXPECT_LT(relative_error(on_gpu.eigenvalues, on_cpu.eigenvalues), 1e-12) << path;
      EXPECT_EQ(last_done, file_bytes);
    }
  }
  std::remove(path32.c_str());
  std::remove(path64.c_str());
}

}  // namespace
}  // namespace alphareq
