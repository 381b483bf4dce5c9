#pragma once
// Strings and numbers as JSON literals, for every command's --json output, and the
// number formatting its text output shares.

#include <string>

namespace alphareq::cli {

/// `text` quoted and escaped for JSON: quotes, backslashes and control characters escaped,
/// and any byte that is not part of valid UTF-8 (a file name from a Latin-1 file system,
/// say) replaced by U+FFFD, so that the output stays valid JSON, which must be UTF-8.
std::string json_string(const std::string& text);

/// `value` printed with the printf `format`, without the sign of a value that prints as
/// zero ("-0.0000" for a flat spectrum's α); NaN and infinities as printf spells them.
std::string signless_zero_number(double value, const char* format);

/// `value` as a JSON number (`format`'s default round-trips a double), or null when it is
/// NaN or infinite, which JSON cannot write.
std::string json_number(double value, const char* format = "%.17g");

}  // namespace alphareq::cli
