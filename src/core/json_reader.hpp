#pragma once
// A small, strict JSON reader (RFC 8259) for the tool's input files: objects, arrays,
// strings with every escape (\uXXXX surrogate pairs become UTF-8), numbers, true, false and
// null. Nothing else is accepted: no comments, no trailing commas, no NaN/Infinity, no
// leading zeros, no control characters inside strings, no duplicate keys, nothing after
// the top-level value. Errors throw alphareq::file_error as "SOURCE:LINE:COLUMN: what"
// (1-based, columns count bytes), so a user can go straight to the mistake.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace alphareq::detail {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<JsonValue> array;
  /// Members in file order (keys are unique: a duplicate is a parse error).
  std::vector<std::pair<std::string, JsonValue>> object;
  /// Where the value starts in the source (1-based), for the caller's own error messages.
  std::int64_t line = 0;
  std::int64_t column = 0;

  /// The member named `key` of an object, or nullptr.
  const JsonValue* find(const std::string& key) const;
};

/// "null", "boolean", "number", "string", "array" or "object".
const char* json_kind_name(JsonValue::Kind kind);

/// Parses `text`; `source` names it in error messages (a file path, say). Nesting deeper
/// than 256 levels is refused (an error, not a stack overflow).
JsonValue parse_json(const std::string& text, const std::string& source);

/// Reads and parses a whole file; throws file_error when it cannot be read or holds more
/// than 256 MiB (a device or an endless stream would otherwise fill the memory).
JsonValue read_json_file(const std::string& path);

}  // namespace alphareq::detail
