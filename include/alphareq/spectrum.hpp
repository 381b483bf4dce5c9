#pragma once
/// @file spectrum.hpp
/// Eigenvalues of a covariance, the power-law fit λ_i ∝ i^(−α) and the report types.
///
/// Notation: n is the number of samples, D the number of features, λ_1 >= λ_2 >= ... the
/// eigenvalues of the D×D covariance, i their 1-based rank.

#include <cstdint>
#include <string>
#include <vector>

namespace alphareq {

/// How the power law is fitted to (log i, log λ_i) on the window of ranks.
enum class FitMethod {
  /// Least squares with weight 1/i per rank: the fit of the α-ReQ authors' code, after
  /// Stringer et al. (2019). It leans on the head of the window, where estimates are best.
  weighted,
  /// Ordinary (unweighted) least squares.
  ols,
};

/// "weighted" or "ols".
std::string to_string(FitMethod method);
/// Parses "weighted" / "ols"; throws invalid_input otherwise.
FitMethod parse_fit_method(const std::string& name);

/// Which ranks enter the fit, and how.
struct FitOptions {
  FitMethod method = FitMethod::weighted;
  /// First 1-based rank in the window (inclusive).
  std::int64_t first_rank = 11;
  /// Last 1-based rank in the window (inclusive). Clipped to the numerical rank, and the
  /// clipping is reported in PowerLawFit::clipped / clip_reason.
  std::int64_t last_rank = 100;
};

/// Result of fitting log λ_i = intercept − α log i over a window of ranks.
struct PowerLawFit {
  FitMethod method = FitMethod::weighted;
  /// Decay coefficient α = −slope of log λ against log i.
  double alpha = 0.0;
  /// Intercept of the fitted line: log λ at rank 1 (natural log).
  double intercept = 0.0;
  /// Coefficient of determination on the window, with the fit's own weights (1/i for
  /// `weighted`, 1 for `ols`).
  double r2 = 0.0;
  /// Window actually used (1-based, inclusive).
  std::int64_t first_rank = 0;
  std::int64_t last_rank = 0;
  /// Window asked for.
  std::int64_t requested_first_rank = 0;
  std::int64_t requested_last_rank = 0;
  /// Highest rank that may enter a fit: min(n − 1, D, number of eigenvalues above the
  /// numerical-zero threshold λ_1 · D · ε).
  std::int64_t rank_limit = 0;
  /// True when the window was shortened to rank_limit; clip_reason says why.
  bool clipped = false;
  std::string clip_reason;
  /// log λ_i − fitted value for each rank of the window, first_rank first.
  std::vector<double> residuals;
};

/// The highest rank that may enter a fit: min(n − 1, D, count of λ_i > λ_1 · D · ε), with ε
/// the float64 machine epsilon (the tolerance of numpy.linalg.matrix_rank). Eigenvalues must
/// be sorted descending. Returns 0 when none is positive.
std::int64_t fit_rank_limit(const std::vector<double>& eigenvalues_descending,
                            std::int64_t sample_count);

/// Fits the power law to eigenvalues sorted descending (as returned by the accumulator).
/// The window [first_rank, last_rank] is clipped to fit_rank_limit(); clipping is reported.
/// Throws invalid_input when the window is malformed (first_rank < 1, last < first) or
/// fewer than 3 ranks remain after clipping, or when the eigenvalues are not sorted.
PowerLawFit fit_power_law(const std::vector<double>& eigenvalues_descending,
                          std::int64_t sample_count, const FitOptions& options = {});

/// Wall-clock time of each stage, in milliseconds.
struct StageTimings {
  double accumulate_ms = 0.0;  ///< streaming the batches into the covariance accumulator
  double eigenvalues_ms = 0.0; ///< forming the normalised covariance and its eigenvalues
  double fit_ms = 0.0;         ///< the power-law fit
  double total_ms = 0.0;       ///< sum of the above
};

/// Everything alphareq computes from one set of features.
struct AlphaReport {
  std::int64_t n = 0;  ///< samples
  std::int64_t d = 0;  ///< features
  std::string backend; ///< "cpu" or "cuda": the backend that did the work
  /// All D eigenvalues of the covariance, descending, float64.
  std::vector<double> eigenvalues;
  PowerLawFit fit;
  StageTimings timings;
};

}  // namespace alphareq
