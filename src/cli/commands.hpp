#pragma once
// `alphareq select` (model selection with α, the paper's Algorithm 1) and
// `alphareq synthetic` (the paper's Figure 2: gradient descent on power-law covariates).

#include <string>
#include <vector>

namespace alphareq::cli {

/// Runs `alphareq select CANDIDATES.json ARGS...`; returns the exit status. Throws
/// UsageError for bad arguments and alphareq::error for bad input.
int run_select_command(const std::vector<std::string>& args);

/// Runs `alphareq synthetic ARGS...`; returns the exit status.
int run_synthetic_command(const std::vector<std::string>& args);

}  // namespace alphareq::cli
