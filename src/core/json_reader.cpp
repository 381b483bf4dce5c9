#include "core/json_reader.hpp"

#include <alphareq/error.hpp>

#include <cerrno>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace alphareq::detail {

const JsonValue* JsonValue::find(const std::string& key) const {
  for (const auto& [name, value] : object) {
    if (name == key) return &value;
  }
  return nullptr;
}

const char* json_kind_name(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::null: return "null";
    case JsonValue::Kind::boolean: return "boolean";
    case JsonValue::Kind::number: return "number";
    case JsonValue::Kind::string: return "string";
    case JsonValue::Kind::array: return "array";
    case JsonValue::Kind::object: return "object";
  }
  return "value";
}

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  Parser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  JsonValue parse_document() {
    // A UTF-8 byte order mark, as Windows editors write it: RFC 8259 lets readers ignore it.
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = line_start_ = 3;
    skip_whitespace();
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (pos_ < text_.size()) fail("unexpected " + describe_here() + " after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(line_, column(), what); }

  [[noreturn]] void fail_at(std::int64_t line, std::int64_t col, const std::string& what) const {
    throw file_error(source_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  std::int64_t column() const { return static_cast<std::int64_t>(pos_ - line_start_) + 1; }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  std::string describe_here() const {
    if (at_end()) return "end of file";
    const unsigned char c = static_cast<unsigned char>(peek());
    if (c < 0x20 || c >= 0x7f) {
      char buffer[16];
      std::snprintf(buffer, sizeof buffer, "byte 0x%02x", c);
      return buffer;
    }
    return std::string("'") + peek() + "'";
  }

  void skip_whitespace() {
    while (!at_end()) {
      const char c = peek();
      if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  void expect_literal(const char* word) {
    const std::size_t start = pos_;
    for (const char* p = word; *p != '\0'; ++p, ++pos_) {
      if (at_end() || peek() != *p) {
        pos_ = start;
        fail("unexpected " + describe_here() + " (expected a JSON value)");
      }
    }
  }

  JsonValue parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    JsonValue value;
    value.line = line_;
    value.column = column();
    if (at_end()) fail("unexpected end of file (expected a JSON value)");
    switch (peek()) {
      case '{': parse_object(value, depth); break;
      case '[': parse_array(value, depth); break;
      case '"':
        value.kind = JsonValue::Kind::string;
        value.string = parse_string();
        break;
      case 't':
        expect_literal("true");
        value.kind = JsonValue::Kind::boolean;
        value.boolean = true;
        break;
      case 'f':
        expect_literal("false");
        value.kind = JsonValue::Kind::boolean;
        break;
      case 'n': expect_literal("null"); break;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
          value.kind = JsonValue::Kind::number;
          value.number = parse_number();
        } else {
          fail("unexpected " + describe_here() + " (expected a JSON value)");
        }
    }
    return value;
  }

  void parse_object(JsonValue& value, int depth) {
    value.kind = JsonValue::Kind::object;
    ++pos_;  // '{'
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_whitespace();
      if (at_end() || peek() != '"') fail("expected a string key, got " + describe_here());
      const std::int64_t key_line = line_, key_column = column();
      std::string key = parse_string();
      if (value.find(key) != nullptr) fail_at(key_line, key_column, "duplicate key \"" + key + "\"");
      skip_whitespace();
      if (at_end() || peek() != ':') fail("expected ':' after a key, got " + describe_here());
      ++pos_;
      skip_whitespace();
      JsonValue member = parse_value(depth + 1);
      value.object.emplace_back(std::move(key), std::move(member));
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!at_end() && peek() == '}') {
        ++pos_;
        return;
      }
      fail("expected ',' or '}' in an object, got " + describe_here());
    }
  }

  void parse_array(JsonValue& value, int depth) {
    value.kind = JsonValue::Kind::array;
    ++pos_;  // '['
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_whitespace();
      value.array.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!at_end() && peek() == ']') {
        ++pos_;
        return;
      }
      fail("expected ',' or ']' in an array, got " + describe_here());
    }
  }

  unsigned hex_quad() {
    unsigned code = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (at_end()) fail("unexpected end of file in a \\u escape");
      const char c = peek();
      code <<= 4;
      if (c >= '0' && c <= '9') code |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') code |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') code |= static_cast<unsigned>(c - 'A' + 10);
      else fail("expected a hexadecimal digit in a \\u escape, got " + describe_here());
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("control character " + describe_here() + " in a string (escape it)");
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) fail("unterminated string");
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const std::int64_t escape_column = column() - 2;
          unsigned code = hex_quad();
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (text_.compare(pos_, 2, "\\u") != 0) {
              fail_at(line_, escape_column, "unpaired UTF-16 surrogate in a \\u escape");
            }
            pos_ += 2;
            const unsigned low = hex_quad();
            if (low < 0xDC00 || low > 0xDFFF) {
              fail_at(line_, escape_column, "unpaired UTF-16 surrogate in a \\u escape");
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            fail_at(line_, escape_column, "unpaired UTF-16 surrogate in a \\u escape");
          }
          append_utf8(out, code);
          break;
        }
        default:
          --pos_;
          fail("invalid escape '\\" + std::string(1, e) + "' in a string");
      }
    }
  }

  double parse_number() {
    const std::size_t start = pos_;
    const std::int64_t start_column = column();
    auto digits = [this]() {
      const std::size_t first = pos_;
      while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - first;
    };
    if (peek() == '-') ++pos_;
    if (at_end() || !(peek() >= '0' && peek() <= '9')) fail("expected a digit, got " + describe_here());
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && peek() >= '0' && peek() <= '9') {
        fail_at(line_, start_column, "leading zeros are not allowed in numbers");
      }
    } else {
      digits();
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (digits() == 0) fail("expected a digit after the decimal point, got " + describe_here());
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (digits() == 0) fail("expected a digit in the exponent, got " + describe_here());
    }
    // The grammar above is JSON's; strtod reads the same text (it accepts a superset).
    // JSON numbers use '.', whatever the C locale says: swap it in if the locale differs.
    std::string literal = text_.substr(start, pos_ - start);
    const char point = *std::localeconv()->decimal_point;
    if (point != '.') {
      for (char& c : literal) {
        if (c == '.') c = point;
      }
    }
    errno = 0;
    const double number = std::strtod(literal.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(number)) {
      fail_at(line_, start_column, "number " + text_.substr(start, pos_ - start) + " is out of range");
    }
    return number;  // underflow to 0 or a subnormal is kept, as other JSON readers do
  }

  const std::string& text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::int64_t line_ = 1;
};

}  // namespace

JsonValue parse_json(const std::string& text, const std::string& source) {
  return Parser(text, source).parse_document();
}

JsonValue read_json_file(const std::string& path) {
  // stdio, not a stream: `text << file.rdbuf()` records a failed read (a directory, EIO) on
  // the string stream, and the file then read as empty ("unexpected end of file").
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw file_error(path + ": cannot open the file: " + std::strerror(errno));
  // A bound on what is read: `select /dev/zero` (or an endless pipe) otherwise grew until
  // memory ran out. 256 MiB of JSON is millions of candidates.
  constexpr std::size_t kMaxBytes = std::size_t{256} << 20;
  std::string text;
  char block[65536];
  std::size_t got;
  while ((got = std::fread(block, 1, sizeof block, file)) > 0) {
    text.append(block, got);
    if (text.size() > kMaxBytes) {
      std::fclose(file);
      throw file_error(path + ": more than 256 MiB: too large for a JSON file of candidates (a device, "
                       "or an endless stream?)");
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw file_error(path + ": cannot read the file: " + std::strerror(error));
  return parse_json(text, path);
}

}  // namespace alphareq::detail
