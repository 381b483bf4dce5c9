// The bootstrap interval of α: resampling samples, seeded, and shrinking with n.

#include "core/bootstrap.hpp"
#include "core/bootstrap_draw.hpp"
#include "reference.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <unistd.h>
#include <random>
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

// The draw shared with the CUDA bootstrap: Poisson(1) frequencies (P(k) = e^−1 / k!) over
// 10^6 (replicate, sample) pairs, each within 5 standard errors of its probability; the
// same (seed, replicate, sample) always gives the same k, other seeds other sequences.
TEST(Bootstrap, MultiplicitiesArePoissonOneAndCounterBased) {
  constexpr std::int64_t replicates = 100, samples = 10000;
  std::vector<double> frequency(18, 0.0);
  double mean = 0.0, second = 0.0;
  const double total = static_cast<double>(replicates * samples);
  for (std::int64_t b = 0; b < replicates; ++b) {
    for (std::int64_t i = 0; i < samples; ++i) {
      const int k = detail::bootstrap_multiplicity(std::uint64_t{7}, b, i);
      ASSERT_GE(k, 0);
      ASSERT_LE(k, 17);
      frequency[k] += 1.0 / total;
      mean += k / total;
      second += static_cast<double>(k) * k / total;
    }
  }
  double probability = std::exp(-1.0);
  for (int k = 0; k < 6; ++k) {
    if (k > 0) probability /= k;
    EXPECT_NEAR(frequency[k], probability, 5.0 * std::sqrt(probability / total)) << "k = " << k;
  }
  EXPECT_NEAR(mean, 1.0, 5.0 / std::sqrt(total));
  // Var(k) = 1; its estimate has a standard error near √(Var(k²) / N), Var(k²) = 15 − 4 = 11.
  EXPECT_NEAR(second - mean * mean, 1.0, 5.0 * std::sqrt(11.0 / total));
  EXPECT_EQ(detail::bootstrap_multiplicity(std::uint64_t{7}, 3, 12345),
            detail::bootstrap_multiplicity(detail::bootstrap_replicate_key(7, 3), 12345));
  int differing = 0;
  for (std::int64_t i = 0; i < 100; ++i) {
    differing += detail::bootstrap_multiplicity(std::uint64_t{7}, 0, i) !=
                 detail::bootstrap_multiplicity(std::uint64_t{8}, 0, i);
  }
  EXPECT_GT(differing, 30);  // independent draws differ with probability 1 − Σ P(k)² ≈ 0.69
}

// λ_i ∝ i^(−1.2) with n ≫ D: the 95% basic interval covers the population α (the same case
// as tests/gpu/cuda_bootstrap_test.cpp, whose replicates are these).
// The summary of known replicate alphas, computed by hand: quantiles by linear
// interpolation (numpy's default) at (1 -+ c)/2, the basic interval 2 alpha-hat minus them,
// the standard error over B - 1, the bias mean - alpha-hat. Every other bootstrap test
// compares two runs of the same summary, so a percentile interval, other quantiles or a
// B divisor passed them all.
TEST(Bootstrap, SummaryIsTheBasicIntervalOfLinearQuantiles) {
  const std::vector<double> alphas = {1.4, 1.9, 1.0, 1.6, 1.2, 1.8, 1.1, 1.5, 1.3, 1.7};
  BootstrapOptions options;
  options.resamples = 10;
  options.confidence = 0.8;
  AlphaReport report;
  report.fit.alpha = 1.3;
  detail::summarise_bootstrap(alphas, options, report);
  // Sorted 1.0 .. 1.9: the 0.1 quantile at position 0.9 is 1.09, the 0.9 one at 8.1 is 1.81.
  EXPECT_NEAR(report.diagnostics.alpha_interval_low, 2 * 1.3 - 1.81, 1e-12);
  EXPECT_NEAR(report.diagnostics.alpha_interval_high, 2 * 1.3 - 1.09, 1e-12);
  EXPECT_NEAR(report.diagnostics.alpha_standard_error, std::sqrt(0.825 / 9.0), 1e-12);  // mean 1.45
  EXPECT_NEAR(report.diagnostics.bootstrap_bias, 0.15, 1e-12);
  EXPECT_EQ(report.diagnostics.bootstrap_resamples, 10);
  EXPECT_EQ(report.diagnostics.bootstrap_confidence, 0.8);
}

// Each replicate is the fit, with the user's options, of its Poisson resample: the rows
// repeated as bootstrap_multiplicity says, their covariance in long double, LAPACK's
// eigenvalues and fit_power_law, independently of the weighted accumulation. Subsampling
// (each row at most once) or another fit method for the replicates passed every test.
TEST(Bootstrap, ReplicatesAreFitsOfTheirPoissonResamples) {
  constexpr std::int64_t n = 600, d = 40, replicates = 9;
  const auto x = features(n, d, 3);
  AlphaOptions options = bootstrap_options(replicates, 11);
  options.fit = FitOptions{FitMethod::weighted, 2, 20, 0};
  options.bootstrap.confidence = 0.8;
  std::vector<double> reference;
  for (std::int64_t b = 0; b < replicates; ++b) {
    std::vector<double> resample;
    for (std::int64_t i = 0; i < n; ++i) {
      for (int k = 0; k < detail::bootstrap_multiplicity(detail::bootstrap_replicate_key(11, b), i); ++k) {
        resample.insert(resample.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
      }
    }
    const std::int64_t rows = static_cast<std::int64_t>(resample.size()) / d;
    const auto lambda = test::dsyev_eigenvalues(test::two_pass_covariance(resample, rows, d, rows), d);
    reference.push_back(fit_power_law(lambda, rows, options.fit).alpha);
  }
  detail::CpuBootstrap bootstrap(d, options, 0, replicates);
  bootstrap.add_chunk(host_matrix(x.data(), n, d), 0);
  const auto alphas = bootstrap.replicate_alphas();
  ASSERT_EQ(alphas.size(), reference.size());
  for (std::size_t b = 0; b < alphas.size(); ++b) EXPECT_NEAR(alphas[b], reference[b], 1e-8) << "replicate " << b;
  // And the report's interval is the basic interval of those alphas (9 values: the 0.1 and
  // 0.9 quantiles at positions 0.8 and 7.2).
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  std::sort(reference.begin(), reference.end());
  const double low_quantile = reference[0] + 0.8 * (reference[1] - reference[0]);
  const double high_quantile = reference[7] + 0.2 * (reference[8] - reference[7]);
  EXPECT_NEAR(report.diagnostics.alpha_interval_low, 2 * report.fit.alpha - high_quantile, 1e-8);
  EXPECT_NEAR(report.diagnostics.alpha_interval_high, 2 * report.fit.alpha - low_quantile, 1e-8);
}

TEST(Bootstrap, IntervalCoversTheTrueAlphaOfAPowerLaw) {
  constexpr std::int64_t n = 20000, d = 128;
  constexpr double alpha = 1.2;
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = alpha;
  spec.seed = 27;
  spec.offset = 10.0;
  const auto x = synthetic_power_law_features(spec);
  AlphaOptions options = bootstrap_options(100, 2);
  options.fit.first_rank = 5;
  options.fit.last_rank = 50;
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  EXPECT_LT(report.diagnostics.alpha_interval_low, alpha);
  EXPECT_GT(report.diagnostics.alpha_interval_high, alpha);
  EXPECT_LT(report.diagnostics.alpha_interval_high - report.diagnostics.alpha_interval_low, 0.05);
}

// Replicates in groups (the CUDA backend's passes over in-memory features when not all fit)
// keep their global indices: 3 passes of at most 7 give the one-pass result exactly.
TEST(Bootstrap, GroupsOfReplicatesGiveTheOneGroupResult) {
  const auto x = features(1200, 32, 6);
  const MatrixView view = host_matrix(x.data(), 1200, 32);
  const AlphaOptions options = bootstrap_options(20, 6);
  const AlphaReport one_pass = compute_alpha(view, options);
  AlphaReport grouped = one_pass;
  grouped.diagnostics = FitDiagnostics{};
  detail::bootstrap_in_memory(view, options, Backend::cpu, grouped, 7);
  EXPECT_EQ(grouped.diagnostics.bootstrap_resamples, 20);
  EXPECT_EQ(grouped.diagnostics.alpha_interval_low, one_pass.diagnostics.alpha_interval_low);
  EXPECT_EQ(grouped.diagnostics.alpha_interval_high, one_pass.diagnostics.alpha_interval_high);
  EXPECT_EQ(grouped.diagnostics.alpha_standard_error, one_pass.diagnostics.alpha_standard_error);
}

// A resample keeps about 63 % of the samples, so its covariance has rank at most about
// 0.63 n − 1: with n = 120 and a window ending at rank 100 every replicate would be fitted
// on fewer ranks than α̂ (the interval then described another quantity, and missed α̂).
// The refusal names the window end every resample reaches, and that window runs.
TEST(Bootstrap, ResamplesTooSmallForTheWindowAreRefusedWithAWindowThatWorks) {
  constexpr std::int64_t n = 120, d = 300, resamples = 20;
  AlphaOptions options = bootstrap_options(resamples, 3);
  options.fit.last_rank = 100;
  const auto x = features(n, d, 8);
  const MatrixView view = host_matrix(x.data(), n, d);
  // The fewest distinct samples of the 20 resamples, counted here from the draw itself.
  int fewest = n;
  for (std::int64_t b = 0; b < resamples; ++b) {
    int distinct = 0;
    for (std::int64_t i = 0; i < n; ++i) distinct += detail::bootstrap_multiplicity(3, b, i) > 0 ? 1 : 0;
    fewest = std::min(fewest, distinct);
  }
  ASSERT_LT(fewest, 101);
  try {
    compute_alpha(view, options);
    ADD_FAILURE() << "no invalid_input";
  } catch (const invalid_input& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bootstrap: resample "), std::string::npos) << message;
    EXPECT_NE(message.find("has rank below 100, where the fit window ends"), std::string::npos) << message;
    EXPECT_NE(message.find("End the window by rank " + std::to_string(fewest - 1)), std::string::npos) << message;
  }
  options.fit.last_rank = fewest;  // one rank too far for the smallest resample
  EXPECT_THROW(compute_alpha(view, options), invalid_input);
  options.fit.last_rank = fewest - 1;
  const AlphaReport report = compute_alpha(view, options);
  EXPECT_EQ(report.diagnostics.bootstrap_resamples, resamples);
  EXPECT_LT(report.diagnostics.alpha_interval_low, report.diagnostics.alpha_interval_high);
}

// The reach that counts is where α̂'s window really ends: rank-40 data (n = 120, D = 300)
// ends it at 40, which every resample reaches, so the default window 11..100 runs.
TEST(Bootstrap, LowRankDataEndsTheWindowWhereResamplesStillReach) {
  constexpr std::int64_t n = 120, d = 300, rank = 40;
  std::mt19937_64 random(17);
  std::normal_distribution<double> normal;
  std::vector<double> basis(rank * d), x(n * d, 0.0);
  for (double& v : basis) v = normal(random);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = 0; k < rank; ++k) {
      const double z = normal(random) / std::sqrt(static_cast<double>(k + 1));
      for (std::int64_t c = 0; c < d; ++c) x[i * d + c] += z * basis[k * d + c];
    }
  }
  AlphaOptions options = bootstrap_options(20, 3);
  options.fit.last_rank = 100;
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  EXPECT_EQ(report.fit.last_rank, rank);
  EXPECT_EQ(report.diagnostics.bootstrap_resamples, 20);
  // The streamed file takes the same path after its one pass.
  const std::string path = ::testing::TempDir() + "alphareq_bootstrap_low_rank.npy";
  save_npy(path, x.data(), {n, d});
  const AlphaReport streamed = compute_alpha_npy(path, options);
  EXPECT_EQ(streamed.diagnostics.alpha_interval_low, report.diagnostics.alpha_interval_low);
  std::remove(path.c_str());
}

TEST(Bootstrap, LayersRefuseABootstrapTheyWouldNotCompute) {
  const auto x = features(400, 32, 9);
  const MatrixView view = host_matrix(x.data(), 400, 32);
  AlphaOptions options = bootstrap_options(20, 3);
  options.fit.last_rank = 20;
  EXPECT_THROW(compute_alpha_layers({view, view}, options), invalid_input);
  options.bootstrap.resamples = 0;
  EXPECT_EQ(compute_alpha_layers({view, view}, options).size(), 2u);
}

// B replicates of D x D each, checked together before any is allocated (each alone passed
// its own check, and 50 replicates at D = 8192 were OOM-killed on a 24 GiB machine).
TEST(Bootstrap, ReplicatesThatCannotAllFitInMemoryAreRefusedTogether) {
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  constexpr std::int64_t n = 200, d = 1024;
  const auto resamples = static_cast<std::int64_t>(physical / (d * d * sizeof(double))) + 1;
  const auto x = features(n, d, 10);
  AlphaOptions options = bootstrap_options(resamples, 1);
  options.fit.last_rank = 20;
  try {
    compute_alpha(host_matrix(x.data(), n, d), options);
    FAIL() << "no out_of_memory thrown for " << resamples << " resamples";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("the bootstrap's " + std::to_string(resamples) + " replicate D x D covariances"),
              std::string::npos)
        << e.what();
  }
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
