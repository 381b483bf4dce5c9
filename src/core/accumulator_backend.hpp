#pragma once
// The interface every backend implements behind CovarianceAccumulator. The public API
// only ever sees CovarianceAccumulator; a new backend (CUDA) adds a subclass and a case
// in make_accumulator_backend(), nothing else.

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace alphareq::detail {

/// The backend-neutral state of an accumulator, in float64 on the host: what two
/// accumulators of different backends (or processes) exchange to merge.
using Moments = AccumulatorState;

class AccumulatorBackend {
 public:
  virtual ~AccumulatorBackend() = default;

  virtual Backend kind() const = 0;
  virtual std::int64_t dim() const = 0;
  virtual std::int64_t count() const = 0;
  virtual std::unique_ptr<AccumulatorBackend> clone() const = 0;

  /// See CovarianceAccumulator::add_batch. Must validate everything before changing state.
  virtual void add_batch(const MatrixView& batch) = 0;
  /// Adds `other` (same dim, checked by the caller) with Chan's pairwise update; a nonempty
  /// `other` that is float32_rounded makes this state float32_rounded for good.
  virtual void merge_moments(const Moments& other) = 0;
  /// The state as float64 host moments (synchronises the backend's stream if it has one).
  virtual Moments moments() const = 0;

  /// Eigenvalues of M2 / divisor, descending.
  virtual std::vector<double> eigenvalues(double divisor) const = 0;
  /// Eigenvalues and the fit; the backend may fit where the eigenvalues live. Fills
  /// eigenvalues, fit and the eigenvalue/fit timings of `report`.
  virtual void spectrum_and_fit(double divisor, const FitOptions& fit, AlphaReport& report) const = 0;

  /// Time spent accumulating (add_batch and merges) so far, in milliseconds.
  virtual double accumulate_ms() const = 0;

  /// ε of the numerical-zero threshold λ_1 · D · ε for this state's eigenvalues
  /// (rank_epsilon: its products, the moments merged into it, its eigensolver).
  virtual double rank_epsilon() const = 0;
};

/// Creates the backend `options.backend` resolves to. Throws backend_unavailable.
std::unique_ptr<AccumulatorBackend> make_accumulator_backend(std::int64_t dim,
                                                              const AccumulatorOptions& options);

}  // namespace alphareq::detail
