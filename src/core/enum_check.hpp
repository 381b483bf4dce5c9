#pragma once
// C++ callers can put any integer into an enum class (static_cast<Backend>(7), an options
// struct read from raw bytes): such a value is refused, as the C API refuses it, rather
// than treated as whichever case a comparison happens to fall to.

#include <alphareq/error.hpp>

#include <string>

namespace alphareq::detail {

/// Throws invalid_input ("WHAT: unknown value N") unless `value` is one of the enumerators
/// 0..last (every enum checked this way numbers its enumerators from 0 without gaps).
template <typename Enum>
void require_known_value(Enum value, Enum last, const char* what) {
  const long long raw = static_cast<long long>(value);
  if (raw < 0 || raw > static_cast<long long>(last)) {
    throw invalid_input(std::string(what) + ": unknown value " + std::to_string(raw));
  }
}

}  // namespace alphareq::detail
