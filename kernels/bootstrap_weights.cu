#include "bootstrap_weights.cuh"

#include "batch_conversion.cuh"
#include "core/bootstrap_draw.hpp"
#include "cuda/cuda_check.hpp"
#include "float32_scaling.cuh"

#include <cub/block/block_reduce.cuh>

#include <algorithm>
#include <type_traits>

namespace alphareq::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kTile = 16;
constexpr std::int64_t kMaxGridY = 65535;  // also the limit of gridDim.z

unsigned int capped(std::int64_t blocks, std::int64_t cap) {
  return static_cast<unsigned int>(std::max<std::int64_t>(1, std::min(blocks, cap)));
}

template <typename T>
__global__ void bootstrap_weights_kernel(std::uint64_t seed, long long first_replicate,
                                         long long replicates, long long first_sample,
                                         long long rows, T* __restrict__ weights,
                                         unsigned long long* __restrict__ counts) {
  using Reduce = cub::BlockReduce<unsigned long long, kThreads>;
  __shared__ typename Reduce::TempStorage storage;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long b = blockIdx.y; b < replicates; b += gridDim.y) {
    const std::uint64_t key = detail::bootstrap_replicate_key(seed, first_replicate + b);
    unsigned long long local = 0;
    for (long long r = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
         r += stride) {
      const int k = detail::bootstrap_multiplicity(key, first_sample + r);
      weights[b * rows + r] = static_cast<T>(k);
      local += static_cast<unsigned long long>(k);
    }
    // Integer sums: exact, and the same whatever order the atomics land in.
    const unsigned long long total = Reduce(storage).Sum(local);
    if (threadIdx.x == 0 && total != 0) atomicAdd(counts + b, total);
    __syncthreads();  // storage is reused for the next replicate
  }
}

// One thread per feature; blocks stride over the (replicate, row) items, so a row of each
// copy is written with coalesced stores.
template <typename T>
__global__ void weighted_copies_kernel(const T* __restrict__ y, long long rows, long long cols,
                                       const T* __restrict__ weights, long long items,
                                       T* __restrict__ copies, Float32Rounding rounding) {
  const long long c = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  for (long long item = blockIdx.y; item < items; item += gridDim.y) {
    const long long r = item % rows;  // item = b · rows + r
    const T copy = weights[item] * y[r * cols + c];
    if constexpr (std::is_same_v<T, float>) {
      copies[item * cols + c] = rounded_for_products(copy, rounding);
    } else {
      copies[item * cols + c] = copy;
    }
  }
}

__device__ inline bool upper_element(long long dim, long long& row, long long& col) {
  row = static_cast<long long>(blockIdx.x) * kTile + threadIdx.x;
  col = static_cast<long long>(blockIdx.y) * kTile + threadIdx.y;
  return row < dim && col < dim && row <= col;
}

__device__ inline int scale_of(const int* largest_exponent, long long column) {
  return largest_exponent == nullptr ? 0 : float32_scale_exponent(largest_exponent[column]);
}

__global__ void add_float32_replicates_kernel(const float* __restrict__ product,
                                              const float* __restrict__ product_sums,
                                              double* __restrict__ cross, double* __restrict__ sums,
                                              long long dim, long long replicates,
                                              const int* __restrict__ largest_exponent) {
  long long row, col;
  if (!upper_element(dim, row, col)) return;
  const long long square = dim * dim;
  // The columns' scales are the sub-chunk's, the same for every replicate.
  const int row_exponent = scale_of(largest_exponent, row);
  const int exponent = row_exponent + scale_of(largest_exponent, col);
  for (long long b = blockIdx.z; b < replicates; b += gridDim.z) {
    cross[b * square + col * dim + row] +=
        ldexp(static_cast<double>(product[b * square + col * dim + row]), exponent);
    // The diagonal's threads also carry the column sums.
    if (row == col) {
      sums[b * dim + row] += ldexp(static_cast<double>(product_sums[b * dim + row]), row_exponent);
    }
  }
}

// Block b screens replicate b (a grid-stride loop over replicates, uniform across the block
// as the reductions' barriers require).
__global__ void screen_replicates_kernel(const double* __restrict__ cross,
                                         const double* __restrict__ sums,
                                         const unsigned long long* __restrict__ counts, bool by_n,
                                         long long dim, long long replicates,
                                         int* __restrict__ status,
                                         int* __restrict__ scale_exponents) {
  using Reduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename Reduce::TempStorage storage;
  const long long square = dim * dim;
  for (long long b = blockIdx.x; b < replicates; b += gridDim.x) {
    const unsigned long long samples = counts[b];
    const double count = static_cast<double>(samples);
    const double inverse_divisor = 1.0 / (by_n ? count : count - 1.0);  // used when samples >= 2
    double trace = 0.0, largest = 0.0;
    for (long long i = threadIdx.x; i < dim; i += blockDim.x) {
      const double diagonal = cross[b * square + i * dim + i];
      trace += diagonal;
      if (samples >= 2) {
        const double sum = sums[b * dim + i];
        largest = fmax(largest, fabs((diagonal - sum * (sum / count)) * inverse_divisor));
      }
    }
    trace = Reduce(storage).Sum(trace);
    __syncthreads();  // storage is reused by the next reduction
    largest = Reduce(storage).Reduce(largest, [](double a, double c) { return fmax(a, c); });
    if (threadIdx.x == 0) {
      const int verdict = samples < 2        ? kReplicateTooFewSamples
                          : !isfinite(trace) ? kReplicateOverflowed
                                             : kReplicateUsable;
      status[b] = verdict;
      if (scale_exponents != nullptr) {
        int exponent = 0;
        if (verdict == kReplicateUsable && largest > 0.0 && isfinite(largest)) {
          frexp(largest, &exponent);
        }
        scale_exponents[b] = exponent;  // the accumulator's rule (float32_scaling.cuh)
      }
    }
    __syncthreads();  // storage is reused for the next replicate
  }
}

// Not __restrict__: with Out = double, matrices may alias cross.
template <typename Out>
__global__ void form_replicate_covariances_kernel(const double* cross, const double* sums,
                                                  const unsigned long long* counts, bool by_n,
                                                  Out* matrices, long long dim,
                                                  long long replicates, const int* status,
                                                  const int* scale_exponents,
                                                  const unsigned long long* flags, int flag_count) {
  long long row, col;
  if (!upper_element(dim, row, col)) return;
  // NaN/Inf features: every replicate holds them, and the host reports them first.
  bool flagged = false;
  for (int f = 0; f < flag_count; ++f) flagged = flagged || flags[f] != kNoBadElement;
  const long long square = dim * dim;
  for (long long b = blockIdx.z; b < replicates; b += gridDim.z) {
    double value = 0.0;
    if (!flagged && status[b] == kReplicateUsable) {
      const double count = static_cast<double>(counts[b]);
      const double inverse_divisor = 1.0 / (by_n ? count : count - 1.0);
      const double centred =
          cross[b * square + col * dim + row] - sums[b * dim + row] * (sums[b * dim + col] / count);
      value = centred * inverse_divisor;
      if (scale_exponents != nullptr) value = ldexp(value, -scale_exponents[b]);
    }
    matrices[b * square + col * dim + row] = static_cast<Out>(value);
    // The mirror too: the solver reads the upper triangle only, but the lower one still
    // holds the raw products (NaN/Inf for a flagged replicate), and a full symmetric matrix
    // is safe whatever a solver reads. In place this is safe: no thread reads the lower part.
    if (row != col) matrices[b * square + row * dim + col] = static_cast<Out>(value);
  }
}

dim3 replicate_tile_grid(std::int64_t dim, std::int64_t replicates) {
  const unsigned int tiles = static_cast<unsigned int>((dim + kTile - 1) / kTile);
  return dim3(tiles, tiles, capped(replicates, kMaxGridY));
}

}  // namespace

template <typename T>
void launch_bootstrap_weights(std::uint64_t seed, std::int64_t first_replicate,
                              std::int64_t replicates, std::int64_t first_sample, std::int64_t rows,
                              T* weights, unsigned long long* counts, cudaStream_t stream) {
  if (rows < 1 || replicates < 1) return;
  const dim3 grid(capped((rows + kThreads - 1) / kThreads, 1024), capped(replicates, kMaxGridY));
  bootstrap_weights_kernel<T><<<grid, kThreads, 0, stream>>>(seed, first_replicate, replicates,
                                                             first_sample, rows, weights, counts);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_weighted_copies(const T* y, std::int64_t rows, std::int64_t cols, const T* weights,
                            std::int64_t replicates, T* copies, cudaStream_t stream,
                            Float32Rounding rounding) {
  if (rows < 1 || replicates < 1) return;
  const dim3 grid(capped((cols + kThreads - 1) / kThreads, (1LL << 31) - 1),
                  capped(replicates * rows, kMaxGridY));
  weighted_copies_kernel<T><<<grid, kThreads, 0, stream>>>(y, rows, cols, weights,
                                                           replicates * rows, copies, rounding);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_add_float32_replicates(const float* product, const float* product_sums, double* cross,
                                   double* sums, std::int64_t dim, std::int64_t replicates,
                                   cudaStream_t stream, const int* largest_exponent) {
  if (replicates < 1) return;
  add_float32_replicates_kernel<<<replicate_tile_grid(dim, replicates), dim3(kTile, kTile), 0,
                                  stream>>>(product, product_sums, cross, sums, dim, replicates,
                                            largest_exponent);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_screen_replicates(const double* cross, const double* sums,
                              const unsigned long long* counts, bool by_n, std::int64_t dim,
                              std::int64_t replicates, int* status, int* scale_exponents,
                              cudaStream_t stream) {
  if (replicates < 1) return;
  screen_replicates_kernel<<<capped(replicates, kMaxGridY), kThreads, 0, stream>>>(
      cross, sums, counts, by_n, dim, replicates, status, scale_exponents);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template <typename Out>
void launch_form_replicate_covariances(const double* cross, const double* sums,
                                       const unsigned long long* counts, bool by_n, Out* matrices,
                                       std::int64_t dim, std::int64_t replicates, const int* status,
                                       const int* scale_exponents, const unsigned long long* flags,
                                       int flag_count, cudaStream_t stream) {
  if (replicates < 1) return;
  form_replicate_covariances_kernel<Out>
      <<<replicate_tile_grid(dim, replicates), dim3(kTile, kTile), 0, stream>>>(
          cross, sums, counts, by_n, matrices, dim, replicates, status, scale_exponents, flags,
          flag_count);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template void launch_bootstrap_weights<float>(std::uint64_t, std::int64_t, std::int64_t,
                                              std::int64_t, std::int64_t, float*,
                                              unsigned long long*, cudaStream_t);
template void launch_bootstrap_weights<double>(std::uint64_t, std::int64_t, std::int64_t,
                                               std::int64_t, std::int64_t, double*,
                                               unsigned long long*, cudaStream_t);
template void launch_weighted_copies<float>(const float*, std::int64_t, std::int64_t, const float*,
                                            std::int64_t, float*, cudaStream_t, Float32Rounding);
template void launch_weighted_copies<double>(const double*, std::int64_t, std::int64_t,
                                             const double*, std::int64_t, double*, cudaStream_t,
                                             Float32Rounding);
template void launch_form_replicate_covariances<float>(const double*, const double*,
                                                       const unsigned long long*, bool, float*,
                                                       std::int64_t, std::int64_t, const int*,
                                                       const int*, const unsigned long long*, int,
                                                       cudaStream_t);
template void launch_form_replicate_covariances<double>(const double*, const double*,
                                                        const unsigned long long*, bool, double*,
                                                        std::int64_t, std::int64_t, const int*,
                                                        const int*, const unsigned long long*, int,
                                                        cudaStream_t);

}  // namespace alphareq::kernels
