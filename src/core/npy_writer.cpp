// Writer for NumPy .npy files: C-order, little-endian, format 1.0 (2.0 for huge headers).

#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace alphareq {
namespace {

// numpy aligns the data start to 64 bytes so that memory-mapped arrays are aligned.
constexpr std::size_t kAlignment = 64;
constexpr std::size_t kVersion1MaxHeader = 65535;
constexpr std::size_t kSwapBlockElements = 1 << 16;

bool host_is_big_endian() {
  const std::uint16_t probe = 1;
  unsigned char first_byte = 0;
  std::memcpy(&first_byte, &probe, 1);
  return first_byte == 0;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// The dict exactly as numpy writes it, e.g. "{'descr': '<f8', 'fortran_order': False,
// 'shape': (5, 3), }", padded with spaces and ended by '\n' to align the data.
std::string header_text(const char* descr, const std::vector<std::int64_t>& shape,
                        std::size_t prefix_length) {
  std::string text = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  text += shape.size() == 1 ? ",), }" : "), }";
  const std::size_t unpadded = prefix_length + text.size() + 1;
  text.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  return text + '\n';
}

// The preamble (magic, version, header length) and header, as one byte string.
std::string npy_preamble(const char* descr, const std::vector<std::int64_t>& shape) {
  int major = 1;
  std::size_t length_bytes = 2;
  std::string header = header_text(descr, shape, 8 + length_bytes);
  if (header.size() > kVersion1MaxHeader) {
    major = 2;
    length_bytes = 4;
    header = header_text(descr, shape, 8 + length_bytes);
  }
  std::string preamble("\x93NUMPY", 6);
  preamble += static_cast<char>(major);
  preamble += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i) {
    preamble += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return preamble + header;
}

// Element count of `shape`, checked so that the byte count fits in memory and in a file.
std::size_t element_count(const std::string& path, const std::vector<std::int64_t>& shape,
                          std::size_t item) {
  std::size_t count = 1;
  const std::size_t limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  for (const std::int64_t dim : shape) {
    if (dim < 0) {
      throw invalid_input(path + ": save_npy: negative dimension " + std::to_string(dim) +
                          " in shape");
    }
    const auto size = static_cast<std::size_t>(dim);
    if (size != 0 && count > limit / item / size) {
      throw invalid_input(path + ": save_npy: shape is too large");
    }
    count *= size;
  }
  return count;
}

template <typename T>
void write_npy(const std::string& path, const T* data, const std::vector<std::int64_t>& shape,
               const char* descr) {
  const std::size_t count = element_count(path, shape, sizeof(T));
  if (data == nullptr && count > 0) {
    throw invalid_input(path + ": save_npy: data is null for " + std::to_string(count) +
                        " elements");
  }
  const std::string preamble = npy_preamble(descr, shape);
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) throw file_error(path + ": cannot open for writing: " + std::strerror(errno));
  auto write = [&](const void* bytes, std::size_t size) {
    if (size > 0 && std::fwrite(bytes, 1, size, file.get()) != size) {
      throw file_error(path + ": write failed: " + std::strerror(errno));
    }
  };
  write(preamble.data(), preamble.size());
  if (!host_is_big_endian()) {
    write(data, count * sizeof(T));
  } else {
    // The file is little-endian: swap a block at a time so memory stays bounded.
    std::vector<unsigned char> block;
    for (std::size_t first = 0; first < count; first += kSwapBlockElements) {
      const std::size_t n = std::min(kSwapBlockElements, count - first);
      block.resize(n * sizeof(T));
      std::memcpy(block.data(), data + first, block.size());
      for (std::size_t i = 0; i < n; ++i) {
        std::reverse(&block[i * sizeof(T)], &block[i * sizeof(T)] + sizeof(T));
      }
      write(block.data(), block.size());
    }
  }
  // fclose flushes: a full disk may only show up here.
  if (std::fclose(file.release()) != 0) {
    throw file_error(path + ": write failed: " + std::strerror(errno));
  }
}

}  // namespace

void save_npy(const std::string& path, const double* data,
              const std::vector<std::int64_t>& shape) {
  write_npy(path, data, shape, "<f8");
}

void save_npy(const std::string& path, const float* data, const std::vector<std::int64_t>& shape) {
  write_npy(path, data, shape, "<f4");
}

void save_npy(const std::string& path, const std::int32_t* data,
              const std::vector<std::int64_t>& shape) {
  write_npy(path, data, shape, "<i4");
}

}  // namespace alphareq
