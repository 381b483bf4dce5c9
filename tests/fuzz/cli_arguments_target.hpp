#pragma once
// The command-line fuzz target: the input, split at whitespace into argv words, goes where
// the tool's main() sends it: `probe ...` and `table1 ...` to cli::parse_option_list (with
// those commands' options), anything else to cli::parse_arguments. Parsing must either
// return arguments the tool can act on or throw the tool's usage error (UsageError) or an
// alphareq::error; anything else escaping (std::out_of_range, std::bad_alloc, ...) or a
// sanitizer report is a finding.
// Shared by cli_arguments_fuzzer.cpp and tests/hardening/fuzz_regression_test.cpp.

#include <algorithm>
#include <alphareq/error.hpp>
#include <string>
#include <vector>

#include "cli/arguments.hpp"
#include "cli/probe_command.hpp"
#include "fuzz_check.hpp"

namespace alphareq::fuzz {

/// Words of `data` separated by ASCII whitespace or NUL (so a word holds any other byte).
inline std::vector<std::string> split_words(const unsigned char* data, std::size_t size) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned char c = data[i];
    const bool separator =
        c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    if (separator) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += static_cast<char>(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

namespace cli_detail {

// `alphareq probe` / `alphareq table1`: their option lists as probe_command.cpp and
// table1_command.cpp declare them, and every typed lookup those commands make.
inline void run_option_list(const std::vector<std::string>& words) {
  const bool probe = words[0] == "probe";
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  const std::vector<std::string> valued =
      probe ? std::vector<std::string>{"--train",       "--train-labels", "--test",
                                       "--test-labels", "--epochs",       "--optimizer",
                                       "--batch-size",  "--lr",           "--weight-decay",
                                       "--seed",        "--backend",      "--classes"}
            : std::vector<std::string>{"--backend", "--repeats", "--seed", "--cpu-epochs",
                                       "--datasets"};
  const std::vector<std::string> flags = probe ? std::vector<std::string>{"--json", "--quiet"}
                                               : std::vector<std::string>{"--quick", "--quiet"};
  cli::OptionList list;
  try {
    list = cli::parse_option_list(rest, valued, flags);
  } catch (const cli::UsageError& e) {
    ALPHAREQ_FUZZ_CHECK(e.what()[0] != '\0');
    return;
  }
  for (std::size_t i = 0; i < list.values.size(); ++i) {
    const std::string& name = list.values[i].first;
    const std::string& text = list.values[i].second;
    ALPHAREQ_FUZZ_CHECK(std::find(valued.begin(), valued.end(), name) != valued.end());
    const bool first = std::none_of(list.values.begin(), list.values.begin() + i,
                                    [&](const auto& entry) { return entry.first == name; });
    // A word holds no whitespace, so " absent " cannot be a value.
    if (first) ALPHAREQ_FUZZ_CHECK(list.value(name, " absent ") == text);
  }
  for (const std::string& flag : list.flags) {
    ALPHAREQ_FUZZ_CHECK(std::find(flags.begin(), flags.end(), flag) != flags.end());
    ALPHAREQ_FUZZ_CHECK(list.has_flag(flag));
  }
  for (const std::string& name : valued) {
    try {
      (void)list.integer(name, 7);
    } catch (const cli::UsageError&) {
    }
    try {
      (void)list.real(name, 0.5);
    } catch (const cli::UsageError&) {
    }
  }
}

}  // namespace cli_detail

inline int run_cli_arguments_input(const unsigned char* data, std::size_t size) {
  const std::vector<std::string> words = split_words(data, size);
  if (!words.empty() && (words[0] == "probe" || words[0] == "table1")) {
    cli_detail::run_option_list(words);
    return 0;
  }
  cli::Arguments parsed;
  try {
    parsed = cli::parse_arguments(words);
  } catch (const cli::UsageError& e) {
    ALPHAREQ_FUZZ_CHECK(e.what()[0] != '\0');  // a message the user can read
    return 0;
  } catch (const alphareq::error& e) {
    ALPHAREQ_FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  // What a successful parse promises main().
  using cli::Command;
  ALPHAREQ_FUZZ_CHECK(parsed.command == Command::analyze_file || parsed.command == Command::demo ||
                      parsed.command == Command::help || parsed.command == Command::version);
  if (parsed.command == Command::analyze_file) {
    ALPHAREQ_FUZZ_CHECK(!parsed.features_path.empty());
    ALPHAREQ_FUZZ_CHECK(parsed.features_path.rfind("--", 0) != 0);
  }
  const AlphaOptions& o = parsed.options;
  ALPHAREQ_FUZZ_CHECK(o.fit.method == FitMethod::weighted || o.fit.method == FitMethod::ols);
  ALPHAREQ_FUZZ_CHECK(o.normalization == Normalization::by_n ||
                      o.normalization == Normalization::by_n_minus_one);
  ALPHAREQ_FUZZ_CHECK(o.accumulator.backend == Backend::automatic ||
                      o.accumulator.backend == Backend::cpu ||
                      o.accumulator.backend == Backend::cuda);
  ALPHAREQ_FUZZ_CHECK(o.accumulator.precision == AccumulationPrecision::float64 ||
                      o.accumulator.precision == AccumulationPrecision::float32);
  // usage_text() is what --help prints.
  if (parsed.command == Command::help) ALPHAREQ_FUZZ_CHECK(!cli::usage_text().empty());
  return 0;
}

}  // namespace alphareq::fuzz
