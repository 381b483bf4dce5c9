// Spectrum metrics against closed forms, and the fit diagnostics on spectra with known
// structure.

#include "reference.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <utility>
#include <vector>

namespace alphareq {
namespace {

constexpr double kEpsilon = 1e-7;  // RankMe's ε

// exp(−Σ p log p) with p_k = s_k / Σ s + ε: the RankMe formula on singular values s.
double rankme_of_singular_values(const std::vector<double>& s) {
  double total = 0.0, entropy = 0.0;
  for (double v : s) total += v;
  for (double v : s) {
    const double p = v / total + kEpsilon;
    entropy -= p * std::log(p);
  }
  return std::exp(entropy);
}

TEST(SpectrumMetrics, FlatSpectrumHasFullRankEverywhere) {
  constexpr std::int64_t d = 64;
  const std::vector<double> flat(d, 2.5);
  const SpectrumMetrics m = spectrum_metrics(flat, 17);
  // p_k = 1/D + ε for all k.
  const double p = 1.0 / d + kEpsilon;
  EXPECT_NEAR(m.effective_rank, std::exp(-d * p * std::log(p)), 1e-9);
  EXPECT_NEAR(m.effective_rank, d, 2e-3);  // ε lifts it a hair above D
  EXPECT_NEAR(m.participation_ratio, d, 1e-9);
  EXPECT_NEAR(m.stable_rank, d, 1e-9);
  EXPECT_EQ(m.numerical_rank, d);
  EXPECT_NEAR(m.tail_ratio, (d - 17 + 1) / static_cast<double>(d), 1e-15);
}

TEST(SpectrumMetrics, RankOneSpectrum) {
  std::vector<double> spectrum(50, 0.0);
  spectrum[0] = 4.0;
  spectrum[1] = 1e-20;  // below λ_1 · D · ε: numerically zero
  const SpectrumMetrics m = spectrum_metrics(spectrum, 2);
  EXPECT_NEAR(m.participation_ratio, 1.0, 1e-12);
  EXPECT_NEAR(m.stable_rank, 1.0, 1e-12);
  EXPECT_EQ(m.numerical_rank, 1);
  EXPECT_NEAR(m.tail_ratio, 1e-20 / 4.0, 1e-30);
  std::vector<double> singular(50, 0.0);
  singular[0] = 2.0;  // λ_2 is below the threshold: a zero singular value, not 1e-10
  EXPECT_NEAR(m.effective_rank, rankme_of_singular_values(singular), 1e-12);
  EXPECT_LT(m.effective_rank, 1.01);
}

TEST(SpectrumMetrics, PowerLawMatchesHarmonicSums) {
  constexpr std::int64_t d = 1000;
  const auto spectrum = power_law_spectrum(d, 1.0);
  long double h1 = 0, h2 = 0, tail = 0;
  for (std::int64_t i = 1; i <= d; ++i) {
    h1 += 1.0L / i;
    h2 += 1.0L / (static_cast<long double>(i) * i);
    if (i >= 11) tail += 1.0L / i;
  }
  const SpectrumMetrics m = spectrum_metrics(spectrum, 11);
  EXPECT_NEAR(m.participation_ratio, static_cast<double>(h1 * h1 / h2), 1e-9);
  EXPECT_NEAR(m.stable_rank, static_cast<double>(h1), 1e-9);
  // Theorem 2.2: r_d = Σ_{i ≥ d} i^−α / Σ i^−α.
  EXPECT_NEAR(m.tail_ratio, static_cast<double>(tail / h1), 1e-12);
  std::vector<double> singular;
  for (double v : spectrum) singular.push_back(std::sqrt(v));
  EXPECT_NEAR(m.effective_rank, rankme_of_singular_values(singular), 1e-9);
}

// The report's effective rank is RankMe of the centred n × D feature matrix: computed here
// from that matrix's own n singular values (the eigenvalues of its n × n Gram matrix, by
// LAPACK), with n < D so that the D − n zero eigenvalues of the covariance must not count.
TEST(SpectrumMetrics, ReportEffectiveRankIsRankMeOfTheCentredFeatures) {
  constexpr std::int64_t n = 50, d = 120;
  const auto x = test::random_matrix(n, d, 13, 4.0, 1.5);  // a mean of 4: centring matters
  const auto mean = test::two_pass_mean(x, n, d);
  std::vector<double> gram(n * n, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t c = 0; c < d; ++c) gram[i * n + j] += (x[i * d + c] - mean[c]) * (x[j * d + c] - mean[c]);
    }
  }
  std::vector<double> singular;
  for (double value : test::dsyev_eigenvalues(gram, n)) singular.push_back(std::sqrt(std::max(value, 0.0)));
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
  // 1e-7: centring leaves one zero singular value, which both sides see as the square root
  // of rounding noise (~1e-8 of σ_1, differently on each side; measured 7e-9).
  EXPECT_NEAR(report.metrics.effective_rank / rankme_of_singular_values(singular), 1.0, 1e-7);
  // Counting all D eigenvalues instead adds (D − n) ε log(1/ε) to the entropy (~1e-4).
  EXPECT_GT(spectrum_metrics(report.eigenvalues, 1).effective_rank / report.metrics.effective_rank, 1.0 + 5e-5);
}

// Features of rank 32 in D = 384: float32 products leave the 352 empty directions
// eigenvalues of rounding noise near 1e-8 λ_1, whose square roots (~1e-4 σ_1 each) summed to
// a few percent of Σσ and raised RankMe by 1.2 % here before eigenvalues below float32's
// resolution, λ_1 · ε32, counted as zero (found by a review: 56.35 against 55.15 on other
// data). Reference: RankMe of the 32 singular values from LAPACK's float64
// eigenvalues of the two-pass covariance, the other 352 of the min(n, D) counted as zero.
TEST(SpectrumMetrics, EffectiveRankIgnoresRoundingNoiseBelowTheRankThreshold) {
  constexpr std::int64_t n = 2000, rank = 32, d = 384;
  const auto latent = test::random_matrix(n, rank, 41);
  const auto mixing = test::random_matrix(rank, d, 42);
  std::vector<double> x(static_cast<std::size_t>(n * d), 3.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t k = 0; k < rank; ++k) {
      const double component = latent[r * rank + k] / std::sqrt(static_cast<double>(k + 1));
      for (std::int64_t c = 0; c < d; ++c) x[r * d + c] += component * mixing[k * d + c];
    }
  for (double& value : x) value = static_cast<float>(value);
  const auto effective_rank_with = [&](AccumulationPrecision precision) {
    AlphaOptions options;
    options.accumulator.backend = Backend::cpu;
    options.accumulator.precision = precision;
    options.fit.last_rank = 30;
    const AlphaReport report = compute_alpha(host_matrix(x.data(), n, d), options);
    EXPECT_EQ(report.metrics.numerical_rank, rank);
    return report.metrics.effective_rank;
  };
  std::vector<double> singular(static_cast<std::size_t>(d), 0.0);
  const auto lambda = test::dsyev_eigenvalues(test::two_pass_covariance(x, n, d, n), d);
  for (std::int64_t i = 0; i < rank; ++i) singular[i] = std::sqrt(lambda[i]);  // descending
  const double reference = rankme_of_singular_values(singular);
  EXPECT_NEAR(effective_rank_with(AccumulationPrecision::float64) / reference, 1.0, 1e-6);
  EXPECT_NEAR(effective_rank_with(AccumulationPrecision::float32) / reference, 1.0, 1e-5);
}

// What counts as zero is what the precision cannot resolve, λ_i ≤ λ_1 · ε, not the fit's
// threshold λ_1 · D · ε: with float32's ε that is 1.2e-4 λ_1 at D = 1024, and it cut RankMe
// of this i^-1.5 spectrum (smallest eigenvalue 3e-5 λ_1) from 475 to 214 (found by a review
// of the change above). And an ε up to 1 still leaves λ_1: no 0/0.
TEST(SpectrumMetrics, EffectiveRankKeepsARealTailThatFloat32Resolves) {
  constexpr int d = 1024;
  std::vector<double> spectrum(d), singular(d);
  for (int i = 0; i < d; ++i) {
    spectrum[i] = std::pow(i + 1.0, -1.5);
    singular[i] = std::sqrt(spectrum[i]);
  }
  const double float32_epsilon = 1.1920928955078125e-07;
  const SpectrumMetrics m = spectrum_metrics(spectrum, 1, 20000, float32_epsilon);
  EXPECT_LT(m.numerical_rank, d);  // the fit's threshold does cut into this tail
  EXPECT_NEAR(m.effective_rank / rankme_of_singular_values(singular), 1.0, 1e-12);
  const SpectrumMetrics coarse = spectrum_metrics({1.0, 0.5, 0.25}, 1, 0, 0.5);
  EXPECT_TRUE(std::isfinite(coarse.effective_rank));
}

TEST(SpectrumMetrics, NegativeRoundingNoiseCountsAsZero) {
  std::vector<double> spectrum = {3.0, 1.0, -1e-17};
  const SpectrumMetrics m = spectrum_metrics(spectrum, 3);
  EXPECT_NEAR(m.stable_rank, 4.0 / 3.0, 1e-15);
  EXPECT_EQ(m.tail_ratio, 0.0);
  EXPECT_EQ(m.numerical_rank, 2);
}

TEST(SpectrumMetrics, RefusesBadInput) {
  EXPECT_THROW(spectrum_metrics({}, 1), invalid_input);
  EXPECT_THROW(spectrum_metrics({0.0, 0.0}, 1), invalid_input);
  EXPECT_THROW(spectrum_metrics({2.0, 1.0}, 0), invalid_input);
  EXPECT_THROW(spectrum_metrics({2.0, 1.0}, 3), invalid_input);
}

TEST(FitDiagnostics, ExactPowerLawIsStableEverywhere) {
  const auto spectrum = power_law_spectrum(300, 1.3);
  const PowerLawFit fit = fit_power_law(spectrum, 100000);
  const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit);
  EXPECT_NEAR(diagnostics.robust_alpha, 1.3, 1e-10);
  EXPECT_EQ(diagnostics.suggested_first_rank, 1);
  EXPECT_EQ(diagnostics.suggested_last_rank, 300);
  EXPECT_NEAR(diagnostics.suggested_alpha, 1.3, 1e-10);
  EXPECT_EQ(diagnostics.subwindow, 10);
}

// The suggested alpha is the fit, by the user's method, of the suggested window: on a noisy
// spectrum the two methods differ, and the suggestion must follow the fit's (OLS always
// passed every test on exact power laws).
TEST(FitDiagnostics, SuggestedAlphaIsFittedByTheFitsMethod) {
  const auto spectrum = test::noisy_power_law(200, 1.0, 7);
  double by_method[2] = {0.0, 0.0};
  for (const FitMethod method : {FitMethod::weighted, FitMethod::ols}) {
    const PowerLawFit fit = fit_power_law(spectrum, 100000, FitOptions{method, 11, 100, 0});
    const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit, 10, 100.0);  // all stable
    EXPECT_EQ(diagnostics.suggested_first_rank, 1);
    EXPECT_EQ(diagnostics.suggested_last_rank, 200);
    const double expected = fit_power_law(spectrum, 100000, FitOptions{method, 1, 200, 0}).alpha;
    EXPECT_NEAR(diagnostics.suggested_alpha, expected, 1e-12) << to_string(method);
    by_method[method == FitMethod::ols] = expected;
  }
  EXPECT_GT(std::abs(by_method[0] - by_method[1]), 1e-3) << "the methods agree: no test";
}

// Two stable runs of equal length (i^-1 on 1..60, then 0.1 i^-1 on 61..120): the earliest
// is suggested, as documented.
TEST(FitDiagnostics, OfTiedStableRunsTheEarliestIsSuggested) {
  constexpr int kRun = 60;
  std::vector<double> spectrum(2 * kRun);
  for (int i = 1; i <= 2 * kRun; ++i) spectrum[i - 1] = (i <= kRun ? 1.0 : 0.1) / i;
  const PowerLawFit fit = fit_power_law(spectrum, 100000);
  const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit);
  EXPECT_EQ(diagnostics.suggested_first_rank, 1);
  EXPECT_EQ(diagnostics.suggested_last_rank, kRun);
  EXPECT_NEAR(diagnostics.suggested_alpha, 1.0, 1e-10);
}

// i^−1 up to rank 60, then a steeper i^−3 continued from λ_60: the suggestion must end
// near the break, and the user's window is left as it was.
TEST(FitDiagnostics, SuggestsTheStablePartOfABrokenPowerLaw) {
  std::vector<double> spectrum(400);
  for (int i = 1; i <= 400; ++i) {
    spectrum[i - 1] = i <= 60 ? 1.0 / i : (1.0 / 60) * std::pow(60.0 / i, 3.0);
  }
  const PowerLawFit fit = fit_power_law(spectrum, 100000);  // ranks 11..100
  const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit);
  EXPECT_EQ(fit.first_rank, 11);
  EXPECT_EQ(fit.last_rank, 100);
  // The longest stable run is the steep part (ranks 61..400), which is longer than 1..60.
  EXPECT_GE(diagnostics.suggested_first_rank, 55);
  EXPECT_LE(diagnostics.suggested_first_rank, 62);
  EXPECT_EQ(diagnostics.suggested_last_rank, 400);
  EXPECT_NEAR(diagnostics.suggested_alpha, 3.0, 0.05);
}

// i^−1 up to rank 70, then i^−3: over the window 11..100 the robust α takes 90 slopes of
// 9-rank sub-windows (starts 11..100): the 52 starting at 11..62 lie wholly before the
// break (α = 1), so the median (the 45th and 46th of 90) is 1 exactly, while the
// least-squares fit is pulled towards 3.
TEST(FitDiagnostics, RobustAlphaIgnoresABreakInTheMinorityOfItsSubWindows) {
  std::vector<double> spectrum(400);
  for (int i = 1; i <= 400; ++i) {
    spectrum[i - 1] = i <= 70 ? 1.0 / i : (1.0 / 70) * std::pow(70.0 / i, 3.0);
  }
  const PowerLawFit fit = fit_power_law(spectrum, 100000);
  const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit);
  EXPECT_EQ(diagnostics.robust_subwindow, 9);
  EXPECT_NEAR(diagnostics.robust_alpha, 1.0, 1e-10);
  EXPECT_GT(fit.alpha, 1.1);
}

// The authors' robust_fit_powerlaw (fastssl/utils/powerlaw.py), transcribed:
//   window = int((end - start) / 10)
//   slopes = [fit_powerlaw(arr, idx, idx + window) for idx in range(start, end + 1)]
//   return np.median(slopes)
// with fit_powerlaw the OLS slope of log λ on log i over ranks idx..idx + window. Starts
// after `last_start` are left out (the sub-windows past the rank limit).
double reference_robust_alpha(const std::vector<double>& lambda, int start, int end, int last_start) {
  const int window = (end - start) / 10;
  std::vector<double> slopes;
  for (int idx = start; idx <= std::min(end, last_start); ++idx) {
    // Centred sums, as scikit-learn's LinearRegression centres (the raw-moment formula
    // loses ~1e-12 to cancellation over narrow sub-windows at high ranks).
    double x_mean = 0, y_mean = 0;
    for (int i = idx; i <= idx + window; ++i) {
      x_mean += std::log(static_cast<double>(i)) / (window + 1);
      y_mean += std::log(lambda[i - 1]) / (window + 1);
    }
    double sxx = 0, sxy = 0;
    for (int i = idx; i <= idx + window; ++i) {
      const double dx = std::log(static_cast<double>(i)) - x_mean;
      sxx += dx * dx;
      sxy += dx * (std::log(lambda[i - 1]) - y_mean);
    }
    slopes.push_back(-sxy / sxx);
  }
  std::sort(slopes.begin(), slopes.end());
  const std::size_t n = slopes.size();
  return n % 2 ? slopes[n / 2] : (slopes[n / 2 - 1] + slopes[n / 2]) / 2;
}

TEST(FitDiagnostics, RobustAlphaIsTheAuthorsRobustFit) {
  // A noisy power law (seeded), so that every sub-window's slope differs.
  std::mt19937_64 random(11);
  std::uniform_real_distribution<double> jitter(-0.15, 0.15);
  std::vector<double> spectrum(500);
  for (int i = 1; i <= 500; ++i) spectrum[i - 1] = std::pow(i, -1.1) * std::exp(jitter(random));
  std::sort(spectrum.begin(), spectrum.end(), std::greater<>());
  for (const auto& [first, last] : std::vector<std::pair<int, int>>{{11, 100}, {5, 40}, {2, 300}, {1, 21}}) {
    const PowerLawFit fit = fit_power_law(spectrum, 100000, FitOptions{FitMethod::weighted, first, last, 0});
    const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 100000, fit);
    EXPECT_EQ(diagnostics.robust_subwindow, (last - first) / 10 + 1);
    EXPECT_NEAR(diagnostics.robust_alpha, reference_robust_alpha(spectrum, first, last, last), 1e-12)
        << first << ".." << last;
  }
  // A window ending at the rank limit (n = 101 samples: rank 100): the 9-rank sub-windows
  // that would reach past it are left out, so the slopes are those starting at 11..92.
  const PowerLawFit clipped = fit_power_law(spectrum, 101, FitOptions{FitMethod::weighted, 11, 100, 0});
  ASSERT_EQ(clipped.rank_limit, 100);
  EXPECT_NEAR(fit_diagnostics(spectrum, 101, clipped).robust_alpha,
              reference_robust_alpha(spectrum, 11, 100, 92), 1e-12);
}

TEST(FitDiagnostics, ShortWindowFallsBackToTheFit) {
  const auto spectrum = power_law_spectrum(8, 0.7);
  const PowerLawFit fit = fit_power_law(spectrum, 1000, FitOptions{FitMethod::ols, 2, 8, 0});
  const FitDiagnostics diagnostics = fit_diagnostics(spectrum, 1000, fit);
  EXPECT_EQ(diagnostics.robust_alpha, fit.alpha);
  EXPECT_EQ(diagnostics.suggested_first_rank, fit.first_rank);
  EXPECT_EQ(diagnostics.suggested_last_rank, fit.last_rank);
}

TEST(FitDiagnostics, ReportCarriesMetricsAndDiagnosticsOfItsEigenvalues) {
  SyntheticSpec spec;
  spec.n = 4000;
  spec.d = 128;
  spec.seed = 2;
  const auto x = synthetic_power_law_features(spec);
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  options.fit.tail_rank = 20;
  const AlphaReport report = compute_alpha(host_matrix(x.data(), spec.n, spec.d), options);
  const SpectrumMetrics expected = spectrum_metrics(report.eigenvalues, 20);
  EXPECT_EQ(report.metrics.effective_rank, expected.effective_rank);
  EXPECT_EQ(report.metrics.tail_rank, 20);
  EXPECT_EQ(report.metrics.tail_ratio, expected.tail_ratio);
  const FitDiagnostics diagnostics = fit_diagnostics(report.eigenvalues, report.n, report.fit);
  EXPECT_EQ(report.diagnostics.robust_alpha, diagnostics.robust_alpha);
  EXPECT_EQ(report.diagnostics.suggested_last_rank, diagnostics.suggested_last_rank);
}

}  // namespace
}  // namespace alphareq
