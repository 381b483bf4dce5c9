#pragma once
// The window of ranks a power-law fit uses: validation, clipping to the numerical rank and
// the words that explain the clipping. Shared by the CPU fit and the CUDA backend's device
// fit, so both clip identically and fail with the same messages.

#include <alphareq/accumulator.hpp>
#include <alphareq/spectrum.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace alphareq::detail {

struct FitWindow {
  std::int64_t first_rank = 0;
  std::int64_t last_rank = 0;
  std::int64_t rank_limit = 0;
  bool clipped = false;
  std::string clip_reason;
};

/// Throws invalid_input unless the method is known, 1 <= first_rank <= last_rank and
/// tail_rank >= 0.
void check_fit_options(const FitOptions& options);

/// check_fit_options, then what the shape alone rules out, so that it is refused before any
/// data is read: a tail rank above D, and a window left with fewer than 3 ranks even if all
/// min(n − 1, D) eigenvalues were positive (the message is the one the fit would give).
void check_fit_options_for_shape(const FitOptions& options, std::int64_t dim, std::int64_t sample_count);

/// Clips [first_rank, last_rank] to rank_limit = min(n − 1, D, positive_count), where
/// positive_count is the number of eigenvalues above `zero_threshold` (λ_1 · D · ε, with
/// the eigensolver's `epsilon`: float64's, or float32's for the CUDA float32 solver).
/// Throws invalid_input when fewer than 3 ranks remain, or when λ_1 is below ~1e-280
/// (features varying by less than ~1e-140, whose float64 products lose their precision).
FitWindow plan_fit_window(const FitOptions& options, std::int64_t dim, std::int64_t sample_count,
                          std::int64_t positive_count, double zero_threshold,
                          double epsilon = std::numeric_limits<double>::epsilon());

/// The ε of the numerical-zero threshold λ_1 · D · ε for a backend's eigenvalues: float32's
/// when the batch products (float32, TF32), moments merged into the state
/// (`float32_rounded`, AccumulatorState::float32_rounded) or the eigensolver are float32 —
/// their rounding leaves noise eigenvalues near ε32 · λ_1, which float64's ε would count as
/// rank and fit (measured: a rotated i^−5 spectrum gave α 3.56 for 5.01 with float32
/// products, 3.85 merged into a float64 accumulator) —, else float64's.
double rank_epsilon(AccumulationPrecision precision, SolverPrecision solver, bool float32_rounded);

/// Throws invalid_input naming the first eigenvalue that is not finite or out of
/// descending order: what a fit refuses, on either backend.
void check_sorted_descending(const std::vector<double>& eigenvalues);

/// The number of eigenvalues (sorted descending) above the numerical-zero threshold
/// λ_1 · D · epsilon: the rank a fit is clipped to (with min(n − 1, D)) and what
/// SpectrumMetrics::numerical_rank reports. 0 when none is positive.
std::int64_t numerical_rank(const std::vector<double>& eigenvalues_descending, double epsilon);

/// fit_power_law with the numerical-zero threshold's ε given (rank_epsilon); the public
/// fit_power_law is this with float64's ε.
PowerLawFit fit_power_law(const std::vector<double>& eigenvalues_descending, std::int64_t sample_count,
                          const FitOptions& options, double epsilon);

}  // namespace alphareq::detail
