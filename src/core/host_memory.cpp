#include "core/host_memory.hpp"

#include <cstdio>
#include <unistd.h>

namespace alphareq::detail {

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 5) {
    bytes /= 1024.0;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

void require_host_memory(double bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: let the allocation decide
  const double physical = static_cast<double>(pages) * static_cast<double>(page_size);
  if (bytes > physical) {
    throw out_of_memory(what + " needs " + format_bytes(bytes) +
                        " of host memory, more than this machine has (" +
                        format_bytes(physical) + ")");
  }
}

}  // namespace alphareq::detail
