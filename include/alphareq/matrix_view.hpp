#pragma once
/// @file matrix_view.hpp
/// A non-owning view of a batch of activations: rows are samples, columns are features.

#include <cstdint>
#include <string>

namespace alphareq {

/// Element type of a batch.
enum class DType { float16, bfloat16, float32, float64 };

/// Where a batch's memory lives. Device memory is only accepted by the CUDA backend.
enum class MemorySpace { host, device };

/// Name of a dtype as NumPy spells it ("float32", ...).
std::string to_string(DType dtype);
/// Size of one element in bytes.
std::size_t size_of(DType dtype);

/// A row-major matrix view (mdspan-style): `rows` samples of `cols` features, row `i`
/// starting at element `i * row_stride`. It owns nothing; the memory must stay valid for
/// the duration of the call it is passed to.
struct MatrixView {
  const void* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  /// Elements (not bytes) between the starts of consecutive rows; >= cols.
  std::int64_t row_stride = 0;
  DType dtype = DType::float32;
  MemorySpace space = MemorySpace::host;
  /// For device views: the cudaStream_t (as void*) the data is ordered on; nullptr is the
  /// legacy default stream of the accumulator's device. It may be a stream of another
  /// device (managed memory written by another GPU's work); that device's legacy default
  /// stream cannot be named (nullptr is this device's), so synchronise such work first.
  /// Ignored for host views.
  void* stream = nullptr;
};

/// View of host float32 data. `row_stride` 0 means contiguous rows (= cols).
MatrixView host_matrix(const float* data, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_stride = 0);
/// View of host float64 data. `row_stride` 0 means contiguous rows (= cols).
MatrixView host_matrix(const double* data, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_stride = 0);

/// Throws alphareq::invalid_input unless `view` is well formed: non-null data, rows >= 1,
/// cols >= 1, row_stride >= cols. `what` names the argument in the message.
void check_view_shape(const MatrixView& view, const char* what = "batch");

}  // namespace alphareq
