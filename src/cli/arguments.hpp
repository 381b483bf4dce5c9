#pragma once
// Command-line parsing of the alphareq tool. Usage errors throw UsageError; main()
// turns them into exit status 2 and a one-line message.

#include <alphareq/alpha.hpp>
#include <alphareq/synthetic.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace alphareq::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Command { analyze_file, demo, help, version };

struct Arguments {
  Command command = Command::demo;
  std::string features_path;        // analyze_file
  SyntheticSpec demo;               // demo
  AlphaOptions options;
  bool json = false;
  bool quiet = false;               // no notices, no progress bar
  std::string eigenvalues_out;      // empty: do not write
  std::string plot;                 // .svg or .png picture of the spectrum; empty: none
};

/// `text` as a whole integer (or real number), or UsageError naming `option`.
std::int64_t parse_integer(const std::string& option, const std::string& text);
double parse_real(const std::string& option, const std::string& text);
/// `text` as a seed: any unsigned 64-bit integer (the full range the reports print), or
/// UsageError naming `option`; a negative number is refused rather than wrapped.
std::uint64_t parse_seed(const std::string& option, const std::string& text);

/// The value of `option` taken from the next word on the line: UsageError when that word
/// is missing or is itself an option ("--out --json" would otherwise write a file named
/// --json); `--option=--value` still passes such a value.
std::string next_word_value(const std::string& option, const std::vector<std::string>& words,
                            std::size_t& i);

/// Throws UsageError naming --first and --last when their window cannot be fitted whatever
/// the data: first below 1, last below first, or fewer than 3 ranks. (The library refuses
/// these too, but as bad input; on the command line they are usage errors, found before any
/// file is read.) A window that only the data's D clips is left to the fit.
void check_fit_window_options(const FitOptions& fit);

/// Throws UsageError naming `option` and `path` unless `path` ends in .svg or .png (either
/// case), the pictures save_picture writes; checked before any data is read.
void check_picture_option(const std::string& option, const std::string& path);

/// Parses argv[1..]. Throws UsageError with a message naming the offending argument.
Arguments parse_arguments(const std::vector<std::string>& args);

/// The --help text.
std::string usage_text();

/// The usage of one command (`probe`, `layers`, `table1`, `select` or `synthetic`): its
/// section of usage_text() and the exit status; the whole usage for any other name.
std::string command_usage_text(const std::string& command);

}  // namespace alphareq::cli
