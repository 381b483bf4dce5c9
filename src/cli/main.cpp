// The alphareq command-line tool: α of a .npy file of features, or of the built-in demo.

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/probe_command.hpp"
#include "cli/progress_bar.hpp"
#include "cli/report_printer.hpp"
#include "core/stopwatch.hpp"

#include <alphareq/alphareq.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace alphareq;

void notice(const cli::Arguments& args, const std::string& text) {
  if (!args.quiet) std::cerr << "alphareq: notice: " << text << "\n";
}

AlphaReport run_demo(const cli::Arguments& args) {
  std::vector<double> features;
  try {
    features = synthetic_power_law_features(args.demo);
  } catch (const invalid_input& e) {  // the demo's own options (--n, --d, --alpha, --offset)
    throw cli::UsageError(std::string("demo: ") + e.what());
  }
  return compute_alpha(host_matrix(features.data(), args.demo.n, args.demo.d), args.options);
}

AlphaReport run_file(const cli::Arguments& args) {
  cli::ProgressBar bar(!args.quiet);
  AlphaReport report = compute_alpha_npy(
      args.features_path, args.options,
      [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
  bar.finish();
  return report;
}

int run(const cli::Arguments& args) {
  const detail::Stopwatch wall;
  std::string backend_notice;
  resolve_backend(args.options.accumulator.backend, &backend_notice);
  if (!backend_notice.empty()) notice(args, backend_notice);

  const bool demo = args.command == cli::Command::demo;
  const AlphaReport report = demo ? run_demo(args) : run_file(args);
  if (report.fit.clipped) notice(args, report.fit.clip_reason);
  // "other" is reading or generating the features: the files written below are not in it.
  const double computed_ms = wall.elapsed_ms();
  if (!args.plot.empty()) save_picture(args.plot, spectrum_svg(report, demo ? "demo" : args.features_path));
  if (!args.eigenvalues_out.empty()) {
    save_npy(args.eigenvalues_out, report.eigenvalues.data(), {report.d});
  }

  cli::ReportContext context;
  context.source = demo ? "demo (synthetic features, n = " + std::to_string(args.demo.n) +
                              ", D = " + std::to_string(args.demo.d) + ", seed " +
                              std::to_string(args.demo.seed) + ")"
                        : args.features_path;
  context.normalization =
      args.options.normalization == Normalization::by_n ? "n" : "n-1";
  context.computed_ms = computed_ms;
  context.wall_ms = wall.elapsed_ms();
  if (demo) context.true_alpha = args.demo.alpha;
  std::cout << (args.json ? cli::format_json(report, context) : cli::format_text(report, context));
  return 0;
}

// A report lost to a full disk or a closed stdout is a failure: the stream's error state
// (std::cout is synchronised with stdio) is checked once everything is written.
int with_output_checked(int status) {
  errno = 0;
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || !std::cout) {
    std::cerr << "alphareq: error: cannot write the output to stdout"
              << (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string()) << "\n";
    return 1;
  }
  return status;
}

int run_command(const std::vector<std::string>& words) {
  if (!words.empty() && (words[0] == "select" || words[0] == "synthetic")) {
    const std::vector<std::string> rest(words.begin() + 1, words.end());
    return words[0] == "select" ? cli::run_select_command(rest) : cli::run_synthetic_command(rest);
  }
  if (!words.empty() && (words[0] == "probe" || words[0] == "table1" || words[0] == "layers")) {
    const std::vector<std::string> rest(words.begin() + 1, words.end());
    if (words[0] == "probe") return cli::run_probe_command(rest);
    if (words[0] == "layers") return cli::run_layers_command(rest);
    return cli::run_table1_command(rest);
  }
  const cli::Arguments args = cli::parse_arguments(words);
  if (args.command == cli::Command::help) {
    std::cout << cli::usage_text();
    return 0;
  }
  if (args.command == cli::Command::version) {
    std::cout << "alphareq " << alphareq::version() << "\n";
    return 0;
  }
  return run(args);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return with_output_checked(run_command(std::vector<std::string>(argv + 1, argv + argc)));
  } catch (const cli::UsageError& e) {
    std::cerr << "alphareq: usage error: " << e.what() << " (see alphareq --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "alphareq: error: " << e.what() << "\n";
    return 1;
  }
}
