// `alphareq layers A.npy B.npy ...`: α and R² of several layers' features (one file a
// layer, the same samples) in one pass, as a table, JSON, and a per-layer picture.

#include "cli/arguments.hpp"
#include "cli/json_text.hpp"
#include "cli/probe_command.hpp"
#include "cli/progress_bar.hpp"

#include <alphareq/alphareq.hpp>

#include <cstdio>
#include <iostream>

namespace alphareq::cli {

int run_layers_command(const std::vector<std::string>& args) {
  const OptionList list = parse_option_list(args, {"--first", "--last", "--method", "--backend", "--plot"},
                                            {"--json", "--quiet"});
  if (printed_usage(list, "layers")) return 0;
  if (list.positional.empty()) throw UsageError("layers needs one .npy file a layer");
  if (!list.value("--plot").empty()) check_picture_option("--plot", list.value("--plot"));
  AlphaOptions options;
  try {
    options.accumulator.backend = parse_backend(list.value("--backend", "auto"));
    options.fit.method = parse_fit_method(list.value("--method", "weighted"));
  } catch (const invalid_input& e) {
    throw UsageError(e.what());
  }
  options.fit.first_rank = list.integer("--first", options.fit.first_rank);
  options.fit.last_rank = list.integer("--last", options.fit.last_rank);
  check_fit_window_options(options.fit);
  const bool quiet = list.has_flag("--quiet");
  std::string notice;
  resolve_backend(options.accumulator.backend, &notice);
  if (!notice.empty() && !quiet) std::cerr << "alphareq: notice: " << notice << "\n";

  ProgressBar bar(!quiet);
  const std::vector<AlphaReport> reports = compute_alpha_layers_npy(
      list.positional, options, [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
  bar.finish();

  std::vector<LayerPoint> points;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    points.push_back({list.positional[i], reports[i].fit.alpha, reports[i].fit.r2});
    if (reports[i].fit.clipped && !quiet) {
      std::cerr << "alphareq: notice: " << list.positional[i] << ": " << reports[i].fit.clip_reason << "\n";
    }
  }
  if (list.has_flag("--json")) {
    std::printf("{\"layers\": [");
    for (std::size_t i = 0; i < reports.size(); ++i) {
      const AlphaReport& r = reports[i];
      std::printf("%s{\"file\": %s, \"n\": %lld, \"d\": %lld, \"alpha\": %.17g, \"r2\": %.17g, "
                  "\"first_rank\": %lld, \"last_rank\": %lld, \"effective_rank\": %.17g, \"backend\": \"%s\"}",
                  i ? ", " : "", json_string(list.positional[i]).c_str(), static_cast<long long>(r.n),
                  static_cast<long long>(r.d), r.fit.alpha, r.fit.r2, static_cast<long long>(r.fit.first_rank),
                  static_cast<long long>(r.fit.last_rank), r.metrics.effective_rank, r.backend.c_str());
    }
    std::printf("]}\n");
  } else {
    std::printf("| layer | D | alpha | R^2 | window | effective rank |\n|---|---:|---:|---:|---|---:|\n");
    for (std::size_t i = 0; i < reports.size(); ++i) {
      const AlphaReport& r = reports[i];
      std::printf("| %s | %lld | %.4f | %.4f | %lld..%lld | %.1f |\n", list.positional[i].c_str(),
                  static_cast<long long>(r.d), r.fit.alpha, r.fit.r2, static_cast<long long>(r.fit.first_rank),
                  static_cast<long long>(r.fit.last_rank), r.metrics.effective_rank);
    }
  }
  if (!list.value("--plot").empty()) {
    save_picture(list.value("--plot"), layer_profile_svg(points, "alpha and R^2 per layer"));
  }
  return 0;
}

}  // namespace alphareq::cli
