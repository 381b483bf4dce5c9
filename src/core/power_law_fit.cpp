#include "core/enum_check.hpp"
#include "core/fit_window.hpp"

#include <alphareq/error.hpp>
#include <alphareq/spectrum.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace alphareq {

std::string to_string(FitMethod method) {
  return method == FitMethod::weighted ? "weighted" : "ols";
}

FitMethod parse_fit_method(const std::string& name) {
  if (name == "weighted") return FitMethod::weighted;
  if (name == "ols") return FitMethod::ols;
  throw invalid_input("unknown fit method '" + name + "' (expected weighted or ols)");
}

namespace {

constexpr double kFloat64Epsilon = std::numeric_limits<double>::epsilon();

double zero_threshold(const std::vector<double>& eigenvalues, double epsilon) {
  return eigenvalues.front() * static_cast<double>(eigenvalues.size()) * epsilon;
}

}  // namespace

namespace detail {
namespace {

// Below this largest eigenvalue the covariance was summed from products in (or near)
// float64's subnormal range: 1e-280 leaves every eigenvalue that counts (>= lambda_1 · D · eps)
// a normal number.
constexpr double kSmallestLargestEigenvalue = 1e-280;

// Why the window stops at `limit`: the tightest of the three bounds.
std::string clip_reason(std::int64_t limit, std::int64_t sample_count, std::int64_t dim,
                        std::int64_t positive, double threshold) {
  if (limit == positive && positive < std::min(sample_count - 1, dim)) {
    // %g, not std::to_string's %f, which prints every threshold below 5e-7 as 0.000000.
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", threshold > 0.0 ? threshold : 0.0);
    std::string reason = "only " + std::to_string(positive) + " eigenvalues exceed the numerical-zero " +
                         "threshold " + text + " (lambda_1 * D * eps)";
    if (!(threshold > 0.0)) {
      reason += ": the covariance is zero, so every feature is constant or varies by less than "
                "about 1e-140, where float64 products underflow (scale the features up: alpha "
                "does not depend on the scale)";
    }
    return reason;
  }
  if (limit == sample_count - 1 && sample_count - 1 <= dim) {
    return "the covariance of n = " + std::to_string(sample_count) + " samples has rank at most " +
           "n - 1 = " + std::to_string(sample_count - 1);
  }
  return "there are only D = " + std::to_string(dim) + " eigenvalues";
}

// The window [first_rank, min(last_rank, rank_limit)]; `reason()` says why rank_limit is
// where it is when it clips. Throws invalid_input when fewer than 3 ranks remain.
template <typename Reason>
FitWindow clip_window(const FitOptions& options, std::int64_t rank_limit, Reason&& reason) {
  FitWindow window;
  window.rank_limit = rank_limit;
  window.first_rank = options.first_rank;
  window.last_rank = std::min(options.last_rank, rank_limit);
  if (window.last_rank < options.last_rank) {
    window.clipped = true;
    window.clip_reason = "last rank clipped from " + std::to_string(options.last_rank) + " to " +
                         std::to_string(window.last_rank) + ": " + reason();
  }
  const std::int64_t points = window.last_rank - window.first_rank + 1;
  if (points < 3) {
    throw invalid_input("power-law fit: the window of ranks [" + std::to_string(options.first_rank) +
                        ", " + std::to_string(options.last_rank) + "] leaves " +
                        std::to_string(std::max<std::int64_t>(points, 0)) +
                        " usable ranks (at least 3 are needed)" +
                        (window.clipped ? "; " + window.clip_reason : std::string()));
  }
  return window;
}

}  // namespace

void check_fit_options(const FitOptions& options) {
  require_known_value(options.method, FitMethod::ols, "power-law fit: method");
  if (options.first_rank < 1) {
    throw invalid_input("power-law fit: first rank must be >= 1 (ranks are 1-based), got " +
                        std::to_string(options.first_rank));
  }
  if (options.last_rank < options.first_rank) {
    throw invalid_input("power-law fit: last rank " + std::to_string(options.last_rank) +
                        " is below first rank " + std::to_string(options.first_rank));
  }
  if (options.tail_rank < 0) {
    throw invalid_input("power-law fit: tail rank must be >= 1 (or 0 for the first rank), got " +
                        std::to_string(options.tail_rank));
  }
}

void check_fit_options_for_shape(const FitOptions& options, std::int64_t dim, std::int64_t sample_count) {
  check_fit_options(options);
  if (options.tail_rank > dim) {
    throw invalid_input("power-law fit: tail rank " + std::to_string(options.tail_rank) +
                        " is above D = " + std::to_string(dim) + " (r_d needs 1 <= d <= D)");
  }
  // No spectrum of this shape has more than min(n - 1, D) positive eigenvalues.
  const std::int64_t most = std::max<std::int64_t>(0, std::min(sample_count - 1, dim));
  clip_window(options, most, [&] { return clip_reason(most, sample_count, dim, most, 0.0); });
}

FitWindow plan_fit_window(const FitOptions& options, std::int64_t dim, std::int64_t sample_count,
                          std::int64_t positive_count, double zero_threshold, double epsilon) {
  check_fit_options(options);
  // Features varying by less than ~1e-140 have squares below ~1e-280: summed over samples
  // they reach float64's subnormal range, lose their precision (alpha 0.5 % off at 1e-160)
  // and then vanish. Refused, as the overflowing end (~1e150) is, rather than fitted wrongly.
  // lambda_1 is read back from the threshold, which underflows to 0 for the smallest: some
  // positive eigenvalues with a zero threshold are refused too.
  const double largest = zero_threshold / (static_cast<double>(dim) * epsilon);
  if (positive_count > 0 && largest < kSmallestLargestEigenvalue) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", largest);
    throw invalid_input(std::string("the covariance's largest eigenvalue is ") + text +
                        ": the features vary by less than about 1e-140, and float64 products of "
                        "such values underflow and lose their precision; scale the features up, "
                        "alpha does not depend on the scale");
  }
  const std::int64_t rank_limit =
      std::max<std::int64_t>(0, std::min({sample_count - 1, dim, positive_count}));
  return clip_window(options, rank_limit, [&] {
    return clip_reason(rank_limit, sample_count, dim, positive_count, zero_threshold);
  });
}

}  // namespace detail

std::int64_t fit_rank_limit(const std::vector<double>& eigenvalues_descending,
                            std::int64_t sample_count) {
  const std::int64_t dim = static_cast<std::int64_t>(eigenvalues_descending.size());
  return std::max<std::int64_t>(
      0, std::min({sample_count - 1, dim, detail::numerical_rank(eigenvalues_descending, kFloat64Epsilon)}));
}

PowerLawFit fit_power_law(const std::vector<double>& eigenvalues_descending,
                          std::int64_t sample_count, const FitOptions& options) {
  return detail::fit_power_law(eigenvalues_descending, sample_count, options, kFloat64Epsilon);
}

namespace detail {

void check_sorted_descending(const std::vector<double>& eigenvalues) {
  for (std::size_t i = 0; i < eigenvalues.size(); ++i) {
    if (!std::isfinite(eigenvalues[i])) {
      throw invalid_input("power-law fit: eigenvalue " + std::to_string(i + 1) + " is not finite");
    }
    if (i > 0 && eigenvalues[i] > eigenvalues[i - 1]) {
      throw invalid_input("power-law fit: eigenvalues must be sorted descending, but rank " +
                          std::to_string(i + 1) + " is larger than rank " + std::to_string(i));
    }
  }
}

std::int64_t numerical_rank(const std::vector<double>& eigenvalues_descending, double epsilon) {
  const std::vector<double>& lambda = eigenvalues_descending;
  if (lambda.empty() || !(lambda.front() > 0.0)) return 0;
  const double threshold = zero_threshold(lambda, epsilon);
  return std::find_if(lambda.begin(), lambda.end(), [threshold](double v) { return !(v > threshold); }) -
         lambda.begin();
}

double rank_epsilon(AccumulationPrecision precision, SolverPrecision solver, bool float32_rounded) {
  const bool float32_noise = float32_rounded || precision != AccumulationPrecision::float64 ||
                             solver != SolverPrecision::float64;
  return float32_noise ? static_cast<double>(std::numeric_limits<float>::epsilon()) : kFloat64Epsilon;
}

PowerLawFit fit_power_law(const std::vector<double>& eigenvalues_descending, std::int64_t sample_count,
                          const FitOptions& options, double epsilon) {
  const std::vector<double>& lambda = eigenvalues_descending;
  check_fit_options(options);
  check_sorted_descending(lambda);
  const FitWindow window = plan_fit_window(
      options, static_cast<std::int64_t>(lambda.size()), sample_count, numerical_rank(lambda, epsilon),
      lambda.empty() ? 0.0 : zero_threshold(lambda, epsilon), epsilon);

  PowerLawFit fit;
  fit.method = options.method;
  fit.requested_first_rank = options.first_rank;
  fit.requested_last_rank = options.last_rank;
  fit.rank_limit = window.rank_limit;
  fit.first_rank = window.first_rank;
  fit.last_rank = window.last_rank;
  fit.clipped = window.clipped;
  fit.clip_reason = window.clip_reason;
  const std::int64_t points = fit.last_rank - fit.first_rank + 1;

  // Weighted least squares of log λ_i on x = log i, in centred form (the normal equations
  // of Stringer et al.'s code, solved without forming their 2 × 2 matrix). y is measured
  // from the window's first eigenvalue, y_i = log(λ_i / λ_first), and log λ_first added to
  // the intercept: a flat window is then exactly y ≡ 0 whatever the order of the sums (the
  // CUDA kernel's tree against this loop) or the solver's power-of-two scaling, so both
  // backends call the same windows flat.
  const double log_first = std::log(lambda[fit.first_rank - 1]);
  const auto y_of = [&](std::int64_t rank) { return std::log(lambda[rank - 1] / lambda[fit.first_rank - 1]); };
  const auto weight = [&](std::int64_t rank) {
    return options.method == FitMethod::weighted ? 1.0 / static_cast<double>(rank) : 1.0;
  };
  double weight_sum = 0.0, x_mean = 0.0, y_mean = 0.0;
  for (std::int64_t rank = fit.first_rank; rank <= fit.last_rank; ++rank) {
    const double w = weight(rank);
    weight_sum += w;
    x_mean += w * std::log(static_cast<double>(rank));
    y_mean += w * y_of(rank);
  }
  x_mean /= weight_sum;
  y_mean /= weight_sum;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (std::int64_t rank = fit.first_rank; rank <= fit.last_rank; ++rank) {
    const double w = weight(rank);
    const double dx = std::log(static_cast<double>(rank)) - x_mean;
    const double dy = y_of(rank) - y_mean;
    sxx += w * dx * dx;
    sxy += w * dx * dy;
    syy += w * dy * dy;
  }
  const double slope = sxy / sxx;
  const double shifted_intercept = y_mean - slope * x_mean;
  fit.alpha = -slope;
  fit.intercept = shifted_intercept + log_first;
  double residual_ss = 0.0;
  fit.residuals.reserve(static_cast<std::size_t>(points));
  for (std::int64_t rank = fit.first_rank; rank <= fit.last_rank; ++rank) {
    const double residual = y_of(rank) - (shifted_intercept + slope * std::log(static_cast<double>(rank)));
    fit.residuals.push_back(residual);
    residual_ss += weight(rank) * residual * residual;
  }
  // A flat window is fitted exactly by slope 0: call that R² = 1 rather than 0/0. "Flat"
  // means a spread of y within rounding of its values (a few ulps of the ratios).
  const double eps = std::numeric_limits<double>::epsilon();
  const double rounding_ss = 64.0 * eps * eps * weight_sum * (1.0 + y_mean * y_mean);
  fit.r2 = syy > rounding_ss ? 1.0 - residual_ss / syy : 1.0;
  return fit;
}

}  // namespace detail
}  // namespace alphareq
