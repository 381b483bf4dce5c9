// The bootstrap interval of α: resampling samples, seeded, and shrinking with n.

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace alphareq {
namespace {

std::vector<double> features(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = 1.0;
  spec.seed = seed;
  return synthetic_power_law_features(spec);
}

AlphaOptions bootstrap_options(std::int64_t resamples, std::uint64_t seed) {
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  options.fit.last_rank = 40;
  options.bootstrap.resamples = resamples;
  options.bootstrap.seed = seed;
  return options;
}

TEST(Bootstrap, IsOffByDefault) {
  const auto x = features(1000, 64, 1);
  AlphaOptions options = bootstrap_options(0, 0);
  const AlphaReport report = compute_alpha(host_matrix(x.data(), 1000, 64), options);
  EXPECT_EQ(report.diagnostics.bootstrap_resamples, 0);
  EXPECT_EQ(report.diagnostics.alpha_interval_low, 0.0);
}

TEST(Bootstrap, SameSeedSameIntervalOtherSeedOtherInterval) {
  const auto x = features(2000, 64, 2);
  const AlphaReport a = compute_alpha(host_matrix(x.data(), 2000, 64), bootstrap_options(20, 5));
  const AlphaReport b = compute_alpha(host_matrix(x.data(), 2000, 64), bootstrap_options(20, 5));
  const AlphaReport c = compute_alpha(host_matrix(x.data(), 2000, 64), bootstrap_options(20, 6));
  EXPECT_EQ(a.diagnostics.alpha_interval_low, b.diagnostics.alpha_interval_low);
  EXPECT_EQ(a.diagnostics.alpha_interval_high, b.diagnostics.alpha_interval_high);
  EXPECT_NE(a.diagnostics.alpha_interval_low, c.diagnostics.alpha_interval_low);
  EXPECT_LT(a.diagnostics.alpha_interval_low, a.diagnostics.alpha_interval_high);
  EXPECT_EQ(a.diagnostics.bootstrap_resamples, 20);
  EXPECT_EQ(a.diagnostics.bootstrap_confidence, 0.95);
}

// The spread of α̂ falls like 1/√n: eight times the samples, under half the error.
TEST(Bootstrap, StandardErrorShrinksWithTheSampleCount) {
  const auto small = features(2000, 64, 3), large = features(16000, 64, 3);
  const AlphaReport a = compute_alpha(host_matrix(small.data(), 2000, 64), bootstrap_options(30, 1));
  const AlphaReport b = compute_alpha(host_matrix(large.data(), 16000, 64), bootstrap_options(30, 1));
  EXPECT_GT(a.diagnostics.alpha_standard_error, 0.0);
  EXPECT_LT(b.diagnostics.alpha_standard_error, a.diagnostics.alpha_standard_error / 2.0);
  EXPECT_LT(b.diagnostics.alpha_interval_high - b.diagnostics.alpha_interval_low,
            a.diagnostics.alpha_interval_high - a.diagnostics.alpha_interval_low);
  // The resampled α is close to normal: the 95% interval spans about 2 · 1.96 standard
  // errors (within a factor 2, for 30 resamples' quantiles).
  for (const AlphaReport* r : {&a, &b}) {
    const double width = r->diagnostics.alpha_interval_high - r->diagnostics.alpha_interval_low;
    EXPECT_GT(width, 3.92 * r->diagnostics.alpha_standard_error / 2.0);
    EXPECT_LT(width, 3.92 * r->diagnostics.alpha_standard_error * 2.0);
  }
  // Fewer samples, more upward bias of the resampled spectra.
  EXPECT_GT(a.diagnostics.bootstrap_bias, b.diagnostics.bootstrap_bias);
}

TEST(Bootstrap, StreamedFileGivesTheSameIntervalAsMemory) {
  const auto x = features(1500, 48, 4);
  const std::string path = ::testing::TempDir() + "alphareq_bootstrap.npy";
  save_npy(path, x.data(), {1500, 48});
  const AlphaOptions options = bootstrap_options(10, 9);
  const AlphaReport memory = compute_alpha(host_matrix(x.data(), 1500, 48), options);
  const AlphaReport file = compute_alpha_npy(path, options, {}, 48 * 8 * 100);  // 100-row chunks
  EXPECT_NEAR(file.diagnostics.alpha_interval_low, memory.diagnostics.alpha_interval_low, 1e-9);
  EXPECT_NEAR(file.diagnostics.alpha_interval_high, memory.diagnostics.alpha_interval_high, 1e-9);
  std::remove(path.c_str());
}

TEST(Bootstrap, RefusesNonsense) {
  const auto x = features(500, 32, 5);
  AlphaOptions options = bootstrap_options(1, 0);
  options.fit.last_rank = 20;
  EXPECT_THROW(compute_alpha(host_matrix(x.data(), 500, 32), options), invalid_input);
  options.bootstrap.resamples = 5;
  options.bootstrap.confidence = 1.5;
  EXPECT_THROW(compute_alpha(host_matrix(x.data(), 500, 32), options), invalid_input);
}

}  // namespace
}  // namespace alphareq
