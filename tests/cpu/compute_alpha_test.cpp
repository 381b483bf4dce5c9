// The whole pipeline: features -> α, on sampled Gaussian features of known spectrum, from
// memory and streamed from .npy files.

#include "reference.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace alphareq {
namespace {

AlphaOptions cpu_options(FitMethod method = FitMethod::weighted) {
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  options.fit.method = method;
  return options;
}

class SampledPowerLaw : public ::testing::TestWithParam<std::tuple<double, FitMethod>> {};

// n = 20000 Gaussian samples of D = 256 features, population spectrum i^(−α), rotated.
// The sample spectrum deviates from the population one by O(√(D/n)) relative noise and a
// Marchenko–Pastur spread; on ranks 11..100 that moves α by under 0.01 for these seeds
// (measured: at most 0.0043), so 0.02 is the stated tolerance.
TEST_P(SampledPowerLaw, RecoversAlphaWithinTwoHundredths) {
  const auto [alpha, method] = GetParam();
  SyntheticSpec spec;
  spec.n = 20000;
  spec.d = 256;
  spec.alpha = alpha;
  spec.seed = 1234;
  spec.offset = 100.0;
  const auto x = synthetic_power_law_features(spec);
  const AlphaReport report = compute_alpha(host_matrix(x.data(), spec.n, spec.d), cpu_options(method));
  EXPECT_NEAR(report.fit.alpha, alpha, 0.02);
  EXPECT_GT(report.fit.r2, 0.999);
  EXPECT_EQ(report.n, spec.n);
  EXPECT_EQ(report.d, spec.d);
  EXPECT_EQ(report.backend, "cpu");
  EXPECT_EQ(report.eigenvalues.size(), static_cast<std::size_t>(spec.d));
  EXPECT_GT(report.timings.accumulate_ms, 0.0);
  EXPECT_GT(report.timings.eigenvalues_ms, 0.0);
  EXPECT_NEAR(report.timings.total_ms,
              report.timings.accumulate_ms + report.timings.eigenvalues_ms + report.timings.fit_ms,
              1e-9);
}

INSTANTIATE_TEST_SUITE_P(AlphasAndMethods, SampledPowerLaw,
                         ::testing::Combine(::testing::Values(0.5, 1.0, 1.5, 2.0),
                                            ::testing::Values(FitMethod::weighted, FitMethod::ols)));

// The fit on the accumulator's eigenvalues equals the fit on the float64 reference's.
TEST(ComputeAlpha, EqualsFitOfReferenceEigenvaluesWithLargeFloat32Offset) {
  SyntheticSpec spec;
  spec.n = 3000;
  spec.d = 120;
  spec.alpha = 1.3;
  spec.seed = 77;
  spec.offset = 1e3;  // a thousand times the leading standard deviation
  const auto x32 = test::to_float(synthetic_power_law_features(spec));
  const auto x = test::to_double(x32);
  const auto reference_eigenvalues =
      test::dsyev_eigenvalues(test::two_pass_covariance(x, spec.n, spec.d, spec.n), spec.d);
  const PowerLawFit reference = fit_power_law(reference_eigenvalues, spec.n);
  const AlphaReport report = compute_alpha(host_matrix(x32.data(), spec.n, spec.d), cpu_options());
  EXPECT_NEAR(report.fit.alpha, reference.alpha, 1e-8);
  EXPECT_NEAR(report.fit.r2, reference.r2, 1e-8);
}

TEST(ComputeAlpha, RefusesFewerThanTwoSamples) {
  const std::vector<double> one_row(10, 1.0);
  EXPECT_THROW(compute_alpha(host_matrix(one_row.data(), 1, 10), cpu_options()), invalid_input);
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "alphareq_compute_alpha_" + name;
}

TEST(ComputeAlphaNpy, StreamedFileEqualsInMemoryResultForAnyChunkSize) {
  SyntheticSpec spec;
  spec.n = 5000;
  spec.d = 150;
  spec.alpha = 0.9;
  spec.seed = 5;
  spec.offset = 10.0;
  const auto x32 = test::to_float(synthetic_power_law_features(spec));
  const std::string path = temp_path("stream.npy");
  save_npy(path, x32.data(), {spec.n, spec.d});
  const AlphaReport in_memory = compute_alpha(host_matrix(x32.data(), spec.n, spec.d), cpu_options());
  std::vector<std::uint64_t> progress;
  for (std::uint64_t chunk_bytes : {std::uint64_t{1}, std::uint64_t{150 * 4 * 333}, std::uint64_t{1} << 30}) {
    progress.clear();
    const AlphaReport streamed = compute_alpha_npy(
        path, cpu_options(), [&](std::uint64_t done, std::uint64_t) { progress.push_back(done); },
        chunk_bytes);
    EXPECT_NEAR(streamed.fit.alpha, in_memory.fit.alpha, 1e-10) << chunk_bytes;
    EXPECT_LT(test::relative_error(streamed.eigenvalues, in_memory.eigenvalues), 1e-11);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back(), static_cast<std::uint64_t>(spec.n * spec.d * 4));
  }
  EXPECT_EQ(progress.size(), 2u);  // one chunk: the start and the end
  std::remove(path.c_str());
}

TEST(ComputeAlphaNpy, NaNInFileNamesPathRowAndColumn) {
  auto x = test::random_matrix(100, 8, 3);
  x[63 * 8 + 5] = std::numeric_limits<double>::quiet_NaN();
  const std::string path = temp_path("nan.npy");
  save_npy(path, x.data(), {100, 8});
  try {
    compute_alpha_npy(path, cpu_options(), {}, 8 * 8 * 10);  // 10 rows a chunk
    FAIL() << "no invalid_input thrown";
  } catch (const invalid_input& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path, 0), 0u) << message;
    EXPECT_NE(message.find("NaN in the features at row 63, column 5"), std::string::npos) << message;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace alphareq
