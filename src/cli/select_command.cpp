// `alphareq select CANDIDATES.json`: rank candidate models by the distance of α to the
// Goldilocks zone and, with measured accuracies, run one round of the paper's Algorithm 1.

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/formatted_line.hpp"
#include "cli/json_text.hpp"
#include "cli/probe_command.hpp"
#include "core/json_reader.hpp"

#include <alphareq/alphareq.hpp>
#include <alphareq/selection.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace alphareq::cli {
namespace {

using detail::JsonValue;

const std::vector<std::string> kValued = {"--top-k", "--zone", "--interval", "--backend", "--first",
                                          "--last"};
const std::vector<std::string> kFlags = {"--json", "--quiet"};

// A candidate as read from the file, with where its α came from.
struct Entry {
  ModelCandidate candidate;
  std::string features;  // empty when α was given
};

[[noreturn]] void fail_at(const std::string& path, const JsonValue& value, const std::string& what) {
  throw file_error(path + ":" + std::to_string(value.line) + ":" + std::to_string(value.column) +
                   ": " + what);
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::vector<Entry> read_candidates(const std::string& path) {
  const JsonValue document = detail::read_json_file(path);
  const JsonValue* list = &document;
  if (document.kind == JsonValue::Kind::object) {
    for (const auto& [key, value] : document.object) {
      if (key != "candidates") fail_at(path, value, "unknown key \"" + key + "\" (expected \"candidates\")");
    }
    list = document.find("candidates");
    if (list == nullptr) fail_at(path, document, "the object has no \"candidates\" array");
  }
  if (list->kind != JsonValue::Kind::array) {
    fail_at(path, *list, std::string("expected an array of candidates, got ") + detail::json_kind_name(list->kind));
  }
  if (list->array.empty()) fail_at(path, *list, "no candidates");
  std::vector<Entry> entries;
  for (const JsonValue& item : list->array) {
    if (item.kind != JsonValue::Kind::object) {
      fail_at(path, item, std::string("a candidate must be an object, got ") + detail::json_kind_name(item.kind));
    }
    Entry entry;
    const JsonValue *name = nullptr, *alpha = nullptr, *features = nullptr;
    for (const auto& [key, value] : item.object) {
      if (key == "name") {
        if (value.kind != JsonValue::Kind::string || value.string.empty()) fail_at(path, value, "\"name\" must be a non-empty string");
        name = &value;
      } else if (key == "alpha") {
        if (value.kind != JsonValue::Kind::number) fail_at(path, value, "\"alpha\" must be a number");
        // A fit of descending eigenvalues gives alpha >= 0; a negative one (a sign slip) was
        // dropped silently by Algorithm 1's starting interval [0, inf), however accurate.
        if (value.number < 0.0) fail_at(path, value, "\"alpha\" must be >= 0 (an eigenspectrum decay)");
        alpha = &value;
      } else if (key == "features") {
        if (value.kind != JsonValue::Kind::string || value.string.empty()) fail_at(path, value, "\"features\" must be a path (a non-empty string)");
        features = &value;
      } else if (key == "accuracy") {
        if (value.kind == JsonValue::Kind::number) entry.candidate.accuracy = value.number;
        else if (value.kind != JsonValue::Kind::null) fail_at(path, value, "\"accuracy\" must be a number or null");
      } else {
        fail_at(path, value, "unknown key \"" + key + "\" in a candidate (expected name, alpha, features, accuracy)");
      }
    }
    if (name == nullptr) fail_at(path, item, "a candidate needs a \"name\"");
    if ((alpha == nullptr) == (features == nullptr)) {
      fail_at(path, item, "candidate '" + name->string + "' needs exactly one of \"alpha\" and \"features\"");
    }
    entry.candidate.name = name->string;
    if (alpha != nullptr) entry.candidate.alpha = alpha->number;
    if (features != nullptr) {
      entry.features = features->string[0] == '/' ? features->string : directory_of(path) + features->string;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

AlphaInterval parse_interval(const std::string& option, const std::string& text) {
  const auto comma = text.find(',');
  auto number = [&](const std::string& part) {
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || errno == ERANGE || std::isnan(value)) {
      throw UsageError(option + " expects MIN,MAX (numbers; MAX may be inf), got '" + text + "'");
    }
    return value;
  };
  if (comma == std::string::npos) throw UsageError(option + " expects MIN,MAX, got '" + text + "'");
  const AlphaInterval interval{number(text.substr(0, comma)), number(text.substr(comma + 1))};
  if (interval.min > interval.max) throw UsageError(option + ": MIN is larger than MAX in '" + text + "'");
  return interval;
}


// JSON has no infinity: an unbounded end is null (json_number); text writes inf.
std::string text_number(double value, const char* format = "%.4f") {
  return signless_zero_number(value, format);
}

std::string interval_text(const AlphaInterval& interval) {
  return "[" + text_number(interval.min) + ", " + text_number(interval.max) + "]";
}

std::string interval_json(const AlphaInterval& interval) {
  return "{\"min\": " + json_number(interval.min) + ", \"max\": " + json_number(interval.max) +
         ", \"empty\": " + (interval.empty() ? "true" : "false") + "}";
}

void print_text(const std::string& path, const std::vector<Entry>& entries, const SelectionOptions& options,
                const SelectionResult& result) {
  std::size_t measured = 0;
  for (const Entry& e : entries) measured += e.candidate.accuracy.has_value();
  std::ostringstream out;
  out << "alphareq select: " << entries.size() << " candidates from " << path << ", " << measured
      << " with a measured accuracy\n";
  if (result.zone_from_accuracies) {
    out << "  Algorithm 1 interval  " << interval_text(result.state.interval) << "   (from "
        << interval_text(options.interval) << ", top K = " << options.top_k << ")\n";
    if (result.state.interval.empty()) {
      out << "  note: the interval is empty (alpha_min > alpha_max): the top accuracy is tied between\n"
             "        models of different alpha, and Algorithm 1 admits no further model\n";
    }
  } else {
    out << "  no accuracies: ranking against the default Goldilocks zone " << interval_text(result.zone) << "\n";
  }
  out << "\n   rank  name                      alpha   accuracy   distance  in zone  alpha from\n";
  for (std::size_t i = 0; i < result.ranking.size(); ++i) {
    const RankedCandidate& r = result.ranking[i];
    const Entry& entry = entries[r.input_index];
    out << formatted_line("  %5zu  %-22s  %7.4f  %9s  %9.4f  %-7s  %s\n", i + 1,
                          r.candidate.name.c_str(), r.candidate.alpha,
                          r.candidate.accuracy ? text_number(*r.candidate.accuracy, "%.4g").c_str() : "-",
                          r.distance, result.zone.contains(r.candidate.alpha) ? "yes" : "no",
                          entry.features.empty() ? "given" : entry.features.c_str());
  }
  out << "\n  chosen";
  out << (result.zone_from_accuracies ? " (Algorithm 1: the top K measured models, most accurate first):\n"
                                      : " (the K candidates nearest the zone):\n");
  if (result.chosen.empty()) out << "    none\n";
  for (const ModelCandidate& c : result.chosen) {
    out << "    " << c.name << "   alpha " << text_number(c.alpha);
    if (c.accuracy) out << ", accuracy " << text_number(*c.accuracy, "%.4g");
    out << "\n";
  }
  std::cout << out.str();
}

void print_json(const std::vector<Entry>& entries, const SelectionOptions& options,
                const SelectionResult& result) {
  std::ostringstream out;
  out << "{\"top_k\": " << options.top_k << ", \"zone_from_accuracies\": "
      << (result.zone_from_accuracies ? "true" : "false") << ", \"zone\": " << interval_json(result.zone)
      << ", \"previous_interval\": " << interval_json(options.interval)
      << ", \"interval\": " << interval_json(result.state.interval) << ", \"ranking\": [";
  for (std::size_t i = 0; i < result.ranking.size(); ++i) {
    const RankedCandidate& r = result.ranking[i];
    const Entry& entry = entries[r.input_index];
    out << (i ? ", " : "") << "{\"rank\": " << i + 1 << ", \"name\": " << json_string(r.candidate.name)
        << ", \"alpha\": " << json_number(r.candidate.alpha) << ", \"accuracy\": "
        << (r.candidate.accuracy ? json_number(*r.candidate.accuracy) : "null")
        << ", \"distance\": " << json_number(r.distance)
        << ", \"in_zone\": " << (result.zone.contains(r.candidate.alpha) ? "true" : "false") << ", \"features\": "
        << (entry.features.empty() ? "null" : json_string(entry.features)) << "}";
  }
  out << "], \"chosen\": [";
  for (std::size_t i = 0; i < result.chosen.size(); ++i) {
    out << (i ? ", " : "") << json_string(result.chosen[i].name);
  }
  out << "]}\n";
  std::cout << out.str();
}

}  // namespace

int run_select_command(const std::vector<std::string>& args) {
  // The one positional argument is the candidates file; the rest are options.
  const OptionList list = parse_option_list(args, kValued, kFlags);
  if (printed_usage(list, "select")) return 0;
  if (list.positional.size() != 1) {
    throw UsageError("select expects one candidates file (select CANDIDATES.json [options]), got " +
                     std::to_string(list.positional.size()));
  }
  const bool quiet = list.has_flag("--quiet");
  SelectionOptions options;
  const std::int64_t top_k = list.integer("--top-k", 3);
  if (top_k < 1) throw UsageError("--top-k must be at least 1");
  options.top_k = static_cast<std::size_t>(top_k);
  if (!list.value("--zone").empty()) options.default_zone = parse_interval("--zone", list.value("--zone"));
  if (!list.value("--interval").empty()) options.interval = parse_interval("--interval", list.value("--interval"));
  AlphaOptions alpha_options;
  try {
    alpha_options.accumulator.backend = parse_backend(list.value("--backend", "auto"));
  } catch (const invalid_input& e) {
    throw UsageError(std::string("--backend: ") + e.what());
  }
  alpha_options.fit.first_rank = list.integer("--first", alpha_options.fit.first_rank);
  alpha_options.fit.last_rank = list.integer("--last", alpha_options.fit.last_rank);
  check_fit_window_options(alpha_options.fit);

  const std::string& path = list.positional[0];
  std::vector<Entry> entries = read_candidates(path);
  bool backend_checked = false;
  for (Entry& entry : entries) {
    if (entry.features.empty()) continue;
    if (!backend_checked) {
      std::string notice;
      resolve_backend(alpha_options.accumulator.backend, &notice);
      if (!notice.empty() && !quiet) std::cerr << "alphareq: notice: " << notice << "\n";
      backend_checked = true;
    }
    const AlphaReport report = compute_alpha_npy(entry.features, alpha_options);
    if (report.fit.clipped && !quiet) {
      std::cerr << "alphareq: notice: " << entry.candidate.name << ": " << report.fit.clip_reason << "\n";
    }
    entry.candidate.alpha = report.fit.alpha;
  }
  std::vector<ModelCandidate> candidates;
  for (const Entry& entry : entries) candidates.push_back(entry.candidate);
  const SelectionResult result = select_models(candidates, options);
  if (list.has_flag("--json")) print_json(entries, options, result);
  else print_text(path, entries, options, result);
  return 0;
}

}  // namespace alphareq::cli
