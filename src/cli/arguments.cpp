#include "cli/arguments.hpp"

#include "core/bootstrap.hpp"
#include "core/picture_format.hpp"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace alphareq::cli {

std::int64_t parse_integer(const std::string& option, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    throw UsageError(option + " expects an integer, got '" + text + "'");
  }
  return value;
}

double parse_real(const std::string& option, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  // ERANGE also flags an underflow to a subnormal or zero: only overflow is refused.
  if (text.empty() || *end != '\0' || (errno == ERANGE && std::fabs(value) == HUGE_VAL)) {
    throw UsageError(option + " expects a number, got '" + text + "'");
  }
  return value;
}

std::uint64_t parse_seed(const std::string& option, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  // strtoull would wrap "-1" to 2^64 - 1: a sign is refused before it can.
  const bool digits_first = !text.empty() && text[0] >= '0' && text[0] <= '9';
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (!digits_first || *end != '\0' || errno == ERANGE) {
    throw UsageError(option + " expects an integer from 0 to 18446744073709551615, got '" + text + "'");
  }
  return value;
}

std::string next_word_value(const std::string& option, const std::vector<std::string>& words,
                            std::size_t& i) {
  if (i + 1 >= words.size()) throw UsageError(option + " needs a value");
  const std::string& value = words[i + 1];
  if (value.rfind("--", 0) == 0) {
    throw UsageError(option + " needs a value, got the option '" + value + "' (write " + option +
                     "=VALUE for a value that starts with --)");
  }
  ++i;
  return value;
}

void check_fit_window_options(const FitOptions& fit) {
  const std::string first = std::to_string(fit.first_rank), last = std::to_string(fit.last_rank);
  if (fit.first_rank < 1) {
    throw UsageError("--first must be at least 1 (ranks are 1-based), got " + first);
  }
  if (fit.last_rank < fit.first_rank) {
    throw UsageError("--last " + last + " is below --first " + first);
  }
  // The fit's own minimum (clip_window in core/power_law_fit.cpp): two points fit any line.
  const std::int64_t ranks = fit.last_rank - fit.first_rank + 1;
  if (ranks < 3) {
    throw UsageError("the fit window --first " + first + " .. --last " + last + " holds " +
                     std::to_string(ranks) + " ranks; a power-law fit needs at least 3");
  }
}

void check_picture_option(const std::string& option, const std::string& path) {
  try {
    detail::picture_format(path);
  } catch (const invalid_input& e) {
    throw UsageError(option + ": " + e.what());
  }
}

namespace {

// Options that apply to any command; returns false when `option` is not one of them.
bool apply_common_option(Arguments& parsed, const std::string& option, const std::string& value) {
  AlphaOptions& o = parsed.options;
  try {
    if (option == "--first") o.fit.first_rank = parse_integer(option, value);
    else if (option == "--last") o.fit.last_rank = parse_integer(option, value);
    else if (option == "--method") o.fit.method = parse_fit_method(value);
    else if (option == "--backend") o.accumulator.backend = parse_backend(value);
    else if (option == "--eigenvalues-out" || option == "--plot") {
      // An empty name would silently write nothing (empty means "not asked for").
      if (value.empty()) throw UsageError(option + " needs a file name, got an empty one");
      if (option == "--plot") check_picture_option(option, value);
      (option == "--plot" ? parsed.plot : parsed.eigenvalues_out) = value;
    }
    else if (option == "--bootstrap") o.bootstrap.resamples = parse_integer(option, value);
    else if (option == "--bootstrap-seed") o.bootstrap.seed = parse_seed(option, value);
    else if (option == "--confidence") o.bootstrap.confidence = parse_real(option, value);
    else if (option == "--normalization") {
      if (value == "n") o.normalization = Normalization::by_n;
      else if (value == "n-1") o.normalization = Normalization::by_n_minus_one;
      else throw UsageError("--normalization expects n or n-1, got '" + value + "'");
    } else if (option == "--precision") {
      if (value == "float64") o.accumulator.precision = AccumulationPrecision::float64;
      else if (value == "float32") o.accumulator.precision = AccumulationPrecision::float32;
      else throw UsageError("--precision expects float64 or float32, got '" + value + "'");
    } else {
      return false;
    }
  } catch (const invalid_input& e) {
    throw UsageError(option + ": " + e.what());
  }
  return true;
}

bool apply_demo_option(SyntheticSpec& demo, const std::string& option, const std::string& value) {
  if (option == "--n") demo.n = parse_integer(option, value);
  else if (option == "--d") demo.d = parse_integer(option, value);
  else if (option == "--alpha") demo.alpha = parse_real(option, value);
  else if (option == "--seed") demo.seed = parse_seed(option, value);
  else if (option == "--offset") demo.offset = parse_real(option, value);
  else return false;
  return true;
}

bool is_flag(const std::string& option) {
  return option == "--json" || option == "--quiet" || option == "--deterministic" ||
         option == "--help" || option == "-h" || option == "--version";
}

}  // namespace

Arguments parse_arguments(const std::vector<std::string>& args) {
  Arguments parsed;
  parsed.demo.n = 20000;
  parsed.demo.d = 512;
  parsed.demo.alpha = 1.0;
  parsed.demo.offset = 1000.0;  // a mean far above the spread: the centring must cope
  std::vector<std::string> positional;
  std::vector<std::string> given;  // valued options seen: a second one is refused
  std::string first_demo_option;  // with a features file it would be ignored: refused below
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string option = args[i];
    if (option.rfind("--", 0) != 0 && option != "-h") {
      positional.push_back(option);
      continue;
    }
    if (is_flag(option)) {
      if (option == "--json") parsed.json = true;
      else if (option == "--quiet") parsed.quiet = true;
      else if (option == "--deterministic") parsed.options.accumulator.deterministic = true;
      else if (option == "--version") parsed.command = Command::version;
      else parsed.command = Command::help;
      continue;
    }
    std::string value;
    const auto equals = option.find('=');
    if (equals != std::string::npos) {
      value = option.substr(equals + 1);
      option.resize(equals);
      if (is_flag(option)) throw UsageError(option + " takes no value, got '" + value + "'");
    } else {
      // A known option lacks its value, an unknown one is named as unknown (a scratch copy
      // takes the trial application).
      Arguments scratch = parsed;
      bool known = true;
      try {
        known = apply_common_option(scratch, option, "") || apply_demo_option(scratch.demo, option, "");
      } catch (const UsageError&) {
      }
      if (!known) throw UsageError("unknown option '" + option + "'");
      value = next_word_value(option, args, i);
    }
    if (std::find(given.begin(), given.end(), option) != given.end()) {
      throw UsageError(option + " given twice");
    }
    given.push_back(option);
    if (apply_common_option(parsed, option, value)) continue;
    if (!apply_demo_option(parsed.demo, option, value)) {
      throw UsageError("unknown option '" + option + "'");
    }
    if (first_demo_option.empty()) first_demo_option = option;
  }
  if (parsed.command == Command::help || parsed.command == Command::version) return parsed;
  try {
    detail::check_bootstrap_options(parsed.options.bootstrap);
  } catch (const invalid_input& e) {
    throw UsageError(e.what());
  }
  if (parsed.options.bootstrap.resamples == 0) {
    // Without resamples there is no interval: these would be silently ignored.
    for (const char* option : {"--confidence", "--bootstrap-seed"}) {
      if (std::find(given.begin(), given.end(), option) != given.end()) {
        throw UsageError(std::string(option) + " applies only with --bootstrap B (B resamples)");
      }
    }
  }
  check_fit_window_options(parsed.options.fit);
  for (const std::string& word : positional) {
    if (word.empty()) throw UsageError("an empty file name was given");
  }
  if (positional.empty() || positional[0] == "demo") {
    parsed.command = Command::demo;
    if (positional.size() > 1) throw UsageError("demo takes no file, got '" + positional[1] + "'");
    return parsed;
  }
  for (const char* command : {"probe", "layers", "table1", "select", "synthetic"}) {
    if (std::find(positional.begin(), positional.end(), command) != positional.end()) {
      throw UsageError(std::string("the command '") + command + "' must come first, before any option (write ./" +
                       command + " for a file of that name)");
    }
  }
  if (positional.size() > 1) {
    throw UsageError("expected one features file, got " + std::to_string(positional.size()) +
                     " arguments ('" + positional[0] + "', '" + positional[1] + "', ...)");
  }
  if (!first_demo_option.empty()) {
    throw UsageError(first_demo_option + " applies to the demo only, not to a features file ('" +
                     positional[0] + "')");
  }
  parsed.command = Command::analyze_file;
  parsed.features_path = positional[0];
  return parsed;
}

namespace {

// The usage, one piece per command, so that `alphareq COMMAND --help` can print its own.
constexpr const char* kFileUsage =
    R"(  alphareq FEATURES.npy [options]   alpha of a (samples x features) float32/float64 .npy
  alphareq demo [demo options] [options]
                                    alpha of built-in synthetic features of known alpha
  alphareq                          same as 'alphareq demo'
)";

constexpr const char* kProbeUsage =
    R"(  alphareq probe --train X.npy --train-labels Y.npy --test X.npy --test-labels Y.npy
                 [--epochs E (100)] [--optimizer sgd|adam] [--batch-size B (256)] [--lr R]
                 [--momentum M (0.9; sgd)] [--weight-decay W] [--seed S] [--classes C]
                 [--backend auto|cpu|cuda] [--json]
                                    train and time a linear probe (labels: int32/int64 .npy;
                                    C: 1 + the largest training label unless given)
)";

constexpr const char* kLayersUsage =
    R"(  alphareq layers A.npy B.npy ... [--plot F.svg|F.png] [--json] [--first R] [--last R]
                  [--method weighted|ols] [--backend auto|cpu|cuda]
                                    alpha and R^2 of each layer (same samples) in one pass
)";

constexpr const char* kTable1Usage =
    R"(  alphareq table1 [--quick] [--datasets CIFAR10,STL10,ImageNet] [--repeats R (3)]
                  [--backend auto|cpu|cuda] [--cpu-epochs E (2)] [--seed S (0)]
                                    the paper's Table 1: time to alpha vs. a linear probe
)";

constexpr const char* kSelectUsage =
    R"(  alphareq select CANDIDATES.json [--top-k K (3)] [--zone MIN,MAX (0.8,1.2)]
                  [--interval MIN,MAX (0,inf)] [--backend auto|cpu|cuda] [--first R]
                  [--last R] [--json]
                                    rank models by alpha's distance to the Goldilocks zone;
                                    with accuracies, one round of the paper's Algorithm 1
)";

constexpr const char* kSyntheticUsage =
    R"(  alphareq synthetic [--d D (2000)] [--n N (400)] [--test-n M (2000)] [--alphas A,B,...]
                     [--noise S (0.1)] [--steps T (2000)] [--lr-scale F (1)]
                     [--teacher fixed-task|isotropic] [--task-decay B (1)] [--seed S]
                     [--threshold F (0.01)] [--checkpoints T1,T2,...] [--curves]
                     [--backend auto|cpu|cuda] [--plot F.svg|F.png] [--json]
                                    the paper's Figure 2: gradient descent on power-law
                                    covariates, train and test MSE per alpha
)";

constexpr const char* kOptionsUsage = R"(Options:
  --first R              first 1-based rank of the fit window (default 11)
  --last R               last rank of the fit window (default 100; at least --first + 2;
                         clipped to the numerical rank, and the clipping is reported)
  --method weighted|ols  weighted: least squares with weight 1/rank (default); ols: unweighted
  --backend auto|cpu|cuda
  --normalization n|n-1  covariance divided by n (default, the paper's) or n - 1
  --precision float64|float32
                         precision of each batch's product (the running sum is float64)
  --deterministic        bit-identical results run to run on the CUDA backend too (same
                         input, options, GPU model, driver and toolkit), even beside other
                         GPU work; costs a 32 MiB cuBLAS workspace. The CPU backend is
                         deterministic for a fixed OpenBLAS thread count.
  --json                 print one JSON object instead of text
  --eigenvalues-out F    write all eigenvalues (descending, float64) to the .npy file F
  --plot F.svg|F.png     draw the spectrum, log-log, with the fitted line (PNG: rsvg-convert;
                         another extension is a usage error)
  --bootstrap B          B resamples of the samples for a confidence interval of alpha
  --bootstrap-seed S     (0)   --confidence C   (0.95)
  --quiet                no notices and no progress bar on stderr
  --help, --version      (--help, or -h, after a command: that command's usage)

Demo options (the demo only; with FEATURES.npy they are a usage error):
  --n N (20000)  --d D (512)  --alpha A (1.0)  --seed S (0)  --offset O (1000)
)";

constexpr const char* kExitStatus =
    "Exit status: 0 on success, 1 on bad input or a failure, 2 on a usage error.\n";

}  // namespace

std::string usage_text() {
  return std::string("alphareq: eigenspectrum decay coefficient (alpha-ReQ) of neural "
                     "representations\n\nUsage:\n") +
         kFileUsage + kProbeUsage + kLayersUsage + kTable1Usage + kSelectUsage + kSyntheticUsage +
         "\n" + kOptionsUsage + "\n" + kExitStatus;
}

std::string command_usage_text(const std::string& command) {
  const std::pair<const char*, const char*> sections[] = {
      {"probe", kProbeUsage},   {"layers", kLayersUsage},       {"table1", kTable1Usage},
      {"select", kSelectUsage}, {"synthetic", kSyntheticUsage}};
  for (const auto& [name, section] : sections) {
    if (command == name) {
      // The options a command shares with a features file are described once, there.
      return std::string("Usage:\n") + section +
             "\nOptions named as for a features file (--first, --last, --method, --backend,\n"
             "--plot, --json, --quiet) are described in 'alphareq --help'.\n\n" +
             kExitStatus;
    }
  }
  return usage_text();
}

}  // namespace alphareq::cli
