#pragma once
// A string as a JSON string literal, for every command's --json output.

#include <string>

namespace alphareq::cli {

/// `text` quoted and escaped for JSON: quotes, backslashes and control characters escaped,
/// and any byte that is not part of valid UTF-8 (a file name from a Latin-1 file system,
/// say) replaced by U+FFFD, so that the output stays valid JSON, which must be UTF-8.
std::string json_string(const std::string& text);

}  // namespace alphareq::cli
