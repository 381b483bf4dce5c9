// Model selection with α: the Goldilocks ranking and Algorithm 1 of the paper (the
// reading is written out in include/alphareq/selection.hpp).

#include <alphareq/error.hpp>
#include <alphareq/selection.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
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

// max (or min, by `better`) α over the models m that have at least one model on the
// `beyond` side of them and are at least as accurate as every model on that side.
std::optional<double> extreme_dominating_alpha(const std::vector<const ModelCandidate*>& models,
                                               const std::function<bool(double, double)>& beyond,
                                               const std::function<bool(double, double)>& better) {
  std::optional<double> result;
  for (const ModelCandidate* m : models) {
    bool has_partner = false, dominates = true;
    for (const ModelCandidate* j : models) {
      if (!beyond(j->alpha, m->alpha)) continue;  // only j on the given side of m
      has_partner = true;
      if (!(*m->accuracy >= *j->accuracy)) {
        dominates = false;
        break;
      }
    }
    if (has_partner && dominates && (!result || better(m->alpha, *result))) result = m->alpha;
  }
  return result;
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
  const std::vector<const ModelCandidate*> models = measured(models_stat);
  AlphaInterval next = previous;
  // α_min: the largest α among models at least as accurate as every model of smaller α.
  if (const auto low = extreme_dominating_alpha(models, std::less<double>(), std::greater<double>())) {
    next.min = *low;
  }
  // α_max: the smallest α among models at least as accurate as every model of larger α.
  if (const auto high = extreme_dominating_alpha(models, std::greater<double>(), std::less<double>())) {
    next.max = *high;
  }
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
