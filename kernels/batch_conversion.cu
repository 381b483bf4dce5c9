#include "batch_conversion.cuh"

#include "cuda/cuda_check.hpp"
#include "float32_scaling.cuh"

#include <alphareq/error.hpp>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cub/block/block_reduce.cuh>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/system_error.h>

#include <algorithm>
#include <cfloat>
#include <string>
#include <type_traits>

namespace alphareq::kernels {
namespace {

__device__ inline double to_double(__half x) { return static_cast<double>(__half2float(x)); }
__device__ inline double to_double(__nv_bfloat16 x) {
  return static_cast<double>(__bfloat162float(x));
}
__device__ inline double to_double(float x) { return static_cast<double>(x); }
__device__ inline double to_double(double x) { return x; }

// One thread per feature of a row, grid-strided over rows: coalesced loads along a row
// whatever the row stride, and no integer division per element.
template <typename In, typename Out>
__global__ void shift_and_convert_kernel(const In* __restrict__ src, std::int64_t rows,
                                         std::int64_t cols, std::int64_t row_stride,
                                         const double* __restrict__ shift, Out* __restrict__ dst,
                                         unsigned long long* first_bad, std::int64_t first_row,
                                         int* largest_exponent, Float32Rounding rounding) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const double offset = shift[c];
  int largest = kNoExponent;
  for (std::int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const double x = to_double(src[r * row_stride + c]);
    if (!isfinite(x)) {
      atomicMin(first_bad + (isnan(x) ? 0 : 1),
                static_cast<unsigned long long>((first_row + r) * cols + c));
    }
    const double centred = x - offset;
    if (largest_exponent != nullptr && centred != 0.0 && isfinite(centred)) {
      int exponent = 0;
      frexp(centred, &exponent);
      largest = exponent > largest ? exponent : largest;
    }
    if constexpr (std::is_same_v<Out, float>) {
      dst[r * cols + c] = rounded_for_products(static_cast<float>(centred), rounding);
    } else {
      dst[r * cols + c] = centred;
    }
  }
  // One atomic per thread at most, and none once another thread of the column has raised the
  // slot as high: the maximum does not depend on the order.
  if (largest_exponent != nullptr && largest != kNoExponent &&
      largest > *static_cast<volatile int*>(largest_exponent + c)) {
    atomicMax(largest_exponent + c, largest);
  }
}

template <typename In>
__global__ void rescale_float32_columns_kernel(const In* __restrict__ src, std::int64_t rows,
                                               std::int64_t cols, std::int64_t row_stride,
                                               const double* __restrict__ shift,
                                               const int* __restrict__ largest_exponent,
                                               float* __restrict__ dst, Float32Rounding rounding) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const int exponent = float32_scale_exponent(largest_exponent[c]);
  if (exponent == 0) return;  // the column is within range: already right
  const double offset = shift[c];
  for (std::int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const double centred = to_double(src[r * row_stride + c]) - offset;
    dst[r * cols + c] = rounded_for_products(static_cast<float>(ldexp(centred, -exponent)), rounding);
  }
}

constexpr int kMeanThreads = 256;

// One block per column: its rows summed in float64 by cub::BlockReduce, in a fixed order
// (deterministic). The loads are strided, but this runs once per accumulator, on one chunk
// (at most kScratchBytes of it).
template <typename In>
__global__ void shift_from_column_means_kernel(const In* __restrict__ src, std::int64_t rows,
                                               std::int64_t row_stride,
                                               double* __restrict__ shift) {
  using BlockReduce = cub::BlockReduce<double, kMeanThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  const std::int64_t c = blockIdx.x;
  double sum = 0.0;
  for (std::int64_t r = threadIdx.x; r < rows; r += kMeanThreads) {
    const double x = to_double(src[r * row_stride + c]);
    // NaN/Inf are reported by the conversion kernel; the shift must stay finite meanwhile.
    if (isfinite(x)) sum += x;
  }
  sum = BlockReduce(storage).Sum(sum);
  if (threadIdx.x != 0) return;
  const double first = to_double(src[c]);
  double mean = sum / static_cast<double>(rows);
  // A float64 sum of values near 1e308 overflows: any sample is a valid shift too.
  if (!isfinite(mean)) mean = isfinite(first) ? first : 0.0;
  // As the CPU backend's centre_constant_columns_exactly: the float64 sum of a constant
  // column's equal values can be off by (rows − 1)·ε/2 relative; centring on the value
  // itself makes such a column exactly zero rather than rounding noise the fit would read.
  const double tolerance = static_cast<double>(rows) * DBL_EPSILON;
  if (isfinite(first) && fabs(first - mean) <= tolerance * fabs(first)) mean = first;
  shift[c] = mean;
}

constexpr int kThreads = 256;

unsigned int column_blocks(std::int64_t cols) {
  return static_cast<unsigned int>((cols + kThreads - 1) / kThreads);
}

// Enough rows in flight to fill the device; each block loops over its share of rows.
dim3 batch_grid(std::int64_t rows, std::int64_t cols) {
  return dim3(column_blocks(cols), static_cast<unsigned int>(std::min<std::int64_t>(rows, 4096)));
}

template <typename In, typename Out>
void launch_typed(const void* src, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                  const double* shift, Out* dst, unsigned long long* first_bad,
                  std::int64_t first_row, cudaStream_t stream, int* largest_exponent,
                  Float32Rounding rounding) {
  shift_and_convert_kernel<In, Out><<<batch_grid(rows, cols), kThreads, 0, stream>>>(
      static_cast<const In*>(src), rows, cols, row_stride, shift, dst, first_bad, first_row,
      largest_exponent, rounding);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template <typename In>
void launch_rescale_typed(const void* src, std::int64_t rows, std::int64_t cols,
                          std::int64_t row_stride, const double* shift,
                          const int* largest_exponent, float* dst, cudaStream_t stream,
                          Float32Rounding rounding) {
  // Almost always every thread returns at once (no column out of range): a small grid keeps
  // that launch cheap; the rare rescale then loops over more rows per block.
  const dim3 grid(column_blocks(cols), static_cast<unsigned int>(std::min<std::int64_t>(rows, 128)));
  rescale_float32_columns_kernel<In><<<grid, kThreads, 0, stream>>>(
      static_cast<const In*>(src), rows, cols, row_stride, shift, largest_exponent, dst, rounding);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <typename Out>
void launch_shift_and_convert(const void* src, DType dtype, std::int64_t rows, std::int64_t cols,
                              std::int64_t row_stride, const double* shift, Out* dst,
                              unsigned long long* first_bad, std::int64_t first_row,
                              cudaStream_t stream, int* largest_exponent,
                              Float32Rounding rounding) {
  switch (dtype) {
    case DType::float16:
      return launch_typed<__half, Out>(src, rows, cols, row_stride, shift, dst, first_bad, first_row,
                                       stream, largest_exponent, rounding);
    case DType::bfloat16:
      return launch_typed<__nv_bfloat16, Out>(src, rows, cols, row_stride, shift, dst, first_bad,
                                              first_row, stream, largest_exponent, rounding);
    case DType::float32:
      return launch_typed<float, Out>(src, rows, cols, row_stride, shift, dst, first_bad, first_row,
                                      stream, largest_exponent, rounding);
    case DType::float64:
      return launch_typed<double, Out>(src, rows, cols, row_stride, shift, dst, first_bad, first_row,
                                       stream, largest_exponent, rounding);
  }
}

template void launch_shift_and_convert<float>(const void*, DType, std::int64_t, std::int64_t,
                                              std::int64_t, const double*, float*,
                                              unsigned long long*, std::int64_t, cudaStream_t,
                                              int*, Float32Rounding);
template void launch_shift_and_convert<double>(const void*, DType, std::int64_t, std::int64_t,
                                               std::int64_t, const double*, double*,
                                               unsigned long long*, std::int64_t, cudaStream_t,
                                               int*, Float32Rounding);

void launch_rescale_float32_columns(const void* src, DType dtype, std::int64_t rows,
                                    std::int64_t cols, std::int64_t row_stride,
                                    const double* shift, const int* largest_exponent, float* dst,
                                    cudaStream_t stream, Float32Rounding rounding) {
  switch (dtype) {
    case DType::float16:
      return launch_rescale_typed<__half>(src, rows, cols, row_stride, shift, largest_exponent, dst,
                                          stream, rounding);
    case DType::bfloat16:
      return launch_rescale_typed<__nv_bfloat16>(src, rows, cols, row_stride, shift, largest_exponent,
                                                 dst, stream, rounding);
    case DType::float32:
      return launch_rescale_typed<float>(src, rows, cols, row_stride, shift, largest_exponent, dst,
                                         stream, rounding);
    case DType::float64:
      return launch_rescale_typed<double>(src, rows, cols, row_stride, shift, largest_exponent, dst,
                                          stream, rounding);
  }
}

void launch_shift_from_column_means(const void* src, DType dtype, std::int64_t rows,
                                    std::int64_t cols, std::int64_t row_stride, double* shift,
                                    cudaStream_t stream) {
  const unsigned int blocks = static_cast<unsigned int>(cols);
  switch (dtype) {
    case DType::float16:
      shift_from_column_means_kernel<<<blocks, kMeanThreads, 0, stream>>>(
          static_cast<const __half*>(src), rows, row_stride, shift);
      break;
    case DType::bfloat16:
      shift_from_column_means_kernel<<<blocks, kMeanThreads, 0, stream>>>(
          static_cast<const __nv_bfloat16*>(src), rows, row_stride, shift);
      break;
    case DType::float32:
      shift_from_column_means_kernel<<<blocks, kMeanThreads, 0, stream>>>(
          static_cast<const float*>(src), rows, row_stride, shift);
      break;
    case DType::float64:
      shift_from_column_means_kernel<<<blocks, kMeanThreads, 0, stream>>>(
          static_cast<const double*>(src), rows, row_stride, shift);
      break;
  }
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_fill(T* data, std::int64_t count, T value, cudaStream_t stream) {
  try {
    thrust::fill_n(thrust::cuda::par_nosync.on(stream), data, count, value);
  } catch (const thrust::system_error& failure) {
    // Thrust reports a failed launch with its own exception: every CUDA failure of the
    // library is a cuda_error naming the call.
    throw ::alphareq::cuda_error(std::string("thrust::fill_n: ") + failure.what());
  }
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template void launch_fill<float>(float*, std::int64_t, float, cudaStream_t);
template void launch_fill<double>(double*, std::int64_t, double, cudaStream_t);

}  // namespace alphareq::kernels
