#include "core/accumulator_backend.hpp"
#include "core/enum_check.hpp"
#include "core/fit_window.hpp"
#include "core/number_text.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace alphareq {

CovarianceAccumulator::CovarianceAccumulator(std::int64_t dim, const AccumulatorOptions& options) {
  if (dim < 1) {
    throw invalid_input("accumulator: the number of features must be >= 1, got " +
                        std::to_string(dim));
  }
  impl_ = detail::make_accumulator_backend(dim, options);
}

CovarianceAccumulator::~CovarianceAccumulator() = default;
CovarianceAccumulator::CovarianceAccumulator(CovarianceAccumulator&&) noexcept = default;
CovarianceAccumulator& CovarianceAccumulator::operator=(CovarianceAccumulator&&) noexcept = default;

CovarianceAccumulator::CovarianceAccumulator(const CovarianceAccumulator& other)
    : impl_(other.backend_impl().clone()) {}

CovarianceAccumulator& CovarianceAccumulator::operator=(const CovarianceAccumulator& other) {
  if (this != &other) impl_ = other.backend_impl().clone();
  return *this;
}

// Moves leave impl_ empty (they are noexcept, so they cannot build a fresh backend): a
// moved-from accumulator says so instead of dereferencing nothing.
const detail::AccumulatorBackend& CovarianceAccumulator::backend_impl() const {
  if (!impl_) {
    throw invalid_input("accumulator: this object was moved from; assign an accumulator to it "
                        "before using it again");
  }
  return *impl_;
}

detail::AccumulatorBackend& CovarianceAccumulator::backend_impl() {
  return const_cast<detail::AccumulatorBackend&>(std::as_const(*this).backend_impl());
}

namespace {

// Counts are int64: a forged state (merge_state) could otherwise wrap them negative.
void require_count_fits(std::int64_t count, std::int64_t added, const char* what) {
  if (added > std::numeric_limits<std::int64_t>::max() - count) {
    throw invalid_input(std::string(what) + ": " + std::to_string(count) + " + " + std::to_string(added) +
                        " samples would overflow the sample count (2^63 - 1)");
  }
}

}  // namespace

void CovarianceAccumulator::add_batch(const MatrixView& batch) {
  if (batch.rows > 0) require_count_fits(count(), batch.rows, "add_batch");
  backend_impl().add_batch(batch);
}

void CovarianceAccumulator::merge(const CovarianceAccumulator& other) {
  if (other.dim() != dim()) {
    throw invalid_input("merge: accumulators have different widths (" + std::to_string(dim()) +
                        " and " + std::to_string(other.dim()) + " features)");
  }
  require_count_fits(count(), other.count(), "merge");
  // Merging with itself would read the state while writing it: merge a snapshot.
  backend_impl().merge_moments(other.backend_impl().moments());
}

AccumulatorState CovarianceAccumulator::state() const { return backend_impl().moments(); }

namespace {

// A sum of outer products has M2(i, i) >= 0 and |M2(r, c)| <= sqrt(M2(r, r) M2(c, c)). A
// CUDA float32/TF32 state breaks both by rounding: its products carry ~1e-3 relative error
// (TF32) on values shifted by a fixed offset, which grows with ((shift − mean) / spread)²
// (an emulation of sparse post-ReLU features shifted by one sample reached 1.2 times the
// bound), and the state must still merge (a pickled accumulator is restored through
// merge_state). So only gross breaches are refused — a foreign matrix, corrupted bytes —,
// which would give eigenvalues, and an alpha, that mean nothing: a variance below −1 % of
// the largest, an off-diagonal above twice the bound plus 1 % of the largest variance.
void require_gross_covariance_shape(const AccumulatorState& state) {
  constexpr double kNegativeShare = 1e-2, kBoundFactor = 2.0;
  const std::int64_t d = state.dim;
  double largest = 0.0;
  for (std::int64_t i = 0; i < d; ++i) largest = std::max(largest, state.m2_upper[i * d + i]);
  const double slack = kNegativeShare * largest;
  std::vector<double> spread(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < d; ++i) {
    const double variance = state.m2_upper[i * d + i];
    if (variance < -slack || (largest == 0.0 && variance < 0.0)) {
      throw invalid_input("merge_state: second moment (" + std::to_string(i) + ", " + std::to_string(i) +
                          ") is a negative variance, " + detail::number_text(variance) +
                          " (beyond the rounding a float32 product leaves): the state is not one an "
                          "accumulator exported (corrupted?)");
    }
    spread[i] = std::sqrt(std::max(variance, 0.0));
  }
  for (std::int64_t c = 0; c < d; ++c) {
    for (std::int64_t r = 0; r < c; ++r) {
      const double value = state.m2_upper[c * d + r];
      const double bound = spread[r] * spread[c];
      if (std::fabs(value) > kBoundFactor * bound + slack) {
        throw invalid_input("merge_state: second moment (" + std::to_string(r) + ", " + std::to_string(c) +
                            ") = " + detail::number_text(value) + " is far beyond sqrt(M2(" + std::to_string(r) +
                            ", " + std::to_string(r) + ") * M2(" + std::to_string(c) + ", " +
                            std::to_string(c) + ")) = " + detail::number_text(bound) +
                            ", which a sum of outer products cannot exceed (Cauchy-Schwarz): the state "
                            "is not one an accumulator exported (wrong layout or corrupted?)");
      }
    }
  }
}

// One sample has no spread and no sample has no mean: a state of either that says
// otherwise (a count typed in by hand, a count and moments from different states) would
// add samples that were never seen, or silently lose the ones its moments describe.
void require_no_spread(const AccumulatorState& state) {
  const std::int64_t d = state.dim;
  for (std::int64_t c = 0; c < d; ++c) {
    if (state.count == 0 && state.mean[c] != 0.0) {
      throw invalid_input("merge_state: a state of 0 samples has a nonzero mean (feature " +
                          std::to_string(c) + " is " + detail::number_text(state.mean[c]) +
                          "): its count does not match its moments");
    }
    for (std::int64_t r = 0; r <= c; ++r) {
      const double value = state.m2_upper[c * d + r];
      if (value != 0.0) {
        throw invalid_input(std::string("merge_state: a state of ") +
                            (state.count == 1 ? "1 sample" : "0 samples") +
                            " has a nonzero second moment ((" + std::to_string(r) + ", " +
                            std::to_string(c) + ") is " + detail::number_text(value) +
                            "): its count does not match its moments");
      }
    }
  }
}

}  // namespace

void CovarianceAccumulator::merge_state(const AccumulatorState& state) {
  const std::int64_t d = dim();
  if (state.dim != d) {
    throw invalid_input("merge_state: the state has " + std::to_string(state.dim) +
                        " features, the accumulator " + std::to_string(d));
  }
  if (state.count < 0) throw invalid_input("merge_state: negative sample count " + std::to_string(state.count));
  const std::size_t square = static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
  if (state.mean.size() != static_cast<std::size_t>(d) || state.m2_upper.size() != square) {
    throw invalid_input("merge_state: for D = " + std::to_string(d) + " the mean needs " + std::to_string(d) +
                        " values and the second moment " + std::to_string(square) + ", got " +
                        std::to_string(state.mean.size()) + " and " + std::to_string(state.m2_upper.size()));
  }
  if (state.count <= 1) require_no_spread(state);
  require_count_fits(count(), state.count, "merge_state");
  if (state.count == 0) return;
  // Only the upper triangle is read; the lower one is left zero, as the CUDA backend's
  // export leaves it, whatever the sender put there.
  AccumulatorState clean{d, state.count, state.mean, std::vector<double>(square, 0.0),
                         state.float32_rounded};
  for (std::int64_t c = 0; c < d; ++c) {
    if (!std::isfinite(state.mean[c])) {
      throw invalid_input("merge_state: the mean of feature " + std::to_string(c) + " is not finite");
    }
    for (std::int64_t r = 0; r <= c; ++r) {
      const double value = state.m2_upper[c * d + r];
      if (!std::isfinite(value)) {
        throw invalid_input("merge_state: second moment (" + std::to_string(r) + ", " + std::to_string(c) +
                            ") is not finite");
      }
      clean.m2_upper[c * d + r] = value;
    }
  }
  require_gross_covariance_shape(clean);
  backend_impl().merge_moments(clean);
}

std::int64_t CovarianceAccumulator::dim() const { return backend_impl().dim(); }
std::int64_t CovarianceAccumulator::count() const { return backend_impl().count(); }
Backend CovarianceAccumulator::backend() const { return backend_impl().kind(); }

namespace {

// Divisor of M2 for `normalization`, after checking that `count` reaches `minimum`
// samples (and 2 for n − 1, which is undefined below that).
double divisor_for(std::int64_t count, Normalization normalization, std::int64_t minimum,
                   const char* what) {
  detail::require_known_value(normalization, Normalization::by_n_minus_one, "normalization");
  if (normalization == Normalization::by_n_minus_one) minimum = std::max<std::int64_t>(minimum, 2);
  if (count < minimum) {
    throw invalid_input(std::string(what) + ": needs at least " + std::to_string(minimum) +
                        " samples, the accumulator has " + std::to_string(count));
  }
  return normalization == Normalization::by_n ? static_cast<double>(count)
                                              : static_cast<double>(count - 1);
}

}  // namespace

std::vector<double> CovarianceAccumulator::mean() const {
  divisor_for(count(), Normalization::by_n, 1, "mean");
  return backend_impl().moments().mean;
}

std::vector<double> CovarianceAccumulator::covariance(Normalization normalization) const {
  const double divisor = divisor_for(count(), normalization, 1, "covariance");
  detail::Moments state = backend_impl().moments();
  // In place: the state's copy is the one D x D buffer the memory check allowed for a
  // result. Each upper element (i <= j, at j·d + i) is read before any write reaches it:
  // the mirror writes land at i·d + j, in the lower triangle, which is never read.
  const std::int64_t d = state.dim;
  std::vector<double>& full = state.m2_upper;
  for (std::int64_t j = 0; j < d; ++j) {
    for (std::int64_t i = 0; i <= j; ++i) {
      const double value = full[j * d + i] / divisor;
      full[j * d + i] = value;
      full[i * d + j] = value;
    }
  }
  return std::move(full);
}

std::vector<double> CovarianceAccumulator::eigenvalues(Normalization normalization) const {
  return backend_impl().eigenvalues(divisor_for(count(), normalization, 2, "eigenvalues"));
}

AlphaReport CovarianceAccumulator::report(const FitOptions& fit,
                                          Normalization normalization) const {
  AlphaReport result;
  const double divisor = divisor_for(count(), normalization, 2, "report");
  detail::check_fit_options_for_shape(fit, dim(), count());  // before the eigensolver runs
  result.n = count();
  result.d = dim();
  result.backend = to_string(backend());
  result.timings.accumulate_ms = backend_impl().accumulate_ms();
  backend_impl().spectrum_and_fit(divisor, fit, result);
  // Backend-independent: both backends hand back the same host eigenvalues. The tail rank
  // is <= D: checked above, or the first rank of a window that fitted.
  const std::int64_t tail_rank = fit.tail_rank > 0 ? fit.tail_rank : result.fit.first_rank;
  result.metrics =
      spectrum_metrics(result.eigenvalues, tail_rank, result.n, backend_impl().rank_epsilon());
  result.diagnostics = fit_diagnostics(result.eigenvalues, result.n, result.fit);
  result.timings.total_ms =
      result.timings.accumulate_ms + result.timings.eigenvalues_ms + result.timings.fit_ms;
  return result;
}

}  // namespace alphareq
