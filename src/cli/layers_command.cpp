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
namespace {

// A file name as a Markdown table cell: a '|' in it would end the cell.
std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (const char c : text) {
    if (c == '|') cell += '\\';
    cell += c;
  }
  return cell;
}

}  // namespace

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
  // The picture first: a failed write then leaves no report that looks complete.
  if (!list.value("--plot").empty()) {
    save_picture(list.value("--plot"), layer_profile_svg(points, "alpha and R^2 per layer"));
  }
  if (list.has_flag("--json")) {
    std::cout << "{\"layers\": [";
    for (std::size_t i = 0; i < reports.size(); ++i) {
      const AlphaReport& r = reports[i];
      std::cout << (i ? ", " : "") << "{\"file\": " << json_string(list.positional[i]) << ", \"n\": " << r.n
                << ", \"d\": " << r.d << ", \"alpha\": " << json_number(r.fit.alpha)
                << ", \"r2\": " << json_number(r.fit.r2) << ", \"first_rank\": " << r.fit.first_rank
                << ", \"last_rank\": " << r.fit.last_rank
                << ", \"effective_rank\": " << json_number(r.metrics.effective_rank)
                << ", \"backend\": " << json_string(r.backend) << "}";
    }
    std::cout << "]}\n";
  } else {
    std::cout << "| layer | D | alpha | R^2 | window | effective rank |\n|---|---:|---:|---:|---|---:|\n";
    for (std::size_t i = 0; i < reports.size(); ++i) {
      const AlphaReport& r = reports[i];
      std::cout << "| " << markdown_cell(list.positional[i]) << " | " << r.d << " | "
                << signless_zero_number(r.fit.alpha, "%.4f") << " | " << signless_zero_number(r.fit.r2, "%.4f")
                << " | " << r.fit.first_rank << ".." << r.fit.last_rank << " | "
                << signless_zero_number(r.metrics.effective_rank, "%.1f") << " |\n";
    }
  }
  return 0;
}

}  // namespace alphareq::cli
