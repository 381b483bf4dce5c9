#include "cli/progress_bar.hpp"

#include <cstdio>
#include <unistd.h>

namespace alphareq::cli {

ProgressBar::ProgressBar(bool enabled, std::uint64_t min_bytes)
    : enabled_(enabled && isatty(fileno(stderr)) == 1),
      min_bytes_(min_bytes),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total < min_bytes_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redrawing more than ~10 times a second costs time and shows nothing more.
  if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  // 30 keeps the line within 80 columns (files up to 9 TiB read at up to 99999 MiB/s): a
  // wrapped line would leave its first part behind at each redraw.
  constexpr int kWidth = 30;
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double mib_per_s = seconds > 0 ? static_cast<double>(done) / (1 << 20) / seconds : 0.0;
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  std::fprintf(stderr, "\r[%s] %5.1f%%  %.0f / %.0f MiB  %.0f MiB/s\033[K", bar, 100.0 * fraction,
               static_cast<double>(done) / (1 << 20), static_cast<double>(total) / (1 << 20),
               mib_per_s);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) {
    std::fputs("\r\033[K", stderr);  // erase the bar so the report starts on a clean line
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace alphareq::cli
