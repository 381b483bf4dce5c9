#pragma once
// Kernels that bring a batch of activations into the accumulator's compute precision:
// shift by the per-feature offset, convert, and flag the first NaN/Inf. Host-callable
// launchers; all work is queued on `stream`.

#include "core/tf32_rounding.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>

#include <cuda_runtime.h>

#include <cstdint>

namespace alphareq::kernels {

/// Sentinel of the "first bad element" flag: no NaN/Inf seen.
constexpr unsigned long long kNoBadElement = ~0ULL;

/// What a float32 output holds: the nearest float32, or that rounded on to TF32 for the
/// TF32 products (core/tf32_rounding.hpp: the column sums must see the values the tensor
/// cores multiply). Ignored for float64 output.
enum class Float32Rounding { to_float32, to_tf32 };

/// The rounding the float32 products of `precision` take their inputs in.
inline Float32Rounding float32_rounding_for(AccumulationPrecision precision) {
  return precision == AccumulationPrecision::tf32 ? Float32Rounding::to_tf32
                                                  : Float32Rounding::to_float32;
}

/// `value` as the products take it: unchanged, or rounded on to TF32.
ALPHAREQ_HOST_DEVICE inline float rounded_for_products(float value, Float32Rounding rounding) {
  return rounding == Float32Rounding::to_tf32 ? detail::round_to_tf32(value) : value;
}

/// dst (rows × cols, contiguous row-major) = src − shift, in Out (float or double), where
/// src is a row-major view of `dtype` with `row_stride` elements between rows. Each NaN
/// lowers first_bad[0], each ±Inf first_bad[1], to its flat index (first_row + r) · cols + c,
/// so after any number of batches they hold the first of each in row-major order.
/// `largest_exponent` (float output only; may be null): per column, raised to the largest
/// frexp exponent of the finite nonzero |src − shift| (set it to kNoExponent bytes first);
/// launch_rescale_float32_columns then scales the columns that need it
/// (kernels/float32_scaling.cuh). Order-independent (a maximum), hence deterministic.
template <typename Out>
void launch_shift_and_convert(const void* src, DType dtype, std::int64_t rows, std::int64_t cols,
                              std::int64_t row_stride, const double* shift, Out* dst,
                              unsigned long long* first_bad, std::int64_t first_row,
                              cudaStream_t stream, int* largest_exponent = nullptr,
                              Float32Rounding rounding = Float32Rounding::to_float32);

/// After launch_shift_and_convert<float> with `largest_exponent`: the columns whose extent
/// is outside float32's safe range for products are converted again as
/// (src − shift) · 2^-e (e = float32_scale_exponent), rounded as the conversion was; the
/// others are left as they are.
void launch_rescale_float32_columns(const void* src, DType dtype, std::int64_t rows,
                                    std::int64_t cols, std::int64_t row_stride,
                                    const double* shift, const int* largest_exponent, float* dst,
                                    cudaStream_t stream, Float32Rounding rounding);

/// shift[c] = the float64 mean of column c over the `rows` rows of src (a row-major view
/// of `dtype`, `row_stride` elements between rows): the fixed offset every later sample is
/// centred on. Any offset is exact for the shifted-data algorithm in float64, but float32 /
/// TF32 products lose ((shift − mean) / spread)² of their precision to the cancellation
/// M2 = Σ y yᵀ − S Sᵀ / n; the first chunk's mean keeps that factor near 1/rows where a
/// single sample gives 1 and an outlying one far more. NaN/Inf are left out (the
/// conversion kernel reports them); a column whose values are all equal gets exactly that
/// value (it centres to zero), and one whose sum overflows float64 its first value.
void launch_shift_from_column_means(const void* src, DType dtype, std::int64_t rows,
                                    std::int64_t cols, std::int64_t row_stride, double* shift,
                                    cudaStream_t stream);

/// Fills `count` elements with `value` (the ones vector of the column-sum GEMV).
template <typename T>
void launch_fill(T* data, std::int64_t count, T value, cudaStream_t stream);

}  // namespace alphareq::kernels
