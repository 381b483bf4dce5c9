#pragma once
// Renders an AlphaReport as human-readable text or as one JSON object.

#include <alphareq/spectrum.hpp>

#include <optional>
#include <string>

namespace alphareq::cli {

/// What the CLI knows beside the report itself.
struct ReportContext {
  std::string source;                 // file path, or "demo"
  std::string normalization;          // "n" or "n-1"
  double computed_ms = 0.0;           // reading or generating, and the stages; no output
  double wall_ms = 0.0;               // whole run as the user waited for it
  std::optional<double> true_alpha;   // demo: the α the data were generated with
};

std::string format_text(const AlphaReport& report, const ReportContext& context);
std::string format_json(const AlphaReport& report, const ReportContext& context);

}  // namespace alphareq::cli
