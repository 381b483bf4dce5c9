// Label-free metrics of a spectrum and the diagnostics of its power-law fit.

#include "core/fit_window.hpp"
#include "core/number_text.hpp"

#include <alphareq/error.hpp>
#include <alphareq/spectrum.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <string>

namespace alphareq {
namespace {

constexpr double kRankMeEpsilon = 1e-7;

// α of the OLS line through (log i, log λ_i) for ranks [first, first + width).
double local_alpha(const std::vector<double>& lambda, std::int64_t first, std::int64_t width) {
  double x_mean = 0.0, y_mean = 0.0;
  for (std::int64_t rank = first; rank < first + width; ++rank) {
    x_mean += std::log(static_cast<double>(rank));
    y_mean += std::log(lambda[rank - 1]);
  }
  x_mean /= static_cast<double>(width);
  y_mean /= static_cast<double>(width);
  double sxx = 0.0, sxy = 0.0;
  for (std::int64_t rank = first; rank < first + width; ++rank) {
    const double dx = std::log(static_cast<double>(rank)) - x_mean;
    sxx += dx * dx;
    sxy += dx * (std::log(lambda[rank - 1]) - y_mean);
  }
  return -sxy / sxx;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The longest run of consecutive entries whose max − min ≤ tolerance (the earliest if
// several): two pointers with monotonic deques of the running minimum and maximum.
std::pair<std::size_t, std::size_t> longest_stable_run(const std::vector<double>& values,
                                                       double tolerance) {
  std::deque<std::size_t> minima, maxima;
  std::size_t best_start = 0, best_end = 0, start = 0;
  for (std::size_t end = 0; end < values.size(); ++end) {
    while (!minima.empty() && values[minima.back()] >= values[end]) minima.pop_back();
    while (!maxima.empty() && values[maxima.back()] <= values[end]) maxima.pop_back();
    minima.push_back(end);
    maxima.push_back(end);
    while (values[maxima.front()] - values[minima.front()] > tolerance) {
      ++start;
      if (minima.front() < start) minima.pop_front();
      if (maxima.front() < start) maxima.pop_front();
    }
    if (end - start > best_end - best_start) {
      best_start = start;
      best_end = end;
    }
  }
  return {best_start, best_end};
}

}  // namespace

SpectrumMetrics spectrum_metrics(const std::vector<double>& eigenvalues_descending,
                                 std::int64_t tail_rank, std::int64_t sample_count,
                                 double rank_epsilon) {
  const std::vector<double>& lambda = eigenvalues_descending;
  const std::int64_t dim = static_cast<std::int64_t>(lambda.size());
  if (dim == 0 || !(lambda.front() > 0.0)) {
    throw invalid_input("spectrum metrics: the spectrum is empty or has no positive eigenvalue");
  }
  if (!(rank_epsilon > 0.0 && rank_epsilon < 1.0)) {
    throw invalid_input("spectrum metrics: the rank threshold's epsilon must be in (0, 1), got " +
                        detail::number_text(rank_epsilon));
  }
  if (tail_rank < 1 || tail_rank > dim) {
    throw invalid_input("spectrum metrics: tail rank " + std::to_string(tail_rank) +
                        " is outside 1.." + std::to_string(dim));
  }
  SpectrumMetrics metrics;
  double sum = 0.0, sum_squares = 0.0, tail = 0.0;
  // Every sum runs over λ / λ_1 ∈ [0, 1]: the squares of eigenvalues beyond 1e154 (or
  // below 1e-162) would overflow (or underflow) float64, and all metrics are scale-free.
  const double largest = lambda.front();
  for (std::int64_t i = 0; i < dim; ++i) {
    const double value = std::max(lambda[i], 0.0) / largest;
    sum += value;
    sum_squares += value * value;
    if (i + 1 >= tail_rank) tail += value;
  }
  metrics.numerical_rank = detail::numerical_rank(lambda, rank_epsilon);
  // An n × D matrix has min(n, D) singular values; the eigenvalues past them are zero but
  // for rounding. So are those below λ_1 · ε (float64's ε, or float32's where the state
  // carries float32 rounding), which a symmetric eigensolver in that precision does not
  // resolve (its error is about ε · λ_1): rounding noise (float32 products leave it near
  // 1e-8 λ_1), whose square roots (~1e-4 σ_1 each over hundreds of empty directions) would
  // raise RankMe by percents. Both count as zero singular values, which still take their ε
  // in the entropy. Not the fit's threshold λ_1 · D · ε: with float32's ε that is 1e-4 λ_1
  // at D = 1024, above the real tail of a power law (RankMe 475 fell to 214).
  const std::int64_t singular_count = sample_count > 0 ? std::min(sample_count, dim) : dim;
  std::int64_t nonzero_count = 1;  // λ_1 > 0 was checked, and ε < 1
  while (nonzero_count < singular_count && lambda[nonzero_count] / largest > rank_epsilon) ++nonzero_count;
  double singular_sum = 0.0;
  for (std::int64_t i = 0; i < nonzero_count; ++i) singular_sum += std::sqrt(lambda[i] / largest);
  double entropy = 0.0;
  for (std::int64_t i = 0; i < singular_count; ++i) {
    const double singular = i < nonzero_count ? std::sqrt(lambda[i] / largest) : 0.0;
    const double p = singular / singular_sum + kRankMeEpsilon;
    entropy -= p * std::log(p);
  }
  metrics.effective_rank = std::exp(entropy);
  metrics.participation_ratio = sum * sum / sum_squares;
  metrics.stable_rank = sum;  // Σλ / λ_1 with λ_1 scaled to 1
  metrics.tail_rank = tail_rank;
  metrics.tail_ratio = tail / sum;
  return metrics;
}

FitDiagnostics fit_diagnostics(const std::vector<double>& eigenvalues_descending,
                               std::int64_t sample_count, const PowerLawFit& fit,
                               std::int64_t subwindow, double stability) {
  if (subwindow < 3) throw invalid_input("fit diagnostics: sub-windows need at least 3 ranks");
  const std::vector<double>& lambda = eigenvalues_descending;
  FitDiagnostics diagnostics;
  diagnostics.subwindow = subwindow;
  diagnostics.stability = stability;

  // The α-ReQ authors' robust_fit_powerlaw: sub-windows of ⌊(last − first) / 10⌋ + 1 ranks
  // starting at every rank of the window (so the last ones reach past it), an OLS slope
  // each, their median. Sub-windows that would reach past the rank limit (where the
  // reference would take the log of a zero) are left out.
  const std::int64_t robust_width = (fit.last_rank - fit.first_rank) / 10 + 1;
  std::vector<double> slopes;
  for (std::int64_t first = fit.first_rank;
       robust_width >= 2 && first <= fit.last_rank && first + robust_width - 1 <= fit.rank_limit; ++first) {
    slopes.push_back(local_alpha(lambda, first, robust_width));
  }
  diagnostics.robust_subwindow = slopes.empty() ? 0 : robust_width;
  diagnostics.robust_alpha = slopes.empty() ? fit.alpha : median(slopes);

  // Local α of every sub-window within the fit's rank limit (counted with the threshold of
  // the backend's precision); the suggestion is their longest stable run.
  const std::int64_t limit = fit.rank_limit;
  std::vector<double> local;
  for (std::int64_t first = 1; first + subwindow - 1 <= limit; ++first) {
    local.push_back(local_alpha(lambda, first, subwindow));
  }
  diagnostics.suggested_first_rank = fit.first_rank;
  diagnostics.suggested_last_rank = fit.last_rank;
  diagnostics.suggested_alpha = fit.alpha;
  if (!local.empty()) {
    const auto [start, end] = longest_stable_run(local, stability);
    diagnostics.suggested_first_rank = static_cast<std::int64_t>(start) + 1;
    diagnostics.suggested_last_rank = static_cast<std::int64_t>(end) + subwindow;
    const FitOptions suggested{fit.method, diagnostics.suggested_first_rank,
                               diagnostics.suggested_last_rank, 0};
    diagnostics.suggested_alpha = fit_power_law(lambda, sample_count, suggested).alpha;
  }
  return diagnostics;
}

}  // namespace alphareq
