#pragma once
// printf-style formatting into a std::string of whatever length the values need: a table
// row with a long name or path must not be cut (a fixed char buffer cut its newline too,
// and the next row ran on).

#include <cstdarg>
#include <cstdio>
#include <string>

namespace alphareq::cli {

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
inline std::string formatted_line(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list measuring;
  va_copy(measuring, args);
  const int length = std::vsnprintf(nullptr, 0, format, measuring);
  va_end(measuring);
  std::string text(length > 0 ? static_cast<std::size_t>(length) : 0, '\0');
  if (length > 0) std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

}  // namespace alphareq::cli
