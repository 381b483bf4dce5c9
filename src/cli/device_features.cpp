#include "cli/device_features.hpp"

#include <alphareq/error.hpp>

#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_check.hpp"
#include "cuda/device_memory.hpp"

#include <cuda_runtime.h>
#endif

#include <string>

namespace alphareq::cli {

#ifdef ALPHAREQ_HAS_CUDA
DeviceFeatures::DeviceFeatures(const float* host, std::int64_t rows, std::int64_t cols)
    : rows_(rows), cols_(cols) {
  const std::size_t bytes = static_cast<std::size_t>(rows * cols) * sizeof(float);
  // out_of_memory with the bytes and what they were for, as every device buffer says it.
  data_ = cuda::allocate_device_bytes(
      bytes, "the device-resident features (" + std::to_string(rows) + " x " + std::to_string(cols) + " float32)");
  const cudaError_t status = cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice);
  if (status != cudaSuccess) {
    cudaFree(data_);
    cuda::throw_cuda_error(status, "cudaMemcpy(the device-resident features)", __FILE__, __LINE__);
  }
}

DeviceFeatures::~DeviceFeatures() { cudaFree(data_); }
#else
DeviceFeatures::DeviceFeatures(const float*, std::int64_t rows, std::int64_t cols)
    : rows_(rows), cols_(cols) {
  throw backend_unavailable("device features: alphareq was built without CUDA");
}
DeviceFeatures::~DeviceFeatures() = default;
#endif

MatrixView DeviceFeatures::view() const {
  return MatrixView{data_, rows_, cols_, cols_, DType::float32, MemorySpace::device, nullptr};
}

}  // namespace alphareq::cli
