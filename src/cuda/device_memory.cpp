#include "cuda/device_memory.hpp"

#include "core/host_memory.hpp"

#include <alphareq/error.hpp>

namespace alphareq::cuda {

void* allocate_device_bytes(std::size_t bytes, const std::string& what) {
  if (bytes == 0) return nullptr;
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so the context stays usable
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    int device = 0;
    cudaGetDevice(&device);
    throw out_of_memory("CUDA device " + std::to_string(device) + ": " + what + " needs " +
                        detail::format_bytes(static_cast<double>(bytes)) + ", but only " +
                        detail::format_bytes(static_cast<double>(free_bytes)) + " of " +
                        detail::format_bytes(static_cast<double>(total_bytes)) + " are free");
  }
  ALPHAREQ_CUDA_TRY(status);
  return pointer;
}

void* allocate_pinned_bytes(std::size_t bytes, const std::string& what) {
  if (bytes == 0) return nullptr;
  void* pointer = nullptr;
  const cudaError_t status = cudaMallocHost(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw out_of_memory("could not allocate " + detail::format_bytes(static_cast<double>(bytes)) +
                        " of pinned host memory for " + what);
  }
  ALPHAREQ_CUDA_TRY(status);
  return pointer;
}

float elapsed_ms(const Event& start, const Event& stop) {
  stop.synchronize();
  float milliseconds = 0.0f;
  ALPHAREQ_CUDA_TRY(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
  return milliseconds;
}

}  // namespace alphareq::cuda
