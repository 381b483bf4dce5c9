// cuda_app: α of activations that never leave the GPU.
//
// A kernel of this program produces batches of "activations" (n × D float32 with a known
// power-law spectrum) on this program's own stream, into one device buffer it reuses, and
// hands each batch to alphareq as a device view on that stream. The batches are copied to
// the host only to check the result against the CPU backend.
// Exit status: 0 when the CUDA and CPU α agree to 1e-6, 1 on any error, 77 without a GPU.

#include <alphareq/alphareq.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#define CHECK_CUDA(call)                                                                 \
  do {                                                                                   \
    const cudaError_t status_ = (call);                                                  \
    if (status_ != cudaSuccess) {                                                        \
      std::fprintf(stderr, "cuda_app: %s failed: %s (%s) at %s:%d\n", #call,              \
                   cudaGetErrorName(status_), cudaGetErrorString(status_), __FILE__, __LINE__); \
      std::exit(1);                                                                      \
    }                                                                                    \
  } while (0)

namespace {

constexpr int kDim = 256;            // D: a power of two, for the Walsh–Hadamard rotation
constexpr int kRowsPerBatch = 4096;  // samples per batch
constexpr int kBatches = 8;          // n = 32768
constexpr float kAlpha = 1.0f;       // population spectrum λ_k = k^(−α)
constexpr std::uint64_t kSeed = 2024;

// splitmix64's finaliser: a counter-based generator, so any thread can draw the number
// for any (row, k) without shared state, and every run produces the same data.
__device__ std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Standard normal for counter (row, k), by Box–Muller on two 24-bit uniforms.
__device__ float standard_normal(std::uint64_t row, int k) {
  const std::uint64_t bits = mix(kSeed ^ mix(row * kDim + static_cast<std::uint64_t>(k)));
  const float u1 = (static_cast<float>(bits >> 40) + 1.0f) * 0x1p-24f;  // (0, 1]: log finite
  const float u2 = static_cast<float>(bits & 0xFFFFFFu) * 0x1p-24f;
  return sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
}

// One block per sample, one thread per feature. Latents z_k ~ N(0, λ_k) are rotated by the
// orthonormal Walsh–Hadamard matrix H / √D (H_jk = (−1)^popcount(j & k)): the features are
// correlated, yet the population covariance still has eigenvalues exactly λ_k.
__global__ void generate_activations(float* batch, std::int64_t first_row) {
  __shared__ float latent[kDim];
  const int k = threadIdx.x;
  const std::uint64_t row = static_cast<std::uint64_t>(first_row + blockIdx.x);
  latent[k] = powf(static_cast<float>(k + 1), -0.5f * kAlpha) * standard_normal(row, k);
  __syncthreads();
  const int j = threadIdx.x;
  float sum = 0.0f;
  for (int i = 0; i < kDim; ++i) sum += (__popc(i & j) & 1) ? -latent[i] : latent[i];
  // A mean of 3 on every feature, as real activations have: alphareq centres it away.
  batch[static_cast<std::int64_t>(blockIdx.x) * kDim + j] = 3.0f + sum * rsqrtf(kDim);
}

}  // namespace

int main() {
  int devices = 0;
  const cudaError_t found = cudaGetDeviceCount(&devices);
  if (found != cudaSuccess || devices == 0) {
    std::printf("cuda_app: no CUDA device (%s), skipping\n",
                found != cudaSuccess ? cudaGetErrorString(found) : "0 devices");
    return 77;
  }

  try {
    cudaStream_t stream = nullptr;
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    const std::unique_ptr<CUstream_st, cudaError_t (*)(cudaStream_t)> stream_owner(
        stream, cudaStreamDestroy);
    const std::size_t batch_bytes = sizeof(float) * kRowsPerBatch * kDim;
    float* batch = nullptr;  // reused for every batch
    CHECK_CUDA(cudaMalloc(&batch, batch_bytes));
    const std::unique_ptr<float, cudaError_t (*)(void*)> batch_owner(batch, cudaFree);
    float* host_copy = nullptr;  // for the check only
    CHECK_CUDA(cudaMallocHost(&host_copy, batch_bytes));
    const std::unique_ptr<float, cudaError_t (*)(void*)> host_owner(host_copy, cudaFreeHost);

    using namespace alphareq;
    CovarianceAccumulator on_gpu(kDim, AccumulatorOptions{Backend::cuda});
    CovarianceAccumulator on_cpu(kDim, AccumulatorOptions{Backend::cpu});
    for (int b = 0; b < kBatches; ++b) {
      // Overwriting `batch` is safe without waiting: work queued on `stream` after
      // add_batch runs only once alphareq has finished reading the previous batch.
      generate_activations<<<kRowsPerBatch, kDim, 0, stream>>>(
          batch, static_cast<std::int64_t>(b) * kRowsPerBatch);
      CHECK_CUDA(cudaGetLastError());
      on_gpu.add_batch(MatrixView{batch, kRowsPerBatch, kDim, kDim, DType::float32,
                                  MemorySpace::device, stream});

      // The check: the same batch through the host into the CPU backend. The copy is
      // queued after add_batch, so it sees the batch alphareq read; the synchronisation is
      // what a real application would not need.
      CHECK_CUDA(cudaMemcpyAsync(host_copy, batch, batch_bytes, cudaMemcpyDeviceToHost, stream));
      CHECK_CUDA(cudaStreamSynchronize(stream));
      on_cpu.add_batch(host_matrix(host_copy, kRowsPerBatch, kDim));
    }

    const AlphaReport gpu = on_gpu.report();
    const AlphaReport cpu = on_cpu.report();
    std::printf("cuda_app: n = %lld samples, D = %d features, population alpha %.2f\n",
                static_cast<long long>(gpu.n), kDim, kAlpha);
    std::printf("  alpha (%s)  %.6f   R^2 %.6f   ranks %lld..%lld\n", gpu.backend.c_str(),
                gpu.fit.alpha, gpu.fit.r2, static_cast<long long>(gpu.fit.first_rank),
                static_cast<long long>(gpu.fit.last_rank));
    std::printf("  alpha (%s)   %.6f   R^2 %.6f\n", cpu.backend.c_str(), cpu.fit.alpha, cpu.fit.r2);
    CHECK_CUDA(cudaStreamSynchronize(stream));  // before the buffers are freed
    if (!(std::fabs(gpu.fit.alpha - cpu.fit.alpha) <= 1e-6)) {
      std::fprintf(stderr, "cuda_app: CUDA and CPU alpha differ by %.3g (more than 1e-6)\n",
                   std::fabs(gpu.fit.alpha - cpu.fit.alpha));
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {  // alphareq::error and allocation failures
    std::fprintf(stderr, "cuda_app: %s\n", e.what());
    return 1;
  }
}
