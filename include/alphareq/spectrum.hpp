#pragma once
/// @file spectrum.hpp
/// Eigenvalues of a covariance, the power-law fit λ_i ∝ i^(−α) and the report types.
///
/// Notation: n is the number of samples, D the number of features, λ_1 >= λ_2 >= ... the
/// eigenvalues of the D×D covariance, i their 1-based rank.

#include <cstdint>
#include <limits>
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
  /// d of the tail ratio r_d in the report's metrics; 0 means first_rank (where the power
  /// law is taken to start). Must be in [0, D]: a report refuses a larger one.
  std::int64_t tail_rank = 0;
};

/// Result of fitting log λ_i = intercept − α log i over a window of ranks.
struct PowerLawFit {
  FitMethod method = FitMethod::weighted;
  /// Decay coefficient α = −slope of log λ against log i.
  double alpha = 0.0;
  /// Intercept of the fitted line: log λ at rank 1 (natural log).
  double intercept = 0.0;
  /// Coefficient of determination on the window, with the fit's own weights (1/i for
  /// `weighted`, 1 for `ols`). A flat window (every log(λ_i / λ_first) zero to within a
  /// few rounding errors) is fitted exactly by slope 0 and has R² 1, not 0/0.
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
/// be sorted descending. Returns 0 when none is positive. (An accumulator's report counts
/// with float32's ε when its products (float32, TF32), a state merged into it
/// (AccumulatorState::float32_rounded) or its solver are float32: see AccumulationPrecision.)
std::int64_t fit_rank_limit(const std::vector<double>& eigenvalues_descending,
                            std::int64_t sample_count);

/// Fits the power law to eigenvalues sorted descending (as returned by the accumulator).
/// The window [first_rank, last_rank] is clipped to fit_rank_limit(); clipping is reported.
/// Throws invalid_input when the window is malformed (first_rank < 1, last < first) or
/// fewer than 3 ranks remain after clipping, when the eigenvalues are not sorted, or when
/// the largest is below ~1e-280 (covariances of features varying by less than ~1e-140,
/// whose float64 products lose their precision: scale the features up).
PowerLawFit fit_power_law(const std::vector<double>& eigenvalues_descending,
                          std::int64_t sample_count, const FitOptions& options = {});

/// Label-free summaries of the whole spectrum, from the same eigenvalues as the fit.
struct SpectrumMetrics {
  /// RankMe (Garrido et al., 2023): exp of the entropy of p_k = σ_k / Σσ + ε over the
  /// min(n, D) singular values σ_k = √(n λ_k) of the *centred* n × D feature matrix, with
  /// ε = 1e-7 (RankMe's); those whose λ_k is below λ_1 times the precision's ε (float64's,
  /// or float32's as for numerical_rank, but without its factor D) are rounding noise and
  /// count as zero. RankMe itself takes the raw embeddings: for features with a
  /// large mean (post-ReLU) that adds one dominant direction and gives a much smaller
  /// value. (The α-ReQ authors' code applies the formula to λ_k rather than √λ_k.)
  double effective_rank = 0.0;
  /// (Σλ)² / Σλ².
  double participation_ratio = 0.0;
  /// Σλ / λ_max.
  double stable_rank = 0.0;
  /// Eigenvalues above λ_1 · D · ε, the fit's numerical-zero threshold: float64's ε
  /// (numpy.linalg.matrix_rank's tolerance), or float32's where the state carries float32
  /// rounding (float32/TF32 products or solver; AccumulatorState::float32_rounded).
  std::int64_t numerical_rank = 0;
  /// The paper's Theorem 2.2 tail ratio r_d = Σ_{i≥d} λ_i / Σ λ_i, for d = tail_rank.
  std::int64_t tail_rank = 0;
  double tail_ratio = 0.0;
};

/// The metrics of eigenvalues sorted descending; negative rounding noise counts as 0.
/// tail_rank (1-based) must be in [1, D]; throws invalid_input otherwise or for an empty
/// or all-zero spectrum. sample_count n, when given (> 0), limits the effective rank to
/// the first min(n, D) eigenvalues, the singular values an n × D matrix has (the other
/// eigenvalues are zero, but each would add ε's share to the entropy). rank_epsilon is the ε
/// of numerical_rank's threshold (float32's for eigenvalues that carry float32 rounding).
SpectrumMetrics spectrum_metrics(const std::vector<double>& eigenvalues_descending,
                                 std::int64_t tail_rank, std::int64_t sample_count = 0,
                                 double rank_epsilon = std::numeric_limits<double>::epsilon());

/// How far to trust a fit, from the same eigenvalues.
struct FitDiagnostics {
  /// Width (ranks) of the sliding sub-windows of the window suggestion below.
  std::int64_t subwindow = 0;
  /// The α-ReQ authors' robust variant (their robust_fit_powerlaw): the median of the OLS
  /// slopes (as α) over sub-windows of robust_subwindow = ⌊(last − first) / 10⌋ + 1 ranks
  /// that start at every rank of the fit window (the last ones reach past its end, as in
  /// the reference; those that would pass the rank limit are left out). Equals the fit's α,
  /// with robust_subwindow 0, when no sub-window of at least 2 ranks fits (windows of
  /// fewer than 11 ranks).
  double robust_alpha = 0.0;
  std::int64_t robust_subwindow = 0;
  /// Window suggestion: the longest run of ranks (within the rank limit) over which the
  /// local α of the sub-windows varies by at most `stability` — reported beside the
  /// user's window, never used in its place.
  std::int64_t suggested_first_rank = 0;
  std::int64_t suggested_last_rank = 0;
  double suggested_alpha = 0.0;  ///< the fit's method over the suggested window
  double stability = 0.0;
  /// Bootstrap over samples (0 resamples: not computed, and the interval is 0, 0): the
  /// basic bootstrap interval [2α̂ − q_high, 2α̂ − q_low] from the quantiles q of the
  /// resampled α at the given confidence: the percentile interval mirrored about α̂, so
  /// centred near α̂ − bootstrap_bias where that one is centred near α̂ + bootstrap_bias
  /// (a first-order bias correction). It holds α̂ exactly when the percentile interval
  /// does, so a bias beyond its half-width leaves α̂ outside; the finite-n bias of α̂
  /// against the population α is not fully covered.
  std::int64_t bootstrap_resamples = 0;
  double bootstrap_confidence = 0.0;
  double alpha_interval_low = 0.0;
  double alpha_interval_high = 0.0;
  double alpha_standard_error = 0.0;  ///< the standard deviation of the resampled α
  double bootstrap_bias = 0.0;        ///< mean resampled α − α̂
};

/// Diagnostics of `fit` (as returned by fit_power_law on the same eigenvalues), with
/// sub-windows of `subwindow` ranks and a stability tolerance on the local α.
FitDiagnostics fit_diagnostics(const std::vector<double>& eigenvalues_descending,
                               std::int64_t sample_count, const PowerLawFit& fit,
                               std::int64_t subwindow = 10, double stability = 0.1);

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
  SpectrumMetrics metrics;
  FitDiagnostics diagnostics;
  StageTimings timings;
};

}  // namespace alphareq
