#include "cli/probe_command.hpp"

#include "cli/arguments.hpp"

#include <alphareq/alphareq.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

namespace alphareq::cli {

bool OptionList::has_flag(const std::string& name) const {
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::string OptionList::value(const std::string& name, const std::string& fallback) const {
  for (const auto& [key, text] : values) {
    if (key == name) return text;
  }
  return fallback;
}

std::int64_t OptionList::integer(const std::string& name, std::int64_t fallback) const {
  const std::string text = value(name);
  return text.empty() ? fallback : parse_integer(name, text);
}

double OptionList::real(const std::string& name, double fallback) const {
  const std::string text = value(name);
  return text.empty() ? fallback : parse_real(name, text);
}

std::uint64_t OptionList::seed(const std::string& name) const {
  const std::string text = value(name);
  return text.empty() ? 0 : parse_seed(name, text);
}

bool printed_usage(const OptionList& list, const std::string& command) {
  if (list.help) std::cout << command_usage_text(command);
  return list.help;
}

OptionList parse_option_list(const std::vector<std::string>& args,
                             const std::vector<std::string>& valued,
                             const std::vector<std::string>& flags) {
  OptionList list;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      list.help = true;
      continue;
    }
    if (args[i].rfind("--", 0) != 0) {
      list.positional.push_back(args[i]);
      continue;
    }
    std::string name = args[i], text;
    const auto equals = name.find('=');
    if (equals != std::string::npos) {
      text = name.substr(equals + 1);
      name.resize(equals);
    }
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      if (equals != std::string::npos) throw UsageError(name + " takes no value, got '" + text + "'");
      list.flags.push_back(name);
      continue;
    }
    if (std::find(valued.begin(), valued.end(), name) == valued.end()) {
      throw UsageError("unknown option '" + name + "'");
    }
    if (equals == std::string::npos) text = next_word_value(name, args, i);
    // An empty value would read as "not given" (the default), a second one as never given.
    if (text.empty()) throw UsageError(name + " needs a value, got an empty one");
    for (const auto& [earlier, ignored] : list.values) {
      if (earlier == name) throw UsageError(name + " given twice");
    }
    list.values.emplace_back(name, text);
  }
  return list;
}

namespace {

ProbeOptions probe_options(const OptionList& list, std::int64_t default_epochs) {
  ProbeOptions options;
  try {
    options.backend = parse_backend(list.value("--backend", "auto"));
    options.optimizer = parse_optimizer(list.value("--optimizer", "sgd"));
  } catch (const invalid_input& e) {
    throw UsageError(e.what());
  }
  options.epochs = list.integer("--epochs", default_epochs);
  options.batch_size = list.integer("--batch-size", options.batch_size);
  // Option values no data could make right are usage errors (exit 2), as --lr's are.
  if (options.epochs < 1) throw UsageError("--epochs must be at least 1, got " + std::to_string(options.epochs));
  if (options.batch_size < 1) {
    throw UsageError("--batch-size must be at least 1, got " + std::to_string(options.batch_size));
  }
  if (!list.value("--lr").empty()) {
    // The library reads a negative rate as "the default": on the command line that is a typo.
    options.learning_rate = list.real("--lr", options.learning_rate);
    if (!(std::isfinite(options.learning_rate) && options.learning_rate > 0.0)) {
      throw UsageError("--lr must be a finite number > 0, got '" + list.value("--lr") +
                       "' (leave it out for the optimizer's default: 0.1 for sgd, 1e-3 for adam)");
    }
  }
  if (!list.value("--momentum").empty()) {
    if (options.optimizer != Optimizer::sgd) throw UsageError("--momentum applies only to --optimizer sgd");
    options.momentum = list.real("--momentum", options.momentum);
    if (!(options.momentum >= 0.0 && options.momentum < 1.0)) {
      throw UsageError("--momentum must be in [0, 1), got '" + list.value("--momentum") + "'");
    }
  }
  options.weight_decay = list.real("--weight-decay", options.weight_decay);
  if (!(std::isfinite(options.weight_decay) && options.weight_decay >= 0.0)) {
    throw UsageError("--weight-decay must be a finite number >= 0, got '" + list.value("--weight-decay") + "'");
  }
  options.seed = list.seed("--seed");
  options.classes = list.integer("--classes", 0);
  if (options.classes < 0 || options.classes == 1) {
    throw UsageError("--classes must be at least 2 (leave it out to take 1 + the largest training label)");
  }
  return options;
}

// The library names the split ("train labels: ..."); the user knows the files.
std::string naming_files(const std::string& message, const OptionList& list) {
  const std::pair<const char*, const char*> splits[] = {{"train features", "--train"},
                                                        {"test features", "--test"},
                                                        {"train labels", "--train-labels"},
                                                        {"test labels", "--test-labels"}};
  for (const auto& [split, option] : splits) {
    if (message.rfind(split, 0) == 0) {
      return list.value(option) + " (" + split + ")" + message.substr(std::string(split).size());
    }
  }
  return message;
}

// Reads a whole features file into float32 memory (the probe keeps it resident anyway).
std::vector<float> load_features(const std::string& path, std::int64_t& rows, std::int64_t& cols) {
  NpyReader reader(path);
  rows = reader.rows();
  cols = reader.cols();
  std::vector<float> features(static_cast<std::size_t>(rows * cols));
  float* out = features.data();
  for (MatrixView chunk = reader.next_chunk(65536); chunk.rows > 0; chunk = reader.next_chunk(65536)) {
    const std::size_t count = static_cast<std::size_t>(chunk.rows * chunk.cols);
    if (chunk.dtype == DType::float32) {
      std::copy_n(static_cast<const float*>(chunk.data), count, out);
    } else {
      const double* in = static_cast<const double*>(chunk.data);
      std::transform(in, in + count, out, [](double x) { return static_cast<float>(x); });
    }
    out += count;
  }
  return features;
}

void check_required(const OptionList& list, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (list.value(name).empty()) throw UsageError("probe needs " + name + " FILE.npy");
  }
}

}  // namespace

int run_probe_command(const std::vector<std::string>& args) {
  const OptionList list = parse_option_list(
      args, {"--train", "--train-labels", "--test", "--test-labels", "--epochs", "--optimizer",
             "--batch-size", "--lr", "--momentum", "--weight-decay", "--seed", "--backend", "--classes"},
      {"--json", "--quiet"});
  if (printed_usage(list, "probe")) return 0;
  check_required(list, {"--train", "--train-labels", "--test", "--test-labels"});
  if (!list.positional.empty()) throw UsageError("probe takes no positional argument, got '" + list.positional[0] + "'");
  const ProbeOptions options = probe_options(list, 100);
  std::string notice;
  resolve_backend(options.backend, &notice);
  if (!notice.empty() && !list.has_flag("--quiet")) std::cerr << "alphareq: notice: " << notice << "\n";

  std::int64_t train_rows = 0, test_rows = 0, train_cols = 0, test_cols = 0;
  const std::vector<float> train_x = load_features(list.value("--train"), train_rows, train_cols);
  const std::vector<float> test_x = load_features(list.value("--test"), test_rows, test_cols);
  LabelledData train{host_matrix(train_x.data(), train_rows, train_cols),
                     load_npy_labels(list.value("--train-labels"))};
  LabelledData test{host_matrix(test_x.data(), test_rows, test_cols),
                    load_npy_labels(list.value("--test-labels"))};
  ProbeResult result;
  try {
    result = train_linear_probe(train, test, options);
  } catch (const invalid_input& e) {
    throw invalid_input(naming_files(e.what(), list));
  }

  const double mean_epoch = result.train_ms / static_cast<double>(result.epochs);
  // The first epoch alone as well: in a fresh process it also pays first-use costs (library
  // kernels loaded, handles), which a comparison with a warmed-up loop should leave out.
  const double first_epoch = result.epoch_ms.empty() ? mean_epoch : result.epoch_ms.front();
  // The mean of the later epochs, each on its own clock (CUDA events on the GPU): train_ms
  // less the first epoch would mix the host stopwatch in, with the host's work around them.
  double later_epochs = mean_epoch;
  if (result.epoch_ms.size() > 1) {
    later_epochs = 0.0;
    for (std::size_t i = 1; i < result.epoch_ms.size(); ++i) later_epochs += result.epoch_ms[i];
    later_epochs /= static_cast<double>(result.epoch_ms.size() - 1);
  }
  if (list.has_flag("--json")) {
    std::printf("{\"backend\": \"%s\", \"optimizer\": \"%s\", \"classes\": %lld, \"epochs\": %lld, "
                "\"train_accuracy\": %.6f, \"test_accuracy\": %.6f, \"final_loss\": %.6f, "
                "\"train_ms\": %.3f, \"epoch_ms\": %.3f, \"first_epoch_ms\": %.3f, "
                "\"later_epoch_ms\": %.3f, \"evaluate_ms\": %.3f}\n",
                result.backend.c_str(), to_string(options.optimizer).c_str(),
                static_cast<long long>(result.classes), static_cast<long long>(result.epochs),
                result.train_accuracy, result.test_accuracy, result.final_loss, result.train_ms,
                mean_epoch, first_epoch, later_epochs, result.evaluate_ms);
  } else {
    std::printf("alphareq probe: %lld train / %lld test samples, D = %lld, %lld classes, %s on %s\n"
                "  train accuracy    %.2f %%\n  test accuracy     %.2f %%\n  final loss        %.4f\n"
                "  time              %.1f ms for %lld epochs (%.2f ms an epoch), evaluation %.1f ms\n",
                static_cast<long long>(train_rows), static_cast<long long>(test_rows),
                static_cast<long long>(train_cols), static_cast<long long>(result.classes),
                to_string(options.optimizer).c_str(), result.backend.c_str(),
                100.0 * result.train_accuracy, 100.0 * result.test_accuracy, result.final_loss,
                result.train_ms, static_cast<long long>(result.epochs), mean_epoch, result.evaluate_ms);
  }
  return 0;
}

}  // namespace alphareq::cli
