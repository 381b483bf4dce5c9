#pragma once
// `alphareq probe` (train and time a linear probe on labelled .npy features) and
// `alphareq table1` (the paper's Table 1: α against a linear probe, timed).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace alphareq::cli {

/// Runs `alphareq probe ARGS...`; returns the exit status. Throws UsageError for bad
/// arguments and alphareq::error for bad input.
int run_probe_command(const std::vector<std::string>& args);

/// Runs `alphareq table1 ARGS...`; returns the exit status.
int run_table1_command(const std::vector<std::string>& args);

/// Runs `alphareq layers A.npy B.npy ... [options]`; returns the exit status.
int run_layers_command(const std::vector<std::string>& args);

/// Parses `--name value` / `--name=value` pairs and flags into a map-like list; throws
/// UsageError for an option not in `valued` or `flags`, a valued option given twice or
/// with an empty value, a flag given a value, and a value that is missing (see
/// next_word_value). `--help` and `-h` are known to
/// every command: they set `help`, and the command prints its usage instead of running.
struct OptionList {
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> flags;
  std::vector<std::string> positional;  // arguments that are not options
  bool help = false;                    // --help or -h was given
  bool has_flag(const std::string& name) const;
  /// The value of `name`, or `fallback` when absent.
  std::string value(const std::string& name, const std::string& fallback = "") const;
  std::int64_t integer(const std::string& name, std::int64_t fallback) const;
  double real(const std::string& name, double fallback) const;
  /// The seed `name` (parse_seed), or 0 when absent.
  std::uint64_t seed(const std::string& name) const;
};
OptionList parse_option_list(const std::vector<std::string>& args,
                             const std::vector<std::string>& valued,
                             const std::vector<std::string>& flags);

/// When `list` asked for help: prints `command`'s usage (command_usage_text) to stdout and
/// returns true, and the command returns 0 without running.
bool printed_usage(const OptionList& list, const std::string& command);

}  // namespace alphareq::cli
