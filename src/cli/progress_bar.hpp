#pragma once
// A one-line progress bar on stderr for long inputs, drawn only when stderr is a terminal.

#include <chrono>
#include <cstdint>

namespace alphareq::cli {

class ProgressBar {
 public:
  /// Draws nothing unless `enabled`, stderr is a terminal and the input is at least
  /// `min_bytes` long (short inputs finish before a bar would help).
  explicit ProgressBar(bool enabled, std::uint64_t min_bytes = std::uint64_t{64} << 20);
  ~ProgressBar();
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  bool enabled_;
  std::uint64_t min_bytes_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace alphareq::cli
