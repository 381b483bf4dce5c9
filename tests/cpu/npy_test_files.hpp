#pragma once
// Test helpers that build .npy files byte by byte, independently of alphareq::save_npy, so
// the reader is checked against the format itself and not against our own writer.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace alphareq_test {

/// Everything that goes into a .npy file; the defaults make a valid version 1.0 file.
struct NpySpec {
  int major = 1;
  int minor = 0;
  std::string descr = "<f8";
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  /// The array data exactly as it goes into the file (see encode()).
  std::vector<unsigned char> data;
  /// Replaces the whole header dict text (padding is still added when `pad` is set).
  std::optional<std::string> raw_header;
  /// Pad the header with spaces so the data starts at a multiple of 64, as numpy does.
  bool pad = true;
  /// Keep only this many bytes of the finished file.
  std::optional<std::size_t> truncate_to;
};

inline bool host_is_big_endian() {
  const std::uint16_t probe = 1;
  unsigned char first_byte = 0;
  std::memcpy(&first_byte, &probe, 1);
  return first_byte == 0;
}

/// The bytes of `values` in the requested byte order, built from the integer
/// representation so the result does not depend on the host's order.
template <typename T>
std::vector<unsigned char> encode(const std::vector<T>& values, bool big_endian) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "float32 or float64 only");
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  std::vector<unsigned char> bytes;
  bytes.reserve(values.size() * sizeof(T));
  for (const T value : values) {
    Bits bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t byte = big_endian ? sizeof(T) - 1 - i : i;
      bytes.push_back(static_cast<unsigned char>(bits >> (8 * byte)));
    }
  }
  return bytes;
}

/// numpy's repr of a shape: "()", "(5,)", "(5, 3)".
inline std::string shape_repr(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

inline std::string header_dict(const NpySpec& spec) {
  if (spec.raw_header) return *spec.raw_header;
  return "{'descr': '" + spec.descr + "', 'fortran_order': " +
         (spec.fortran_order ? "True" : "False") + ", 'shape': " + shape_repr(spec.shape) +
         ", }";
}

/// Size of magic + version + header-length field for a format version.
inline std::size_t preamble_size(int major) { return major == 1 ? 10 : 12; }

inline std::vector<unsigned char> npy_bytes(const NpySpec& spec) {
  std::string header = header_dict(spec);
  const std::size_t prefix = preamble_size(spec.major);
  if (spec.pad) header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<unsigned char> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  bytes.push_back(static_cast<unsigned char>(spec.major));
  bytes.push_back(static_cast<unsigned char>(spec.minor));
  for (std::size_t i = 0; i < prefix - 8; ++i) {
    bytes.push_back(static_cast<unsigned char>(header.size() >> (8 * i)));
  }
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), spec.data.begin(), spec.data.end());
  if (spec.truncate_to && *spec.truncate_to < bytes.size()) bytes.resize(*spec.truncate_to);
  return bytes;
}

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "could not write " << path;
}

inline void write_npy(const std::string& path, const NpySpec& spec) {
  write_bytes(path, npy_bytes(spec));
}

inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

/// A fresh directory for one test, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    const std::filesystem::path base =
        ::testing::TempDir().empty() ? std::filesystem::temp_directory_path()
                                     : std::filesystem::path(::testing::TempDir());
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "alphareq_npy_";
    name += test != nullptr ? test->name() : "test";
    for (char& c : name) {
      if (c == '/' || c == '\\') c = '_';  // parametrised test names contain '/'
    }
    std::string templ = (base / (name + "_XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << templ << ": " << std::strerror(errno);
    }
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Path of a file named `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace alphareq_test
