// `alphareq table1`: the paper's Table 1 — time to α against time to train a linear probe
// — on features of the real shapes (synthetic unless files are given), in the paper's layout.

#include "cli/arguments.hpp"
#include "cli/device_features.hpp"
#include "cli/formatted_line.hpp"
#include "cli/probe_command.hpp"
#include "core/stopwatch.hpp"

#include <alphareq/alphareq.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace alphareq::cli {
namespace {

struct Row {
  const char* name;
  const char* unit;          // the paper's unit for the row: "s" or "mins"
  std::int64_t train_rows, test_rows, dim, classes, epochs;
  const char* paper_alpha;   // the paper's numbers (one A100)
  const char* paper_probe;
  const char* paper_gain;
};

const Row kPaperRows[] = {
    {"CIFAR10", "s", 50000, 10000, 2048, 10, 200, "3 ± 0.2", "48 ± 7", "~16x"},
    {"STL10", "s", 5000, 8000, 2048, 10, 200, "5 ± 0.5", "80 ± 10", "~16x"},
    {"ImageNet", "mins", 1281167, 50000, 2048, 1000, 100, "4 ± 0.8", "58 ± 5", "~15x"},
};

// --quick: the same rows shrunk so that the whole table runs in seconds on a laptop CPU,
// each keeping its own proportions (so the rows differ) and enough epochs for the probe
// to learn something.
Row quick(Row row) {
  row.train_rows = std::max<std::int64_t>(500, row.train_rows / 25);
  row.test_rows = std::max<std::int64_t>(400, row.test_rows / 20);
  row.dim = 256;
  row.classes = std::min<std::int64_t>(row.classes, 100);
  row.epochs = 10;
  return row;
}

// Two class centres lie kClassDistance noise spreads apart (whitened), whatever the width:
// separable enough for a linear probe to reach about the accuracies of real self-supervised
// features (CIFAR10 ~90 %), not so far apart that every probe scores 100 % after one epoch.
// The centres are N(0, I) · separation, so their distance is about separation · √(2d).
constexpr double kClassDistance = 4.5;
double class_separation(std::int64_t dim) {
  return kClassDistance / std::sqrt(2.0 * static_cast<double>(dim));
}

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Summary {
  double median = 0.0, spread = 0.0;  // spread: half the range of the repeats
};

Summary summarise(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  Summary s;
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.spread = 0.5 * (samples.back() - samples.front());
  return s;
}

std::string format(const Summary& s, double unit_ms) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3g ± %.2g", s.median / unit_ms, s.spread / unit_ms);
  return text;
}

// `warm_up` runs once first, untimed, so that first-use costs (CUDA context, handles,
// lazily loaded kernels, page faults) stay out of the samples.
template <typename WarmUp, typename Work>
Summary time_repeats(int repeats, WarmUp&& warm_up, Work&& work) {
  warm_up();
  std::vector<double> samples;
  for (int i = 0; i < repeats; ++i) samples.push_back(work());
  return summarise(samples);
}

template <typename Work>
Summary time_repeats(int repeats, Work&& work) {
  return time_repeats(repeats, work, work);
}

}  // namespace

int run_table1_command(const std::vector<std::string>& args) {
  const OptionList list = parse_option_list(
      args, {"--backend", "--repeats", "--seed", "--cpu-epochs", "--datasets"}, {"--quick", "--quiet"});
  if (printed_usage(list, "table1")) return 0;
  if (!list.positional.empty()) throw UsageError("table1 takes no positional argument, got '" + list.positional[0] + "'");
  // Names in any case (cifar10 is CIFAR10).
  const std::string datasets = lower_case("," + list.value("--datasets", "CIFAR10,STL10,ImageNet") + ",");
  for (std::size_t start = 1; start < datasets.size();) {
    const std::size_t end = datasets.find(',', start);
    const std::string name = datasets.substr(start, end - start);
    if (name != "cifar10" && name != "stl10" && name != "imagenet") {
      throw UsageError("--datasets takes CIFAR10, STL10 and ImageNet, got '" + name + "'");
    }
    start = end + 1;
  }
  Backend backend;
  try {
    backend = parse_backend(list.value("--backend", "auto"));
  } catch (const invalid_input& e) {
    throw UsageError(e.what());
  }
  const std::int64_t repeats_given = list.integer("--repeats", 3);
  const std::int64_t cpu_epochs = list.integer("--cpu-epochs", 2);
  if (repeats_given < 1 || cpu_epochs < 1) throw UsageError("--repeats and --cpu-epochs must be >= 1");
  // Checked before the narrowing, which would wrap 2^32 + 1 to 1.
  if (repeats_given > 1000) throw UsageError("--repeats must be at most 1000, got " + std::to_string(repeats_given));
  const int repeats = static_cast<int>(repeats_given);
  const std::uint64_t seed = list.seed("--seed");
  std::string notice;
  backend = resolve_backend(backend, &notice);
  if (!notice.empty() && !list.has_flag("--quiet")) std::cerr << "alphareq: notice: " << notice << "\n";
  const bool is_quick = list.has_flag("--quick");
  // The probe is extrapolated from --cpu-epochs only on the CPU, for the full-size ImageNet
  // row (the other rows train all their epochs): anywhere else the option would do nothing.
  if (!list.value("--cpu-epochs").empty() &&
      (backend != Backend::cpu || is_quick || datasets.find(",imagenet,") == std::string::npos)) {
    throw UsageError("--cpu-epochs applies only to the full-size ImageNet row on the CPU backend "
                     "(without --quick)");
  }

  std::printf("alphareq table1 on %s%s (synthetic features of the real shapes; median ± half-range "
              "of %d runs)\n\n",
              to_string(backend).c_str(), is_quick ? ", --quick sizes" : "", repeats);
  std::printf("| Dataset | w/ alpha, in memory | w/ alpha, from host | w/ linear probe | perf. gains "
              "| test acc. | paper (1 A100): alpha / probe / gains |\n|---|---|---|---|---|---|---|\n");
  std::vector<std::string> footnotes;
  for (const Row& paper : kPaperRows) {
    if (datasets.find("," + lower_case(paper.name) + ",") == std::string::npos) continue;
    const Row row = is_quick ? quick(paper) : paper;
    const double unit_ms = std::string(row.unit) == "s" ? 1e3 : 6e4;
    LabelledSyntheticSpec spec;
    spec.d = row.dim;
    spec.classes = row.classes;
    spec.separation = class_separation(row.dim);
    spec.seed = seed;
    std::vector<float> train_x, test_x;
    std::vector<std::int32_t> train_y, test_y;
    spec.n = row.train_rows;
    synthetic_labelled_features(spec, train_x, train_y);
    spec.n = row.test_rows;
    spec.sample_stream = 1;  // the same classes, other samples
    synthetic_labelled_features(spec, test_x, test_y);

    AlphaOptions alpha_options;
    alpha_options.accumulator.backend = backend;
    const MatrixView test_view = host_matrix(test_x.data(), row.test_rows, row.dim);
    const Summary alpha_host = time_repeats(repeats, [&] {
      const detail::Stopwatch watch;
      compute_alpha(test_view, alpha_options);
      return watch.elapsed_ms();
    });
    Summary alpha_memory = alpha_host;  // on the CPU, host memory is where features live
    if (backend == Backend::cuda) {
      const DeviceFeatures resident(test_x.data(), row.test_rows, row.dim);
      alpha_memory = time_repeats(repeats, [&] {
        const detail::Stopwatch watch;
        compute_alpha(resident.view(), alpha_options);
        return watch.elapsed_ms();
      });
    }

    ProbeOptions probe;
    probe.backend = backend;
    probe.seed = spec.seed;
    probe.classes = row.classes;  // known: no class is inferred from the labels drawn
    const bool extrapolate = backend == Backend::cpu && !is_quick && row.epochs > cpu_epochs &&
                             row.train_rows > 100000;
    probe.epochs = extrapolate ? cpu_epochs : row.epochs;
    double accuracy = 0.0;
    const LabelledData train{host_matrix(train_x.data(), row.train_rows, row.dim), train_y};
    const LabelledData test{test_view, test_y};
    // One epoch warms up as well as all of them (ImageNet's 100 would take a minute on a GPU).
    ProbeOptions warm_up = probe;
    warm_up.epochs = 1;
    Summary probe_time = time_repeats(repeats, [&] { train_linear_probe(train, test, warm_up); }, [&] {
      const ProbeResult result = train_linear_probe(train, test, probe);
      accuracy = result.test_accuracy;
      return result.train_ms * static_cast<double>(row.epochs) / static_cast<double>(probe.epochs);
    });
    std::string probe_text = format(probe_time, unit_ms);
    if (extrapolate) {
      probe_text += " *";
      footnotes.push_back("* " + std::string(row.name) + ": the probe was timed over " +
                          std::to_string(cpu_epochs) + " epochs and scaled to " +
                          std::to_string(row.epochs) + " (extrapolated, not measured); its test "
                          "accuracy is after those " + std::to_string(cpu_epochs) + " epochs.");
    }
    const std::string line = formatted_line(
        "| %s (%s) | %s | %s | %s | ~%.3gx | %.1f %% | %s / %s / %s |\n", row.name, row.unit,
        format(alpha_memory, unit_ms).c_str(), format(alpha_host, unit_ms).c_str(),
        probe_text.c_str(), probe_time.median / alpha_memory.median, 100.0 * accuracy,
        paper.paper_alpha, paper.paper_probe, paper.paper_gain);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }
  std::printf("\nalpha: features in memory (%s) -> alpha, and host memory -> alpha including the "
              "transfer; probe: %s epochs of SGD (batch 256) on features in memory, without "
              "evaluation. Gains = probe / alpha in memory.\n",
              backend == Backend::cuda ? "device" : "host", is_quick ? "10" : "200/200/100");
  for (const std::string& note : footnotes) std::printf("%s\n", note.c_str());
  return 0;
}

}  // namespace alphareq::cli
