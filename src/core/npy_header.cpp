// The header dict of a .npy file: a strict parser of the Python literal subset it uses,
// and its interpretation (dtype, byte order, memory order, shape).
// Format reference: numpy/lib/format.py.

#include "core/npy_header.hpp"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alphareq::detail {

[[noreturn]] void npy_fail(const std::string& path, const std::string& message) {
  throw file_error(path + ": " + message);
}

bool host_is_big_endian() {
  const std::uint16_t probe = 1;
  unsigned char first_byte = 0;
  std::memcpy(&first_byte, &probe, 1);
  return first_byte == 0;
}

namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Header text quoted in a message: one line of ASCII whatever the header holds, so the
// message stays valid UTF-8 (a latin-1 version 1.0 header need not be).
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

// ---- Header dict parser ---------------------------------------------------------------
// Recursive descent over the Python literal subset a .npy header uses (what
// ast.literal_eval accepts for it): quoted strings, integers, True/False, tuples, lists and
// one top-level dict. Syntax errors are reported by the caller as "mangled header".

struct HeaderSyntaxError {
  std::string message;
};

struct PyValue {
  enum class Kind { string, integer, boolean, tuple, list };
  Kind kind = Kind::string;
  std::string text;  // contents of a string
  std::int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;  // elements of a tuple or list
  std::string source;          // the literal as written, for error messages
};

using HeaderDict = std::vector<std::pair<std::string, PyValue>>;

class HeaderDictParser {
 public:
  explicit HeaderDictParser(const std::string& text) : text_(text) {}

  HeaderDict parse_dict() {
    expect('{');
    HeaderDict entries;
    while (more_items('}')) {
      const PyValue key = parse_value();
      if (key.kind != PyValue::Kind::string) error("dict key " + key.source + " is not a string");
      expect(':');
      entries.emplace_back(key.text, parse_value());
      end_of_item('}');
    }
    ++pos_;
    peek();
    if (pos_ < text_.size()) error("unexpected text after the closing '}'");
    return entries;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    throw HeaderSyntaxError{what + (pos_ >= text_.size()
                                        ? " (at the end of the header)"
                                        : " (at character " + std::to_string(pos_ + 1) + ")")};
  }

  // Skips whitespace; returns the next character, or '\0' at the end of the text.
  char peek() {
    while (pos_ < text_.size() && std::string_view(" \t\r\n").find(text_[pos_]) != npos) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  bool at(int (*is_class)(int)) const {
    return pos_ < text_.size() && is_class(static_cast<unsigned char>(text_[pos_])) != 0;
  }

  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++pos_;
  }

  // Whether another element follows in a dict, tuple or list closed by `close`.
  bool more_items(char close) {
    if (peek() == '\0') error(std::string("missing closing '") + close + "'");
    return peek() != close;
  }

  // After an element: a comma, or the closing bracket (left for more_items). Returns
  // whether there was a comma.
  bool end_of_item(char close) {
    if (peek() == ',') return ++pos_, true;
    if (peek() != close && peek() != '\0') {
      error(std::string("expected ',' or '") + close + "'");
    }
    return false;
  }

  PyValue parse_value() {
    const char c = peek();
    const std::size_t begin = pos_;
    PyValue value;
    if (c == '\'' || c == '"') {
      value.text = parse_string();
    } else if (c == '(' || c == '[') {
      value = parse_sequence();
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      value.kind = PyValue::Kind::integer;
      value.integer = parse_integer();
    } else if (text_.compare(pos_, 4, "True") == 0 || text_.compare(pos_, 5, "False") == 0) {
      value.kind = PyValue::Kind::boolean;
      value.boolean = c == 'T';
      pos_ += value.boolean ? 4 : 5;
      if (at(std::isalnum)) error("unexpected name");
    } else {
      error(c == '\0' ? "expected a value" : std::string("unexpected '") + c + "'");
    }
    value.source = text_.substr(begin, pos_ - begin);
    return value;
  }

  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string contents;
    while (pos_ < text_.size() && text_[pos_] != quote && text_[pos_] != '\n') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      contents += text_[pos_++];
    }
    if (pos_ >= text_.size() || text_[pos_] != quote) error("unterminated string");
    ++pos_;
    return contents;
  }

  std::int64_t parse_integer() {
    const bool negative = text_[pos_] == '-';
    pos_ += negative ? 1 : 0;
    if (!at(std::isdigit)) error("expected digits");
    std::int64_t magnitude = 0;
    while (at(std::isdigit)) {
      const int digit = text_[pos_++] - '0';
      if (magnitude > (kInt64Max - digit) / 10) error("integer too large");
      magnitude = magnitude * 10 + digit;
    }
    if (at(std::isalnum)) error("malformed integer");
    return negative ? -magnitude : magnitude;
  }

  // "(a, b)" and "[a, b]"; "(a)" is just a parenthesised a, as in Python.
  PyValue parse_sequence() {
    // Each level is a few stack frames: a header of nothing but brackets (a .npy header may
    // be 4 GiB) would overflow the stack. A real header nests 3 deep at most.
    if (++depth_ > kMaxNesting) {
      error("nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    const char close = text_[pos_++] == '(' ? ')' : ']';
    PyValue value;
    value.kind = close == ')' ? PyValue::Kind::tuple : PyValue::Kind::list;
    bool saw_comma = false;
    while (more_items(close)) {
      value.items.push_back(parse_value());
      saw_comma = end_of_item(close) || saw_comma;
    }
    ++pos_;
    --depth_;
    if (close == ')' && value.items.size() == 1 && !saw_comma) return value.items.front();
    return value;
  }

  static constexpr int kMaxNesting = 64;

  const std::string& text_;
  std::size_t pos_ = 0;
  int depth_ = 0;  // open brackets around the current position
};

// ---- Header interpretation ------------------------------------------------------------

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

// NumPy's name for a dtype it knows but alphareq cannot use ("int64" for "i8"), or "" if
// `type` (a descr without its byte order) names no dtype at all.
std::string unsupported_dtype_name(const std::string& type) {
  const std::string size = type.empty() ? "" : type.substr(1);
  const bool has_size = !size.empty() && size.size() <= 3 &&
                        size.find_first_not_of("0123456789") == npos;
  const std::string bits = has_size ? std::to_string(std::atoi(size.c_str()) * 8) : "";
  switch (type.empty() ? '\0' : type[0]) {
    case 'i': return has_size ? "int" + bits : "";
    case 'u': return has_size ? "uint" + bits : "";
    case 'f': return has_size ? "float" + bits : "";  // float16, float128 (longdouble)
    case 'c': return has_size ? "complex" + bits : "";
    case 'b': case '?': return "bool";  // in a descr '|b1' is bool; int8 is '|i1'
    case 'S': case 'a': return "bytes";
    case 'U': return "str";
    case 'V': return "void";
    case 'O': return "object";
    case 'M': return "datetime64";
    case 'm': return "timedelta64";
    default: return "";
  }
}

void parse_descr(const std::string& descr, NpyHeader& header, const std::string& path) {
  const bool has_order = !descr.empty() && std::string_view("<>=|").find(descr[0]) != npos;
  const char order = has_order ? descr[0] : '=';
  const std::string type = descr.substr(has_order ? 1 : 0);
  if (type == "f4" || type == "f8") {
    if (order == '|') {
      npy_fail(path, "invalid descr '" + printable(descr) +
                     "': byte order '|' is only valid for 1-byte types");
    }
    header.dtype = type == "f4" ? DType::float32 : DType::float64;
    header.big_endian = order == '>' || (order == '=' && host_is_big_endian());
    return;
  }
  const std::string name = unsupported_dtype_name(type);
  if (name.empty()) {
    npy_fail(path, "mangled header: descr '" + printable(descr) + "' is not a valid dtype");
  }
  npy_fail(path, "unsupported dtype '" + printable(descr) + "' (" + name +
                 "): only float32 and float64 are supported");
}

// a * b, or false if it would overflow int64 (a and b are non-negative).
bool checked_multiply(std::int64_t a, std::int64_t b, std::int64_t& product) {
  if (a != 0 && b > kInt64Max / a) return false;
  product = a * b;
  return true;
}

void set_shape(NpyHeader& header, const std::string& path) {
  const std::vector<std::int64_t>& shape = header.shape;
  const std::string text = shape_string(shape);
  if (shape.size() < 2) npy_fail(path, "needs a 2-D array (samples x features), got shape " + text);
  if (std::count(shape.begin(), shape.end(), 0) > 0) {
    npy_fail(path, "empty array: shape " + text + " has a zero dimension");
  }
  if (shape[0] == 1) npy_fail(path, "needs at least 2 samples (rows), got shape " + text);
  std::int64_t cols = 1;
  std::int64_t bytes = 0;
  bool fits = true;
  for (std::size_t d = 1; d < shape.size(); ++d) {
    fits = fits && checked_multiply(cols, shape[d], cols);
  }
  fits = fits && checked_multiply(shape[0], cols, bytes) &&
         checked_multiply(bytes, static_cast<std::int64_t>(size_of(header.dtype)), bytes) &&
         bytes <= kInt64Max - static_cast<std::int64_t>(header.data_offset);
  if (!fits) npy_fail(path, "shape " + text + " is too large: its byte count overflows 64 bits");
  header.rows = shape[0];
  header.cols = cols;
}

std::vector<std::int64_t> shape_from(const PyValue& value) {
  std::vector<std::int64_t> shape;
  for (const PyValue& item : value.items) {
    if (value.kind != PyValue::Kind::tuple || item.kind != PyValue::Kind::integer ||
        item.integer < 0) {
      break;
    }
    shape.push_back(item.integer);
  }
  if (value.kind != PyValue::Kind::tuple || shape.size() != value.items.size()) {
    throw HeaderSyntaxError{"'shape' must be a tuple of non-negative integers such as (5, 3), "
                            "got " + value.source};
  }
  return shape;
}

// Finds exactly the keys descr, fortran_order and shape; returns descr's value.
const PyValue& check_header_dict(const HeaderDict& entries, NpyHeader& header) {
  const char* const names[] = {"descr", "fortran_order", "shape"};
  const PyValue* values[] = {nullptr, nullptr, nullptr};
  for (const auto& [key, value] : entries) {
    const auto* name = std::find(std::begin(names), std::end(names), key);
    if (name == std::end(names)) throw HeaderSyntaxError{"unknown key '" + key + "'"};
    const PyValue*& slot = values[name - std::begin(names)];
    if (slot != nullptr) throw HeaderSyntaxError{"duplicate key '" + key + "'"};
    slot = &value;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (values[i] == nullptr) {
      throw HeaderSyntaxError{std::string("missing key '") + names[i] + "'"};
    }
  }
  const PyValue& descr = *values[0];
  const PyValue& fortran = *values[1];
  if (descr.kind != PyValue::Kind::string && descr.kind != PyValue::Kind::list) {
    throw HeaderSyntaxError{"'descr' must be a dtype string such as '<f4', got " + descr.source};
  }
  if (fortran.kind != PyValue::Kind::boolean) {
    throw HeaderSyntaxError{"'fortran_order' must be True or False, got " + fortran.source};
  }
  header.fortran_order = fortran.boolean;
  header.shape = shape_from(*values[2]);
  return descr;
}

}  // namespace

// Parses the dict into `entries` and fills order and shape; returns the descr entry.
static const PyValue& parse_header_dict(const std::string& text, HeaderDict& entries,
                                        NpyHeader& header, const std::string& path) {
  try {
    entries = HeaderDictParser(text).parse_dict();
    return check_header_dict(entries, header);
  } catch (const HeaderSyntaxError& e) {
    npy_fail(path, "mangled header: " + printable(e.message));
  }
}

void interpret_npy_header_dict(const std::string& text, NpyHeader& header, const std::string& path) {
  HeaderDict entries;
  const PyValue* descr = &parse_header_dict(text, entries, header, path);
  if (descr->kind == PyValue::Kind::list) {
    npy_fail(path, "unsupported structured dtype " + printable(descr->source) +
                   ": only float32 and float64 are supported");
  }
  parse_descr(descr->text, header, path);
  set_shape(header, path);
}

int interpret_npy_labels_header_dict(const std::string& text, NpyHeader& header,
                                     const std::string& path) {
  HeaderDict entries;
  const PyValue* descr = &parse_header_dict(text, entries, header, path);
  const std::string expected = "labels must be int32 or int64";
  if (descr->kind != PyValue::Kind::string) {
    npy_fail(path, "unsupported structured dtype " + printable(descr->source) + ": " + expected);
  }
  const std::string& d = descr->text;
  const bool has_order = !d.empty() && std::string_view("<>=|").find(d[0]) != npos;
  const char order = has_order ? d[0] : '=';
  const std::string type = d.substr(has_order ? 1 : 0);
  if ((type != "i4" && type != "i8") || order == '|') {
    const std::string name = unsupported_dtype_name(type);
    npy_fail(path, "unsupported dtype '" + printable(d) + "'" + (name.empty() ? "" : " (" + name + ")") +
                   ": " + expected);
  }
  header.big_endian = order == '>' || (order == '=' && host_is_big_endian());
  const std::vector<std::int64_t>& shape = header.shape;
  if (shape.empty() || shape.size() > 2 || (shape.size() == 2 && shape[1] != 1)) {
    npy_fail(path, "labels need a 1-D array (one label per sample), got shape " + shape_string(shape));
  }
  if (shape[0] < 1) npy_fail(path, "empty array: no labels");
  const int element = type == "i4" ? 4 : 8;
  // The reader multiplies rows by the element size: refuse a count whose bytes wrap around.
  if (shape[0] > (kInt64Max - static_cast<std::int64_t>(header.data_offset)) / element) {
    npy_fail(path,
             "shape " + shape_string(shape) + " is too large: its byte count overflows 64 bits");
  }
  header.rows = shape[0];
  header.cols = 1;
  return element;
}

}  // namespace alphareq::detail
