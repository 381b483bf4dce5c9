// Whether the CUDA backend can run here.

#include <alphareq/accumulator.hpp>

#include <cuda_runtime.h>

#include <string>

namespace alphareq {

bool cuda_available(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // a machine without a driver is an answer, not an error to keep
    if (why != nullptr) {
      *why = std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorName(status) +
             ", " + cudaGetErrorString(status) + ")";
    }
    return false;
  }
  if (count == 0) {
    if (why != nullptr) *why = "no CUDA device found";
    return false;
  }
  return true;
}

}  // namespace alphareq
