// The power-law fit: exact recovery, hand-computed least squares, window clipping, errors.

#include <alphareq/error.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include "core/fit_window.hpp"
#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace alphareq {
namespace {

class ExactPowerLaw : public ::testing::TestWithParam<std::tuple<double, FitMethod>> {};

TEST_P(ExactPowerLaw, RecoversAlphaAndInterceptToRounding) {
  const auto [alpha, method] = GetParam();
  const double scale = 3.7;
  const auto spectrum = power_law_spectrum(512, alpha, scale);
  const PowerLawFit fit = fit_power_law(spectrum, 100000, FitOptions{method, 11, 100});
  EXPECT_NEAR(fit.alpha, alpha, 1e-10);
  EXPECT_NEAR(fit.intercept, std::log(scale), 1e-10);
  EXPECT_NEAR(fit.r2, 1.0, 1e-12);
  EXPECT_EQ(fit.first_rank, 11);
  EXPECT_EQ(fit.last_rank, 100);
  EXPECT_FALSE(fit.clipped);
  ASSERT_EQ(fit.residuals.size(), 90u);
  for (double r : fit.residuals) EXPECT_NEAR(r, 0.0, 1e-10);
}

INSTANTIATE_TEST_SUITE_P(AlphasAndMethods, ExactPowerLaw,
                         ::testing::Combine(::testing::Values(0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
                                            ::testing::Values(FitMethod::weighted, FitMethod::ols)));

// A noisy spectrum, so that the weighting matters.
std::vector<double> noisy_spectrum(std::int64_t d, double alpha, std::uint64_t seed) {
  return test::noisy_power_law(d, alpha, seed);
}

// Stringer et al.'s formulation: b = (XᵀWX)⁻¹ XᵀWy with X = [−log i, 1], solved by Cramer.
TEST(PowerLawFit, WeightedEqualsHandComputedNormalEquations) {
  const auto spectrum = noisy_spectrum(300, 1.2, 1);
  const std::int64_t first = 5, last = 150;
  double a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
  for (std::int64_t i = first; i <= last; ++i) {
    const double w = 1.0 / i, x = -std::log(static_cast<double>(i)), y = std::log(spectrum[i - 1]);
    a11 += w * x * x;
    a12 += w * x;
    a22 += w;
    b1 += w * x * y;
    b2 += w * y;
  }
  const double det = a11 * a22 - a12 * a12;
  const double alpha = (b1 * a22 - a12 * b2) / det, intercept = (a11 * b2 - a12 * b1) / det;
  double ss_res = 0, ss_tot = 0, y_mean = b2 / a22;
  for (std::int64_t i = first; i <= last; ++i) {
    const double w = 1.0 / i, y = std::log(spectrum[i - 1]);
    const double predicted = intercept - alpha * std::log(static_cast<double>(i));
    ss_res += w * (y - predicted) * (y - predicted);
    ss_tot += w * (y - y_mean) * (y - y_mean);
  }
  const PowerLawFit fit = fit_power_law(spectrum, 10000, FitOptions{FitMethod::weighted, first, last});
  EXPECT_NEAR(fit.alpha, alpha, 1e-10);
  EXPECT_NEAR(fit.intercept, intercept, 1e-10);
  EXPECT_NEAR(fit.r2, 1.0 - ss_res / ss_tot, 1e-10);
  EXPECT_GT(fit.r2, 0.5);
  EXPECT_LT(fit.r2, 1.0);
  // The residuals (JSON, C API, Python) are observed minus fitted: a flipped sign passed
  // every test on exact power laws, whose residuals are zero.
  ASSERT_EQ(fit.residuals.size(), static_cast<std::size_t>(last - first + 1));
  for (std::int64_t i = first; i <= last; ++i) {
    const double fitted = intercept - alpha * std::log(static_cast<double>(i));
    EXPECT_NEAR(fit.residuals[i - first], std::log(spectrum[i - 1]) - fitted, 1e-10) << "rank " << i;
  }
}

// A window whose values differ by a few ulps is flat: R^2 exactly 1 and alpha 0, not the
// fit of rounding noise (an R^2 of any value; the CUDA fit makes the same call).
TEST(PowerLawFit, AWindowFlatWithinRoundingHasRSquaredOne) {
  std::vector<double> spectrum(100);
  for (int i = 0; i < 100; ++i) {
    double value = 2.5;
    for (int step = 0; step < 3 - (4 * i) / 100; ++step) value = std::nextafter(value, 10.0);
    spectrum[i] = value;  // 3, 2, 1 and 0 ulps above 2.5, descending
  }
  for (const FitMethod method : {FitMethod::weighted, FitMethod::ols}) {
    const PowerLawFit fit = fit_power_law(spectrum, 1000, FitOptions{method, 1, 100});
    EXPECT_EQ(fit.r2, 1.0) << to_string(method);
    EXPECT_LT(std::abs(fit.alpha), 1e-13) << to_string(method);
  }
}

TEST(PowerLawFit, OlsEqualsCovarianceOverVarianceSlope) {
  const auto spectrum = noisy_spectrum(200, 0.8, 2);
  const std::int64_t first = 1, last = 200;
  double mx = 0, my = 0;
  const double count = last - first + 1;
  for (std::int64_t i = first; i <= last; ++i) {
    mx += std::log(static_cast<double>(i)) / count;
    my += std::log(spectrum[i - 1]) / count;
  }
  double sxy = 0, sxx = 0;
  for (std::int64_t i = first; i <= last; ++i) {
    const double dx = std::log(static_cast<double>(i)) - mx;
    sxy += dx * (std::log(spectrum[i - 1]) - my);
    sxx += dx * dx;
  }
  const PowerLawFit fit = fit_power_law(spectrum, 10000, FitOptions{FitMethod::ols, first, last});
  EXPECT_NEAR(fit.alpha, -sxy / sxx, 1e-10);
  EXPECT_NEAR(fit.intercept, my - (sxy / sxx) * mx, 1e-10);
  const PowerLawFit weighted =
      fit_power_law(spectrum, 10000, FitOptions{FitMethod::weighted, first, last});
  EXPECT_GT(std::abs(weighted.alpha - fit.alpha), 1e-4) << "the weights had no effect";
}

TEST(PowerLawFitWindow, ClippedToDimensionAndSaysSo) {
  const auto spectrum = power_law_spectrum(50, 1.0);
  const PowerLawFit fit = fit_power_law(spectrum, 1000);
  EXPECT_TRUE(fit.clipped);
  EXPECT_EQ(fit.last_rank, 50);
  EXPECT_EQ(fit.requested_last_rank, 100);
  EXPECT_EQ(fit.rank_limit, 50);
  EXPECT_NE(fit.clip_reason.find("D = 50"), std::string::npos) << fit.clip_reason;
  EXPECT_NEAR(fit.alpha, 1.0, 1e-10);
}

TEST(PowerLawFitWindow, ClippedToSamplesMinusOne) {
  const auto spectrum = power_law_spectrum(200, 1.0);
  const PowerLawFit fit = fit_power_law(spectrum, 41);
  EXPECT_TRUE(fit.clipped);
  EXPECT_EQ(fit.last_rank, 40);
  EXPECT_NE(fit.clip_reason.find("n - 1 = 40"), std::string::npos) << fit.clip_reason;
}

TEST(PowerLawFitWindow, ClippedToEigenvaluesAboveNumericalZero) {
  auto spectrum = power_law_spectrum(200, 1.0);
  for (std::size_t i = 60; i < spectrum.size(); ++i) spectrum[i] = (i % 2 ? 1e-18 : -1e-18);
  std::sort(spectrum.rbegin(), spectrum.rend());
  const PowerLawFit fit = fit_power_law(spectrum, 100000);
  EXPECT_TRUE(fit.clipped);
  EXPECT_EQ(fit.last_rank, 60);
  EXPECT_EQ(fit.rank_limit, 60);
  EXPECT_NE(fit.clip_reason.find("only 60 eigenvalues exceed"), std::string::npos) << fit.clip_reason;
  EXPECT_EQ(fit_rank_limit(spectrum, 100000), 60);
}

TEST(PowerLawFitWindow, NotClippedWhenTheWindowFits) {
  const PowerLawFit fit = fit_power_law(power_law_spectrum(100, 1.0), 101);
  EXPECT_FALSE(fit.clipped);
  EXPECT_TRUE(fit.clip_reason.empty());
  EXPECT_EQ(fit.last_rank, 100);
}

TEST(PowerLawFitWindow, FlatSpectrumFitsWithSlopeZero) {
  const std::vector<double> flat(100, 2.5);
  const PowerLawFit fit = fit_power_law(flat, 1000);
  EXPECT_NEAR(fit.alpha, 0.0, 1e-14);
  EXPECT_EQ(fit.r2, 1.0);
  EXPECT_TRUE(std::isfinite(fit.intercept));
}

// Long flat windows at magnitudes whose logs are far from 0: summing ~2,000 values of
// log λ in order left a mean off by more than the flat rule's allowance (the CUDA kernel's
// tree sum did not), so the CPU called λ ≡ 7700 on [1, 2048] R² 0 and the GPU R² 1. The fit
// measures y from the window's first eigenvalue: flat is y ≡ 0 exactly, on both backends.
TEST(PowerLawFitWindow, LongFlatWindowsAreFlatAtAnyMagnitude) {
  for (const double value : {7700.0, 0.37, 3.1e-5, 1e-250, 1e250}) {
    for (const FitMethod method : {FitMethod::weighted, FitMethod::ols}) {
      SCOPED_TRACE(std::to_string(value) + (method == FitMethod::ols ? " ols" : " weighted"));
      const std::vector<double> flat(2048, value);
      const PowerLawFit fit = fit_power_law(flat, 1000000, FitOptions{method, 1, 2048});
      EXPECT_EQ(fit.alpha, 0.0);
      EXPECT_EQ(fit.r2, 1.0);
      EXPECT_NEAR(fit.intercept, std::log(value), 1e-12 * std::abs(std::log(value)));
      for (double residual : fit.residuals) EXPECT_EQ(residual, 0.0);
    }
  }
}

std::string fit_error(const std::vector<double>& spectrum, std::int64_t n, FitOptions options) {
  try {
    fit_power_law(spectrum, n, options);
  } catch (const invalid_input& e) {
    return e.what();
  }
  return "<no invalid_input thrown>";
}

TEST(PowerLawFitErrors, FewerThanThreeRanksAfterClipping) {
  const auto spectrum = power_law_spectrum(12, 1.0);
  const std::string message = fit_error(spectrum, 1000, FitOptions{});
  EXPECT_NE(message.find("leaves 2 usable ranks (at least 3"), std::string::npos) << message;
  EXPECT_NE(message.find("D = 12"), std::string::npos) << message;
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{FitMethod::ols, 20, 30}).find("leaves 0 usable"),
            std::string::npos);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{FitMethod::ols, 3, 4}).find("leaves 2"),
            std::string::npos);
}

TEST(PowerLawFitErrors, MalformedWindows) {
  const auto spectrum = power_law_spectrum(100, 1.0);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{FitMethod::weighted, 0, 10}).find("1-based"),
            std::string::npos);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{FitMethod::weighted, 20, 10}).find("below first"),
            std::string::npos);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{static_cast<FitMethod>(9), 11, 100})
                .find("power-law fit: method: unknown value 9"),
            std::string::npos);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{FitMethod::ols, 11, 100, -2}).find("tail rank must be >= 1"),
            std::string::npos);
}

TEST(PowerLawFitErrors, UnsortedOrNonFiniteEigenvalues) {
  auto spectrum = power_law_spectrum(100, 1.0);
  std::swap(spectrum[3], spectrum[4]);
  EXPECT_NE(fit_error(spectrum, 1000, FitOptions{}).find("sorted descending"), std::string::npos);
  auto with_nan = power_law_spectrum(100, 1.0);
  with_nan[7] = std::nan("");
  EXPECT_NE(fit_error(with_nan, 1000, FitOptions{}).find("eigenvalue 8 is not finite"),
            std::string::npos);
}

// Spectra whose largest eigenvalue is below ~1e-280 (features varying by less than ~1e-140)
// are refused. λ_1 is read back from the zero threshold λ_1 · D · ε with the solver's own ε:
// float32's for the CUDA float32 solver (read with float64's, it came out 2^29 too large).
TEST(PowerLawFitErrors, TinySpectraAreRefusedWhicheverTheSolversEpsilon) {
  const FitOptions window{FitMethod::weighted, 1, 10};
  constexpr std::int64_t d = 64;
  for (const double epsilon : {std::numeric_limits<double>::epsilon(),
                               static_cast<double>(std::numeric_limits<float>::epsilon())}) {
    EXPECT_NO_THROW(detail::plan_fit_window(window, d, 1000, d, 1e-270 * d * epsilon, epsilon));
    EXPECT_THROW(detail::plan_fit_window(window, d, 1000, d, 1e-285 * d * epsilon, epsilon), invalid_input);
  }
  // Positive eigenvalues whose threshold underflowed to 0 are the tiniest of all.
  EXPECT_THROW(detail::plan_fit_window(window, d, 1000, d, 0.0), invalid_input);
  std::vector<double> tiny(d);
  for (std::int64_t i = 0; i < d; ++i) tiny[i] = 1e-285 / static_cast<double>(i + 1);
  try {
    fit_power_law(tiny, 1000, window);
    ADD_FAILURE() << "no invalid_input";
  } catch (const invalid_input& e) {
    EXPECT_NE(std::string(e.what()).find("largest eigenvalue is 1e-285"), std::string::npos) << e.what();
  }
}

TEST(PowerLawFit, MethodNamesParseAndPrint) {
  EXPECT_EQ(parse_fit_method(to_string(FitMethod::weighted)), FitMethod::weighted);
  EXPECT_EQ(parse_fit_method(to_string(FitMethod::ols)), FitMethod::ols);
  EXPECT_THROW(parse_fit_method("lsq"), invalid_input);
}

}  // namespace
}  // namespace alphareq
