#include "covariance_update.cuh"

#include "batch_conversion.cuh"
#include "cuda/cuda_check.hpp"
#include "float32_scaling.cuh"

#include <cub/block/block_reduce.cuh>

namespace alphareq::kernels {
namespace {

// 2-D tiles over the D × D matrix; only the upper triangle (row <= column) is touched,
// which is all that SYRK and SYEVD with CUBLAS_FILL_MODE_UPPER use.
constexpr int kTile = 16;

dim3 tile_grid(std::int64_t dim) {
  const unsigned int tiles = static_cast<unsigned int>((dim + kTile - 1) / kTile);
  return dim3(tiles, tiles);
}

__device__ inline bool upper_element(std::int64_t dim, std::int64_t& row, std::int64_t& col) {
  row = static_cast<std::int64_t>(blockIdx.x) * kTile + threadIdx.x;
  col = static_cast<std::int64_t>(blockIdx.y) * kTile + threadIdx.y;
  return row < dim && col < dim && row <= col;
}

__device__ inline int scale_of(const int* largest_exponent, std::int64_t column) {
  return largest_exponent == nullptr ? 0 : float32_scale_exponent(largest_exponent[column]);
}

__global__ void add_float32_product_kernel(const float* __restrict__ product,
                                           double* __restrict__ cross, std::int64_t dim,
                                           const int* __restrict__ largest_exponent) {
  std::int64_t row, col;
  if (!upper_element(dim, row, col)) return;
  const int exponent = scale_of(largest_exponent, row) + scale_of(largest_exponent, col);
  cross[col * dim + row] += ldexp(static_cast<double>(product[col * dim + row]), exponent);
}

__global__ void add_float32_sums_kernel(const float* __restrict__ product_sums,
                                        double* __restrict__ sums, std::int64_t dim,
                                        const int* __restrict__ largest_exponent) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < dim) sums[i] += ldexp(static_cast<double>(product_sums[i]), scale_of(largest_exponent, i));
}

constexpr int kTraceThreads = 256;

__global__ void flag_trace_overflow_kernel(const double* __restrict__ cross, std::int64_t dim,
                                           unsigned long long* flag, std::int64_t first_row) {
  using BlockReduce = cub::BlockReduce<double, kTraceThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  double partial = 0.0;
  for (std::int64_t i = threadIdx.x; i < dim; i += kTraceThreads) partial += cross[i * dim + i];
  const double trace = BlockReduce(storage).Sum(partial);
  if (threadIdx.x == 0 && !isfinite(trace) && *flag == kNoBadElement) {
    *flag = static_cast<unsigned long long>(first_row);
  }
}

__global__ void merge_cross_kernel(const double* __restrict__ other_mean,
                                   const double* __restrict__ other_m2, double count,
                                   const double* __restrict__ shift, double* __restrict__ cross,
                                   std::int64_t dim) {
  std::int64_t row, col;
  if (!upper_element(dim, row, col)) return;
  const double d_row = other_mean[row] - shift[row], d_col = other_mean[col] - shift[col];
  cross[col * dim + row] += other_m2[col * dim + row] + count * d_row * d_col;
}

__global__ void merge_sums_kernel(const double* __restrict__ other_mean, double count,
                                  const double* __restrict__ shift, double* __restrict__ sums,
                                  std::int64_t dim) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < dim) sums[i] += count * (other_mean[i] - shift[i]);
}

template <typename Out>
__global__ void form_covariance_kernel(const double* __restrict__ cross,
                                       const double* __restrict__ sums, double count,
                                       double inverse_divisor, Out* __restrict__ matrix,
                                       std::int64_t dim, const int* __restrict__ scale_exponent,
                                       const unsigned long long* __restrict__ flags, int flag_count) {
  std::int64_t row, col;
  if (!upper_element(dim, row, col)) return;
  // A batch had NaN/Inf or overflowed: the host reports that before reading any result, so
  // the solver gets zeros rather than a matrix that might stall it.
  for (int f = 0; f < flag_count; ++f) {
    if (flags[f] != kNoBadElement) {
      matrix[col * dim + row] = Out(0);
      return;
    }
  }
  const double centred = cross[col * dim + row] - sums[row] * (sums[col] / count);
  const double value = centred * inverse_divisor;
  matrix[col * dim + row] =
      static_cast<Out>(scale_exponent == nullptr ? value : ldexp(value, -*scale_exponent));
}

__global__ void choose_float32_solver_scale_kernel(const double* __restrict__ cross,
                                                   const double* __restrict__ sums, double count,
                                                   double inverse_divisor, std::int64_t dim,
                                                   int* scale_exponent) {
  using BlockReduce = cub::BlockReduce<double, kTraceThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  double largest = 0.0;
  for (std::int64_t i = threadIdx.x; i < dim; i += kTraceThreads) {
    const double variance = (cross[i * dim + i] - sums[i] * (sums[i] / count)) * inverse_divisor;
    largest = fmax(largest, fabs(variance));
  }
  largest = BlockReduce(storage).Reduce(largest, [](double a, double b) { return fmax(a, b); });
  if (threadIdx.x != 0) return;
  int exponent = 0;
  if (largest > 0.0 && isfinite(largest)) frexp(largest, &exponent);
  *scale_exponent = exponent;  // the rule in float32_scaling.cuh
}

__global__ void export_mean_kernel(const double* __restrict__ sums,
                                   const double* __restrict__ shift, double count,
                                   double* __restrict__ mean, std::int64_t dim) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < dim) mean[i] = shift[i] + sums[i] / count;
}

constexpr int kThreads = 256;
unsigned int vector_blocks(std::int64_t dim) {
  return static_cast<unsigned int>((dim + kThreads - 1) / kThreads);
}

}  // namespace

void launch_add_float32_batch(const float* product, const float* product_sums, double* cross,
                              double* sums, std::int64_t dim, cudaStream_t stream,
                              const int* largest_exponent) {
  add_float32_product_kernel<<<tile_grid(dim), dim3(kTile, kTile), 0, stream>>>(product, cross, dim,
                                                                               largest_exponent);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
  add_float32_sums_kernel<<<vector_blocks(dim), kThreads, 0, stream>>>(product_sums, sums, dim,
                                                                      largest_exponent);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_flag_trace_overflow(const double* cross, std::int64_t dim, unsigned long long* flag,
                                std::int64_t first_row, cudaStream_t stream) {
  flag_trace_overflow_kernel<<<1, kTraceThreads, 0, stream>>>(cross, dim, flag, first_row);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_merge_moments(const double* other_mean, const double* other_m2,
                          std::int64_t other_count, const double* shift, double* cross,
                          double* sums, std::int64_t dim, cudaStream_t stream) {
  const double count = static_cast<double>(other_count);
  merge_cross_kernel<<<tile_grid(dim), dim3(kTile, kTile), 0, stream>>>(other_mean, other_m2, count,
                                                                       shift, cross, dim);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
  merge_sums_kernel<<<vector_blocks(dim), kThreads, 0, stream>>>(other_mean, count, shift, sums, dim);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template <typename Out>
void launch_form_covariance(const double* cross, const double* sums, std::int64_t count,
                            double divisor, Out* matrix, std::int64_t dim, cudaStream_t stream,
                            const int* scale_exponent, const unsigned long long* flags,
                            int flag_count) {
  form_covariance_kernel<Out><<<tile_grid(dim), dim3(kTile, kTile), 0, stream>>>(
      cross, sums, static_cast<double>(count), 1.0 / divisor, matrix, dim, scale_exponent, flags,
      flag_count);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template void launch_form_covariance<float>(const double*, const double*, std::int64_t, double,
                                            float*, std::int64_t, cudaStream_t, const int*,
                                            const unsigned long long*, int);
template void launch_form_covariance<double>(const double*, const double*, std::int64_t, double,
                                             double*, std::int64_t, cudaStream_t, const int*,
                                             const unsigned long long*, int);

void launch_choose_float32_solver_scale(const double* cross, const double* sums,
                                        std::int64_t count, double divisor, std::int64_t dim,
                                        int* scale_exponent, cudaStream_t stream) {
  choose_float32_solver_scale_kernel<<<1, kTraceThreads, 0, stream>>>(
      cross, sums, static_cast<double>(count), 1.0 / divisor, dim, scale_exponent);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_export_moments(const double* cross, const double* sums, const double* shift,
                           std::int64_t count, double* mean, double* m2, std::int64_t dim,
                           cudaStream_t stream) {
  // M2 is the covariance with divisor 1.
  launch_form_covariance<double>(cross, sums, count, 1.0, m2, dim, stream);
  export_mean_kernel<<<vector_blocks(dim), kThreads, 0, stream>>>(sums, shift,
                                                                  static_cast<double>(count), mean, dim);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

}  // namespace alphareq::kernels
