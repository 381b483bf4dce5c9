// Model selection with α: the Goldilocks ranking and Algorithm 1 of the paper (the
// reading is written out in include/alphareq/selection.hpp).

#include <alphareq/error.hpp>
#include <alphareq/selection.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>

namespace alphareq {
namespace {

void check_finite(const ModelCandidate& model) {
  if (!std::isfinite(model.alpha)) {
    throw invalid_input("model '" + model.name + "': alpha must be a finite number");
  }
  if (model.accuracy && !std::isfinite(*model.accuracy)) {
    throw invalid_input("model '" + model.name + "': accuracy must be a finite number");
  }
}

std::vector<const ModelCandidate*> measured(const std::vector<ModelCandidate>& models) {
  std::vector<const ModelCandidate*> out;
  for (const ModelCandidate& model : models) {
    check_finite(model);
    if (model.accuracy) out.push_back(&model);
  }
  return out;
}

// The two bounds Algorithm 1 moves to, in one sort: over the models in order of α, a model
// is "at least as accurate as every model of smaller α" when its accuracy reaches the best
// accuracy strictly below its α (and some model lies below); α_min is the largest such α.
// Likewise downwards for α_max, the smallest α at least as accurate as every larger one.
// (The pairwise definition took O(n^2): 100,000 candidates took 34 s.)
struct DominatingAlphas {
  std::optional<double> largest_over_smaller;  // α_min's candidate
  std::optional<double> smallest_over_larger;  // α_max's candidate
};

DominatingAlphas dominating_alphas(std::vector<const ModelCandidate*> models) {
  std::sort(models.begin(), models.end(),
            [](const ModelCandidate* a, const ModelCandidate* b) { return a->alpha < b->alpha; });
  DominatingAlphas out;
  const std::size_t n = models.size();
  // `sweep(order)` visits groups of equal α in `order`; `record` gets each α whose group
  // holds a model at least as accurate as all models already passed (none: no partner).
  const auto sweep = [&](auto&& index_of, std::optional<double>& record) {
    double best_passed = -std::numeric_limits<double>::infinity();
    bool any_passed = false;
    for (std::size_t i = 0; i < n;) {
      const double alpha = models[index_of(i)]->alpha;
      double group_best = -std::numeric_limits<double>::infinity();
      std::size_t j = i;
      for (; j < n && models[index_of(j)]->alpha == alpha; ++j) {
        const double accuracy = *models[index_of(j)]->accuracy;
        if (any_passed && accuracy >= best_passed) record = alpha;  // the last one recorded wins
        group_best = std::max(group_best, accuracy);
      }
      best_passed = std::max(best_passed, group_best);
      any_passed = true;
      i = j;
    }
  };
  sweep([](std::size_t i) { return i; }, out.largest_over_smaller);           // ascending α
  sweep([n](std::size_t i) { return n - 1 - i; }, out.smallest_over_larger);  // descending α
  return out;
}

}  // namespace

double distance_to_zone(double alpha, const AlphaInterval& zone) {
  if (std::isnan(alpha) || std::isnan(zone.min) || std::isnan(zone.max)) {
    throw invalid_input("distance_to_zone: NaN alpha or zone end");
  }
  const double low = std::min(zone.min, zone.max), high = std::max(zone.min, zone.max);
  if (alpha < low) return low - alpha;
  if (alpha > high) return alpha - high;
  return 0.0;
}

std::vector<RankedCandidate> rank_by_goldilocks(const std::vector<ModelCandidate>& candidates,
                                                const AlphaInterval& zone) {
  std::vector<RankedCandidate> ranked;
  ranked.reserve(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    check_finite(candidates[i]);
    ranked.push_back({candidates[i], distance_to_zone(candidates[i].alpha, zone), i});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const RankedCandidate& a, const RankedCandidate& b) {
    if (a.distance != b.distance) return a.distance < b.distance;
    return std::fabs(a.candidate.alpha - 1.0) < std::fabs(b.candidate.alpha - 1.0);
  });
  return ranked;
}

AlphaInterval update_alpha_interval(const std::vector<ModelCandidate>& models_stat,
                                    const AlphaInterval& previous) {
  const DominatingAlphas bounds = dominating_alphas(measured(models_stat));
  AlphaInterval next = previous;
  // α_min: the largest α among models at least as accurate as every model of smaller α.
  if (bounds.largest_over_smaller) next.min = *bounds.largest_over_smaller;
  // α_max: the smallest α among models at least as accurate as every model of larger α.
  if (bounds.smallest_over_larger) next.max = *bounds.smallest_over_larger;
  return next;
}

std::vector<ModelCandidate> keep_top_models(const std::vector<ModelCandidate>& models_stat,
                                            std::size_t top_k) {
  if (top_k == 0) throw invalid_input("keep_top_models: K must be at least 1");
  const std::vector<const ModelCandidate*> models = measured(models_stat);
  std::vector<double> accuracies;
  for (const ModelCandidate* m : models) accuracies.push_back(*m->accuracy);
  std::sort(accuracies.begin(), accuracies.end(), std::greater<double>());
  // `acc >= the K-th accuracy` equals the printed `acc > the (K+1)-th` unless models tie
  // across the cut: the printed rule then drops them all (with all accuracies equal it
  // keeps nothing, and the final max over models_stat has no model); this keeps them all.
  const double threshold = accuracies.size() >= top_k ? accuracies[top_k - 1]
                                                      : -std::numeric_limits<double>::infinity();
  std::vector<ModelCandidate> kept;
  for (const ModelCandidate* m : models) {
    if (*m->accuracy >= threshold) kept.push_back(*m);
  }
  return kept;
}

SelectionState selection_round(const SelectionState& state,
                               const std::vector<ModelCandidate>& trained, std::size_t top_k) {
  if (top_k == 0) throw invalid_input("selection_round: K must be at least 1");
  SelectionState next;
  next.models_stat = state.models_stat;
  for (const ModelCandidate& model : trained) {
    check_finite(model);
    if (model.accuracy && state.interval.contains(model.alpha)) next.models_stat.push_back(model);
  }
  next.interval = update_alpha_interval(next.models_stat, state.interval);
  next.models_stat = keep_top_models(next.models_stat, top_k);
  return next;
}

SelectionResult select_models(const std::vector<ModelCandidate>& candidates,
                              const SelectionOptions& options) {
  if (options.top_k == 0) throw invalid_input("select: K (the number of models to keep) must be at least 1");
  std::set<std::string> names;
  bool any_accuracy = false;
  for (const ModelCandidate& model : candidates) {
    check_finite(model);
    if (!names.insert(model.name).second) {
      throw invalid_input("select: two candidates are named '" + model.name + "'");
    }
    any_accuracy = any_accuracy || model.accuracy.has_value();
  }
  SelectionResult result;
  result.state = selection_round({options.interval, {}}, candidates, options.top_k);
  result.zone_from_accuracies = any_accuracy;
  result.zone = any_accuracy ? result.state.interval : options.default_zone;
  result.ranking = rank_by_goldilocks(candidates, result.zone);
  if (any_accuracy) {
    result.chosen = result.state.models_stat;
    std::stable_sort(result.chosen.begin(), result.chosen.end(),
                     [](const ModelCandidate& a, const ModelCandidate& b) { return *a.accuracy > *b.accuracy; });
  } else {
    for (std::size_t i = 0; i < result.ranking.size() && i < options.top_k; ++i) {
      result.chosen.push_back(result.ranking[i].candidate);
    }
  }
  return result;
}

}  // namespace alphareq
