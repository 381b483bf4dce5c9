// Reader for NumPy .npy files: the file and its size checks, and chunked, row-wise
// streaming. The header dict itself is parsed in npy_header.cpp.
// Format reference: numpy/lib/format.py (versions 1.0, 2.0 and 3.0).

// Files larger than 4 GiB need a 64-bit off_t for fseeko/ftello, even on 32-bit hosts.
#define _FILE_OFFSET_BITS 64

#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include "core/npy_header.hpp"

#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

static_assert(sizeof(off_t) >= 8, "alphareq needs a 64-bit off_t to read large .npy files");

namespace alphareq {
namespace {

using detail::npy_fail;

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;
// Fortran-order columns transposed together: enough for whole cache lines of each row,
// few enough that the column streams being read stay in L1.
constexpr std::size_t kFortranColumnBlock = 64;

std::string errno_text() { return std::strerror(errno); }

// ---- File access ----------------------------------------------------------------------

void read_header_bytes(std::FILE* file, void* into, std::size_t size, const std::string& path) {
  if (std::fread(into, 1, size, file) != size) npy_fail(path, "truncated header");
}

// Reads magic, version and the header dict, which `interpret` turns into the header.
template <typename Interpret>
NpyHeader read_header(std::FILE* file, const std::string& path, std::uint64_t file_size,
                      Interpret&& interpret) {
  unsigned char magic[kMagicLength] = {};
  const std::size_t got = std::fread(magic, 1, kMagicLength, file);
  if (std::ferror(file)) npy_fail(path, "cannot read: " + errno_text());
  if (got != kMagicLength || std::memcmp(magic, kMagic, kMagicLength) != 0) {
    npy_fail(path, "not a .npy file (it does not start with the \\x93NUMPY magic string)");
  }
  NpyHeader header;
  unsigned char version[2] = {};
  read_header_bytes(file, version, 2, path);
  header.major_version = version[0];
  header.minor_version = version[1];
  if (version[1] != 0 || version[0] < 1 || version[0] > 3) {
    npy_fail(path, "unsupported .npy format version " + std::to_string(version[0]) + "." +
                   std::to_string(version[1]) + " (supported: 1.0, 2.0, 3.0)");
  }
  const std::size_t length_bytes = version[0] == 1 ? 2 : 4;
  unsigned char length_field[4] = {};
  read_header_bytes(file, length_field, length_bytes, path);
  std::uint64_t header_length = 0;
  for (std::size_t i = length_bytes; i-- > 0;) header_length = header_length << 8 | length_field[i];
  header.data_offset = kMagicLength + 2 + length_bytes + header_length;
  if (header.data_offset > file_size) {
    npy_fail(path, "truncated header: it claims " + std::to_string(header_length) +
                   " bytes but the file has only " + std::to_string(file_size) + " bytes");
  }
  std::string text(header_length, '\0');
  read_header_bytes(file, text.data(), text.size(), path);
  interpret(text, header);
  return header;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Opens `path` for reading and measures it.
File open_file(const std::string& path, std::uint64_t& size) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) npy_fail(path, "cannot open: " + errno_text());
  off_t end = -1;
  if (fseeko(file.get(), 0, SEEK_END) == 0) end = ftello(file.get());
  if (end < 0 || fseeko(file.get(), 0, SEEK_SET) != 0) {
    npy_fail(path, "cannot determine the file size: " + errno_text());
  }
  size = static_cast<std::uint64_t>(end);
  return file;
}

// Element offset from the data start of row 0 of each flattened column of a Fortran-order
// array. Column c is the C-order index (j, k, ...) of the trailing dims, and element
// [i, j, k, ...] sits at i + s0 * (j + s1 * (k + ...)).
std::vector<std::uint64_t> fortran_column_offsets(const NpyHeader& header) {
  std::vector<std::uint64_t> dims(header.shape.begin(), header.shape.end());
  std::vector<std::uint64_t> offsets(static_cast<std::size_t>(header.cols));
  for (std::size_t c = 0; c < offsets.size(); ++c) {
    std::uint64_t remaining = c;
    std::uint64_t offset = 0;
    std::uint64_t stride = dims[0];
    for (std::size_t d = 1; d < dims.size(); ++d) stride *= dims[d];
    for (std::size_t d = dims.size() - 1; d >= 1; --d) {  // C order: last index varies fastest
      stride /= dims[d];
      offset += remaining % dims[d] * stride;
      remaining /= dims[d];
    }
    offsets[c] = offset;
  }
  return offsets;
}

// The element size is a template argument so that per-element copies and swaps compile to
// single moves rather than memcpy calls.
template <std::size_t Item>
void swap_bytes(unsigned char* data, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i, data += Item) std::reverse(data, data + Item);
}

// Writes `width` column slices of `rows` elements (slice c starts at element c * rows)
// into columns [first_col, first_col + width) of the row-major `out` of `cols` columns.
template <std::size_t Item>
void transpose_columns(const unsigned char* columns, std::size_t rows, std::size_t width,
                       unsigned char* out, std::size_t cols, std::size_t first_col) {
  for (std::size_t r = 0; r < rows; ++r) {
    unsigned char* row = out + (r * cols + first_col) * Item;
    for (std::size_t c = 0; c < width; ++c) {
      std::memcpy(row + c * Item, columns + (c * rows + r) * Item, Item);
    }
  }
}

}  // namespace

NpyReader::NpyReader(const std::string& path) : path_(path) {
  std::uint64_t file_size = 0;
  File file = open_file(path, file_size);
  header_ = read_header(file.get(), path, file_size, [&](const std::string& text, NpyHeader& header) {
    detail::interpret_npy_header_dict(text, header, path);
  });
  if (file_size - header_.data_offset < data_bytes()) {
    npy_fail(path, "truncated: header promises " + std::to_string(data_bytes()) +
                   " bytes of data, file has " + std::to_string(file_size - header_.data_offset));
  }
  if (header_.fortran_order) fortran_column_offset_ = fortran_column_offsets(header_);
  file_ = file.release();
}

NpyReader::~NpyReader() {
  if (file_ != nullptr) std::fclose(file_);
}

std::uint64_t NpyReader::data_bytes() const {
  return static_cast<std::uint64_t>(header_.rows) * static_cast<std::uint64_t>(header_.cols) *
         size_of(header_.dtype);
}

void NpyReader::rewind() { rows_read_ = 0; }

MatrixView NpyReader::next_chunk(std::int64_t max_rows) {
  if (max_rows < 1) {
    throw invalid_input(path_ + ": next_chunk needs max_rows >= 1, got " +
                        std::to_string(max_rows));
  }
  const std::int64_t rows = std::min(max_rows, header_.rows - rows_read_);
  const std::size_t item = size_of(header_.dtype);
  const auto cols = static_cast<std::size_t>(header_.cols);
  const std::size_t count = static_cast<std::size_t>(rows) * cols;
  buffer_.resize(count * item);
  auto read_at = [&](std::uint64_t element, unsigned char* into, std::size_t bytes) {
    const auto offset = static_cast<off_t>(header_.data_offset + element * item);
    if (fseeko(file_, offset, SEEK_SET) != 0 || std::fread(into, 1, bytes, file_) != bytes) {
      npy_fail(path_, "read failed at row " + std::to_string(rows_read_) + ": " +
                      (std::ferror(file_) ? errno_text() : "unexpected end of file"));
    }
  };
  const auto first_row = static_cast<std::uint64_t>(rows_read_);
  if (rows > 0 && !header_.fortran_order) {
    read_at(first_row * cols, buffer_.data(), buffer_.size());
  } else if (rows > 0) {
    // Each Fortran column is contiguous on disk. Read this chunk's slice of a block of
    // columns, then transpose the block, so that whole row segments are written at once
    // rather than one element per row per column (a page-strided scatter).
    const std::size_t block = std::min(cols, kFortranColumnBlock);
    const std::size_t slice = static_cast<std::size_t>(rows) * item;
    column_buffer_.resize(block * slice);
    for (std::size_t first = 0; first < cols; first += block) {
      const std::size_t width = std::min(block, cols - first);
      for (std::size_t c = 0; c < width; ++c) {
        read_at(fortran_column_offset_[first + c] + first_row, &column_buffer_[c * slice], slice);
      }
      (item == 4 ? transpose_columns<4> : transpose_columns<8>)(
          column_buffer_.data(), slice / item, width, buffer_.data(), cols, first);
    }
  }
  if (header_.big_endian != detail::host_is_big_endian()) {
    (item == 4 ? swap_bytes<4> : swap_bytes<8>)(buffer_.data(), count);
  }
  rows_read_ += rows;
  return MatrixView{buffer_.data(), rows, header_.cols, header_.cols, header_.dtype,
                    MemorySpace::host, nullptr};
}

NpyHeader read_npy_header(const std::string& path) { return NpyReader(path).header(); }

std::vector<std::int32_t> load_npy_labels(const std::string& path) {
  std::uint64_t file_size = 0;
  File file = open_file(path, file_size);
  int element = 0;
  const NpyHeader header = read_header(file.get(), path, file_size, [&](const std::string& text, NpyHeader& h) {
    element = detail::interpret_npy_labels_header_dict(text, h, path);
  });
  const std::uint64_t bytes = static_cast<std::uint64_t>(header.rows) * static_cast<std::uint64_t>(element);
  if (file_size - header.data_offset < bytes) {
    npy_fail(path, "truncated: header promises " + std::to_string(bytes) + " bytes of labels, file has " +
                   std::to_string(file_size - header.data_offset));
  }
  std::vector<unsigned char> raw(static_cast<std::size_t>(bytes));
  if (std::fread(raw.data(), 1, raw.size(), file.get()) != raw.size()) npy_fail(path, "read failed");
  if (header.big_endian != detail::host_is_big_endian()) {
    if (element == 4) swap_bytes<4>(raw.data(), static_cast<std::size_t>(header.rows));
    else swap_bytes<8>(raw.data(), static_cast<std::size_t>(header.rows));
  }
  std::vector<std::int32_t> labels(static_cast<std::size_t>(header.rows));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::int64_t value = 0;
    if (element == 4) {
      std::int32_t v;
      std::memcpy(&v, raw.data() + i * 4, 4);
      value = v;
    } else {
      std::memcpy(&value, raw.data() + i * 8, 8);
    }
    if (value < 0 || value > std::numeric_limits<std::int32_t>::max()) {
      npy_fail(path, "label " + std::to_string(value) + " at row " + std::to_string(i) +
                     " is not a class index (0 .. 2^31 - 1)");
    }
    labels[i] = static_cast<std::int32_t>(value);
  }
  return labels;
}

}  // namespace alphareq
