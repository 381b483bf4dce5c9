#pragma once
/// @file selection.hpp
/// Model selection with α: rank candidates by the distance of their α to the Goldilocks
/// zone, and narrow the zone with measured accuracies as the paper's Algorithm 1 does
/// (Agrawal et al., NeurIPS 2022, Sec. 3.2).
///
/// Algorithm 1, as printed, updates the interval with
///
///     α_min = max({α_m | α_m > α_j & acc_m ≥ acc_j ∀ m, j ∈ models_stat})
///     α_max = min({α_m | α_m < α_j & acc_m ≥ acc_j ∀ m, j ∈ models_stat})
///
/// The set-builder leaves the quantifier over j open. We read it as: m belongs to the set
/// of α_min when m is at least as accurate as *every* model of smaller α, and at least one
/// model of smaller α exists (the condition α_m > α_j names a pair: a model with nothing
/// below it is no evidence). With S the measured models:
///
///     L = { m ∈ S : ∃ j ∈ S, α_j < α_m  and  ∀ j ∈ S with α_j < α_m : acc_m ≥ acc_j }
///     U = { m ∈ S : ∃ j ∈ S, α_j > α_m  and  ∀ j ∈ S with α_j > α_m : acc_m ≥ acc_j }
///     α_min ← max{α_m : m ∈ L}, or the previous α_min when L is empty
///     α_max ← min{α_m : m ∈ U}, or the previous α_max when U is empty
///
/// Models of equal α are neither above nor below each other. Consequences, all exactly as
/// the printed rule computes them (tested):
/// - a unique most accurate model strictly inside the α range of S collapses the interval
///   to its α: [α_best, α_best];
/// - the most accurate model at the smallest α gives [previous α_min, α_best]; at the
///   largest α, [α_best, previous α_max] (accuracy still rising: search further out);
/// - when the top accuracy is tied between models of different α, α_min (the largest
///   tied α) exceeds α_max (the smallest): the interval is empty (AlphaInterval::empty()),
///   and Algorithm 1's next filter `α ∈ [α_min, α_max]` admits nothing;
/// - fewer than two distinct α among the measured models leave the interval unchanged.
///
/// Other readings are possible: "m beats some model below it" (∃ j) gives α_min ≥ α_max
/// on any rise-then-fall, and "m beats and lies above every other model" only moves a
/// bound when the best model is at an end. Neither narrows more usefully.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace alphareq {

/// One model to choose among.
struct ModelCandidate {
  std::string name;
  /// Its decay coefficient (see compute_alpha).
  double alpha = 0.0;
  /// A measured downstream accuracy (a linear probe's, say) on any scale where larger is
  /// better; absent when not measured.
  std::optional<double> accuracy;
};

/// The closed interval [min, max] of α. `min > max` is an empty interval, which the
/// update of Algorithm 1 can produce (see the file comment).
struct AlphaInterval {
  double min = 0.0;
  double max = std::numeric_limits<double>::infinity();
  bool empty() const { return min > max; }
  bool contains(double alpha) const { return min <= alpha && alpha <= max; }
};

/// The Goldilocks zone used when no accuracy is known: [0.8, 1.2]. The paper places good
/// representations at α "in the neighbourhood of 1" (Sec. 3.1) and gives no width; ±0.2
/// is our convention: wide against the estimation error of α (a few hundredths on the
/// default window of ranks 11..100 for n ≫ 100 samples), so that the noise of the estimate
/// alone does not move a model in or out, and narrow enough to exclude the dense (α well
/// below 1) and collapsed (α well above 1) regimes the paper contrasts. Because ties
/// within the zone are broken by |α − 1|, this symmetric zone ranks exactly by |α − 1|;
/// its width decides only which models are reported as inside it.
inline constexpr double kGoldilocksZoneMin = 0.8;
inline constexpr double kGoldilocksZoneMax = 1.2;

/// Algorithm 1's initial interval [0, ∞).
inline AlphaInterval initial_alpha_interval() { return {}; }

/// Distance from α to the zone: 0 inside, otherwise to the nearer end. An empty zone
/// (min > max) is measured as the interval between its ends, [max, min]. Throws
/// invalid_input for a NaN α or zone end.
double distance_to_zone(double alpha, const AlphaInterval& zone);

/// A candidate with its place in the ranking.
struct RankedCandidate {
  ModelCandidate candidate;
  double distance = 0.0;        ///< distance_to_zone(candidate.alpha, zone)
  std::size_t input_index = 0;  ///< position in the list passed in
};

/// Candidates sorted by distance of α to `zone`, then by |α − 1| (the paper's centre),
/// then in input order. Throws invalid_input for a non-finite α.
std::vector<RankedCandidate> rank_by_goldilocks(const std::vector<ModelCandidate>& candidates,
                                                const AlphaInterval& zone);

/// Algorithm 1's interval update (the reading in the file comment) over the candidates
/// that have an accuracy; candidates without one are ignored. Throws invalid_input for a
/// non-finite α or accuracy.
AlphaInterval update_alpha_interval(const std::vector<ModelCandidate>& models_stat,
                                    const AlphaInterval& previous);

/// Algorithm 1's trimming `threshold = get_best_models(models_stat, topk=K)`, then keep
/// `acc > threshold`, read with the threshold just above the (K+1)-th highest accuracy:
/// the models whose accuracy is at least the K-th highest stay, in input order. That is
/// exactly K models unless some tie across the cut: those all stay (more than K), where
/// the literal `acc > (K+1)-th` would drop them all — and, with every accuracy equal, keep
/// none, leaving the algorithm's final max over no model. Models without an accuracy are
/// dropped. Throws invalid_input for top_k = 0.
std::vector<ModelCandidate> keep_top_models(const std::vector<ModelCandidate>& models_stat,
                                            std::size_t top_k);

/// What Algorithm 1 carries from one iteration to the next.
struct SelectionState {
  AlphaInterval interval;                 ///< [α_min, α_max]
  /// The top K measured models so far (more when some tie at the K-th accuracy).
  std::vector<ModelCandidate> models_stat;
};

/// One iteration of Algorithm 1 over newly trained models: those with α in the interval
/// and a measured accuracy join models_stat, the interval is updated over models_stat, and
/// models_stat is trimmed to the top K. One deviation from the printed code, which
/// reassigns models_stat to the new models each iteration: the kept top K carry over, as
/// its comment "K: number of top models to log in memory" and its final
/// max over models_stat intend (otherwise K and the result would see only the last
/// iteration).
SelectionState selection_round(const SelectionState& state,
                               const std::vector<ModelCandidate>& trained, std::size_t top_k);

/// Options of select_models.
struct SelectionOptions {
  std::size_t top_k = 3;                          ///< K of Algorithm 1
  AlphaInterval interval = initial_alpha_interval();  ///< the interval before this round
  AlphaInterval default_zone{kGoldilocksZoneMin, kGoldilocksZoneMax};
};

/// The answer of `alphareq select`.
struct SelectionResult {
  /// The zone the ranking measured against: the updated interval when some candidate has
  /// an accuracy, otherwise options.default_zone.
  AlphaInterval zone;
  bool zone_from_accuracies = false;
  /// One round of Algorithm 1 from options.interval over all candidates.
  SelectionState state;
  std::vector<RankedCandidate> ranking;
  /// state.models_stat, most accurate first, when some candidate has an accuracy;
  /// otherwise the first top_k of the ranking (those nearest the default zone).
  std::vector<ModelCandidate> chosen;
};

/// Ranks and selects (see SelectionResult). Throws invalid_input for duplicate names, a
/// non-finite α or accuracy, or top_k = 0.
SelectionResult select_models(const std::vector<ModelCandidate>& candidates,
                              const SelectionOptions& options = {});

}  // namespace alphareq
