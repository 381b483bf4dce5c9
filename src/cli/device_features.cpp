#include "cli/device_features.hpp"

#include <alphareq/error.hpp>

#ifdef ALPHAREQ_HAS_CUDA
#include <cuda_runtime.h>
#endif

#include <string>

namespace alphareq::cli {

#ifdef ALPHAREQ_HAS_CUDA
namespace {
void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    throw cuda_error(std::string(call) + " failed: " + cudaGetErrorName(status) + " (" +
                     cudaGetErrorString(status) + ")");
  }
}
}  // namespace

DeviceFeatures::DeviceFeatures(const float* host, std::int64_t rows, std::int64_t cols)
    : rows_(rows), cols_(cols) {
  const std::size_t bytes = static_cast<std::size_t>(rows * cols) * sizeof(float);
  check(cudaMalloc(&data_, bytes), "cudaMalloc");
  const cudaError_t status = cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice);
  if (status != cudaSuccess) {
    cudaFree(data_);
    check(status, "cudaMemcpy");
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
