#include "power_law_fit.cuh"

#include "cuda/cuda_check.hpp"

#include <cub/block/block_reduce.cuh>

#include <cfloat>

namespace alphareq::kernels {
namespace {

constexpr int kThreads = 256;

struct Sums3 {
  double a, b, c;
};

struct AddSums3 {
  __device__ Sums3 operator()(const Sums3& x, const Sums3& y) const {
    return {x.a + y.a, x.b + y.b, x.c + y.c};
  }
};

using BlockReduce3 = cub::BlockReduce<Sums3, kThreads>;
using BlockReduceCount = cub::BlockReduce<long long, kThreads>;

// Block-wide sum, broadcast to every thread.
__device__ Sums3 block_sum(Sums3 value, typename BlockReduce3::TempStorage& storage,
                           Sums3& broadcast) {
  const Sums3 total = BlockReduce3(storage).Reduce(value, AddSums3{});
  if (threadIdx.x == 0) broadcast = total;
  __syncthreads();
  const Sums3 result = broadcast;
  __syncthreads();  // storage and broadcast are reused by the next call
  return result;
}

// The fit of one spectrum by the whole block; every thread must call it. `residuals` may
// be null (the bootstrap's replicates need only α).
template <typename T>
__device__ void fit_spectrum(const T* __restrict__ ascending, long long dim,
                             long long sample_count, long long first_rank, long long requested_last,
                             double epsilon, int residual_method, double* __restrict__ residuals,
                             DeviceFitResult* __restrict__ result) {
  __shared__ typename BlockReduce3::TempStorage storage;
  __shared__ typename BlockReduceCount::TempStorage count_storage;
  __shared__ Sums3 broadcast;
  __shared__ long long positive_shared;

  // λ at 1-based rank i.
  const auto lambda = [&](long long rank) { return static_cast<double>(ascending[dim - rank]); };
  const double largest = lambda(1);
  // ε from the host (detail::rank_epsilon): float32's when the products or the solver are
  // float32, whose rounding leaves noise near 1e-7 · λ_1 that float64's ε would count.
  const double threshold = largest * static_cast<double>(dim) * epsilon;

  // Eigenvalues are sorted, so those above the threshold are exactly ranks 1..count.
  long long local = 0;
  if (largest > 0.0) {
    for (long long rank = 1 + threadIdx.x; rank <= dim; rank += blockDim.x) local += lambda(rank) > threshold;
  }
  const long long positive = BlockReduceCount(count_storage).Sum(local);
  if (threadIdx.x == 0) positive_shared = positive;
  __syncthreads();
  const long long positive_count = positive_shared;

  long long limit = sample_count - 1 < dim ? sample_count - 1 : dim;
  limit = positive_count < limit ? positive_count : limit;
  if (limit < 0) limit = 0;
  const long long last_rank = requested_last < limit ? requested_last : limit;
  if (threadIdx.x == 0) {
    result->first_rank = first_rank;
    result->last_rank = last_rank;
    result->positive_count = positive_count;
    result->zero_threshold = threshold;
    result->fitted = last_rank - first_rank + 1 >= 3;
  }
  if (last_rank - first_rank + 1 < 3) return;  // uniform across the block

  // As the CPU fit: y_i = log(λ_i / λ_first), log λ_first added to the intercept, so that a
  // flat window is y ≡ 0 exactly whatever the order of the sums.
  const double lambda_first = lambda(first_rank);
  const auto y_of = [&](long long rank) { return log(lambda(rank) / lambda_first); };
  for (int method = 0; method < 2; ++method) {
    const auto weight = [method](long long rank) { return method == 0 ? 1.0 / rank : 1.0; };
    Sums3 partial{0.0, 0.0, 0.0};
    for (long long rank = first_rank + threadIdx.x; rank <= last_rank; rank += blockDim.x) {
      const double w = weight(rank);
      partial.a += w;
      partial.b += w * log(static_cast<double>(rank));
      partial.c += w * y_of(rank);
    }
    const Sums3 means = block_sum(partial, storage, broadcast);
    const double x_mean = means.b / means.a, y_mean = means.c / means.a;

    Sums3 moments{0.0, 0.0, 0.0};
    for (long long rank = first_rank + threadIdx.x; rank <= last_rank; rank += blockDim.x) {
      const double w = weight(rank);
      const double dx = log(static_cast<double>(rank)) - x_mean, dy = y_of(rank) - y_mean;
      moments.a += w * dx * dx;
      moments.b += w * dx * dy;
      moments.c += w * dy * dy;
    }
    const Sums3 second = block_sum(moments, storage, broadcast);
    const double slope = second.b / second.a;
    const double intercept = y_mean - slope * x_mean;  // of the shifted y

    Sums3 residual_ss{0.0, 0.0, 0.0};
    for (long long rank = first_rank + threadIdx.x; rank <= last_rank; rank += blockDim.x) {
      const double residual = y_of(rank) - (intercept + slope * log(static_cast<double>(rank)));
      residual_ss.a += weight(rank) * residual * residual;
      if (method == residual_method && residuals != nullptr) residuals[rank - first_rank] = residual;
    }
    const double ss_res = block_sum(residual_ss, storage, broadcast).a;
    if (threadIdx.x == 0) {
      // Same rule as the CPU fit: a window flat to rounding is fitted exactly (R² = 1).
      const double rounding_ss = 64.0 * DBL_EPSILON * DBL_EPSILON * means.a * (1.0 + y_mean * y_mean);
      result->alpha[method] = -slope;
      result->intercept[method] = intercept + log(lambda_first);
      result->r2[method] = second.c > rounding_ss ? 1.0 - ss_res / second.c : 1.0;
    }
  }
}

template <typename T>
__global__ void power_law_fit_kernel(const T* __restrict__ ascending, long long dim,
                                     long long sample_count, long long first_rank,
                                     long long requested_last, double epsilon, int residual_method,
                                     double* __restrict__ residuals,
                                     DeviceFitResult* __restrict__ result) {
  fit_spectrum(ascending, dim, sample_count, first_rank, requested_last, epsilon, residual_method,
               residuals, result);
}

// Block b fits spectrum b (a grid-stride loop over spectra beyond the grid). The loop
// bound is uniform across the block, as fit_spectrum's barriers require.
template <typename T>
__global__ void power_law_fit_batched_kernel(const T* __restrict__ ascending, long long dim,
                                             long long batch,
                                             const unsigned long long* __restrict__ sample_counts,
                                             long long first_rank, long long requested_last,
                                             double epsilon, DeviceFitResult* __restrict__ results) {
  for (long long b = blockIdx.x; b < batch; b += gridDim.x) {
    fit_spectrum(ascending + b * dim, dim, static_cast<long long>(sample_counts[b]), first_rank,
                 requested_last, epsilon, 0, static_cast<double*>(nullptr), results + b);
    __syncthreads();  // the shared storage is reused by the next spectrum
  }
}

}  // namespace

template <typename T>
void launch_power_law_fit(const T* eigenvalues_ascending, std::int64_t dim,
                          std::int64_t sample_count, std::int64_t first_rank,
                          std::int64_t last_rank, double rank_epsilon, int residual_method,
                          double* residuals, DeviceFitResult* result, cudaStream_t stream) {
  power_law_fit_kernel<T><<<1, kThreads, 0, stream>>>(eigenvalues_ascending, dim, sample_count,
                                                      first_rank, last_rank, rank_epsilon,
                                                      residual_method, residuals, result);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template void launch_power_law_fit<float>(const float*, std::int64_t, std::int64_t, std::int64_t,
                                          std::int64_t, double, int, double*, DeviceFitResult*,
                                          cudaStream_t);
template void launch_power_law_fit<double>(const double*, std::int64_t, std::int64_t, std::int64_t,
                                           std::int64_t, double, int, double*, DeviceFitResult*,
                                           cudaStream_t);

template <typename T>
void launch_power_law_fit_batched(const T* eigenvalues_ascending, std::int64_t dim,
                                  std::int64_t batch, const unsigned long long* sample_counts,
                                  std::int64_t first_rank, std::int64_t last_rank,
                                  double rank_epsilon, DeviceFitResult* results, cudaStream_t stream) {
  if (batch < 1) return;
  constexpr std::int64_t kMaxBlocks = 65535;
  const unsigned int blocks = static_cast<unsigned int>(batch < kMaxBlocks ? batch : kMaxBlocks);
  power_law_fit_batched_kernel<T><<<blocks, kThreads, 0, stream>>>(
      eigenvalues_ascending, dim, batch, sample_counts, first_rank, last_rank, rank_epsilon, results);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

template void launch_power_law_fit_batched<float>(const float*, std::int64_t, std::int64_t,
                                                  const unsigned long long*, std::int64_t,
                                                  std::int64_t, double, DeviceFitResult*, cudaStream_t);
template void launch_power_law_fit_batched<double>(const double*, std::int64_t, std::int64_t,
                                                   const unsigned long long*, std::int64_t,
                                                   std::int64_t, double, DeviceFitResult*, cudaStream_t);

}  // namespace alphareq::kernels
