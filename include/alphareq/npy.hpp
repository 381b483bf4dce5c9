#pragma once
/// @file npy.hpp
/// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
///
/// The reader accepts float32/float64 arrays of two or more dimensions, in either byte
/// order and in C or Fortran order. An N-D array of shape (n, a, b, ...) is read as an
/// n × (a·b·...) matrix, the way `x.reshape(n, -1)` flattens it in NumPy. Files are read
/// in chunks of rows, so a file larger than memory can be streamed.

#include <alphareq/matrix_view.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace alphareq {

/// What the header of a .npy file says, after validation.
struct NpyHeader {
  int major_version = 0;
  int minor_version = 0;
  DType dtype = DType::float32;
  /// Byte order of the data in the file (the reader converts to the host's).
  bool big_endian = false;
  bool fortran_order = false;
  /// Shape as written in the file.
  std::vector<std::int64_t> shape;
  /// Samples: shape[0].
  std::int64_t rows = 0;
  /// Features: the product of shape[1:].
  std::int64_t cols = 0;
  /// Offset of the first data byte in the file.
  std::uint64_t data_offset = 0;
};

/// Streams a 2-D (or flattened N-D) float32/float64 .npy file in chunks of rows.
///
/// Every problem — not a .npy file, an unsupported version, a mangled header, an integer,
/// complex or structured dtype, fewer than 2 dimensions, an empty array, a single row, a
/// file shorter than its header promises — throws alphareq::file_error with a message that
/// starts with the file's path. Not thread-safe: one reader per thread.
class NpyReader {
 public:
  /// Opens `path` and validates its header and size. Reads no data yet.
  explicit NpyReader(const std::string& path);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  const std::string& path() const { return path_; }
  const NpyHeader& header() const { return header_; }
  std::int64_t rows() const { return header_.rows; }
  std::int64_t cols() const { return header_.cols; }
  DType dtype() const { return header_.dtype; }
  /// Bytes of array data in the file (rows · cols · element size).
  std::uint64_t data_bytes() const;
  /// Rows already returned by next_chunk().
  std::int64_t rows_read() const { return rows_read_; }

  /// Reads the next (up to) `max_rows` rows into an internal buffer, in host byte order
  /// and C order, keeping the file's dtype. The view is valid until the next call; it has
  /// rows == 0 at the end of the file. Throws file_error on a read failure.
  MatrixView next_chunk(std::int64_t max_rows);

  /// Starts reading again from the first row.
  void rewind();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  NpyHeader header_;
  std::int64_t rows_read_ = 0;
  std::vector<unsigned char> buffer_;
  std::vector<unsigned char> column_buffer_;       // Fortran order: one column's slice
  std::vector<std::uint64_t> fortran_column_offset_;  // element offset of each flat column
};

/// Reads and validates only the header of `path`. Throws file_error as NpyReader does.
NpyHeader read_npy_header(const std::string& path);

/// Writes a C-order little-endian .npy file (format 1.0, or 2.0 when the header needs it)
/// of the given shape, reading the product of the shape's dimensions from `data`: the caller
/// must provide that many elements (the function cannot see how many there are). Throws
/// file_error when the file cannot be written, and invalid_input for a negative dimension,
/// a shape whose element count overflows, or null data for a nonzero count.
void save_npy(const std::string& path, const double* data, const std::vector<std::int64_t>& shape);
void save_npy(const std::string& path, const float* data, const std::vector<std::int64_t>& shape);
void save_npy(const std::string& path, const std::int32_t* data,
              const std::vector<std::int64_t>& shape);

/// Reads class labels: a 1-D (or n × 1) int32 or int64 .npy array, either byte order.
/// Throws file_error naming the file for any other dtype or shape, a truncated or mangled
/// file, or a negative label (or one beyond int32).
std::vector<std::int32_t> load_npy_labels(const std::string& path);

}  // namespace alphareq
