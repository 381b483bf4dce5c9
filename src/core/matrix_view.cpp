#include <alphareq/error.hpp>
#include <alphareq/matrix_view.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace alphareq {

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::float16: return "float16";
    case DType::bfloat16: return "bfloat16";
    case DType::float32: return "float32";
    case DType::float64: return "float64";
  }
  return "unknown dtype";
}

std::size_t size_of(DType dtype) {
  switch (dtype) {
    case DType::float16:
    case DType::bfloat16: return 2;
    case DType::float32: return 4;
    case DType::float64: return 8;
  }
  return 0;
}

MatrixView host_matrix(const float* data, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_stride) {
  return MatrixView{data, rows, cols, row_stride == 0 ? cols : row_stride, DType::float32,
                    MemorySpace::host, nullptr};
}

MatrixView host_matrix(const double* data, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_stride) {
  return MatrixView{data, rows, cols, row_stride == 0 ? cols : row_stride, DType::float64,
                    MemorySpace::host, nullptr};
}

void check_view_shape(const MatrixView& view, const char* what) {
  const std::string name(what);
  if (view.rows < 1) {
    throw invalid_input(name + ": needs at least 1 row (sample), got " +
                        std::to_string(view.rows));
  }
  if (view.cols < 1) {
    throw invalid_input(name + ": needs at least 1 column (feature), got " +
                        std::to_string(view.cols));
  }
  if (view.row_stride < view.cols) {
    throw invalid_input(name + ": row_stride " + std::to_string(view.row_stride) +
                        " is smaller than the number of columns " + std::to_string(view.cols));
  }
  if (view.data == nullptr) {
    throw invalid_input(name + ": data pointer is null for a " + std::to_string(view.rows) +
                        " x " + std::to_string(view.cols) + " view");
  }
  // Elements read through a misaligned pointer are undefined behaviour on the host and a
  // fault on the device.
  const std::size_t element = size_of(view.dtype);
  if (element == 0) throw invalid_input(name + ": unknown dtype");
  if (reinterpret_cast<std::uintptr_t>(view.data) % element != 0) {
    throw invalid_input(name + ": the data pointer is not aligned to its " + std::to_string(element) +
                        "-byte elements; make an aligned copy first");
  }
  // The bytes the view spans, ((rows − 1) · row_stride + cols) · element, must fit a
  // pointer difference: beyond it the offsets wrap and rows are read from elsewhere
  // (a lying producer's stride of 2^61 read row 1 as row 0). In long double, exact enough
  // here, where an int64 product would itself overflow.
  const long double extent =
      (static_cast<long double>(view.rows - 1) * static_cast<long double>(view.row_stride) +
       static_cast<long double>(view.cols)) * static_cast<long double>(element);
  if (extent > static_cast<long double>(std::numeric_limits<std::ptrdiff_t>::max())) {
    throw invalid_input(name + ": " + std::to_string(view.rows) + " rows of stride " +
                        std::to_string(view.row_stride) + " span more bytes than an address "
                        "space holds");
  }
}

}  // namespace alphareq
