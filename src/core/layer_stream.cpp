#include "core/layer_stream.hpp"

#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_check.hpp"
#include "cuda/device_memory.hpp"

#include <cuda_runtime.h>
#endif

namespace alphareq::detail {

LayerStream::LayerStream(const AccumulatorOptions& options) : options_(options) {
#ifdef ALPHAREQ_HAS_CUDA
  if (options.stream != nullptr || resolve_backend(options.backend) != Backend::cuda) return;
  int device = options.device, count = 0;
  if (device < 0) ALPHAREQ_CUDA_TRY(cudaGetDevice(&device));
  ALPHAREQ_CUDA_TRY(cudaGetDeviceCount(&count));
  if (device >= count) return;  // the accumulators refuse the ordinal, with their message
  const cuda::DeviceGuard guard(device);  // a stream belongs to the device current at creation
  owned_stream_ = std::make_unique<cuda::Stream>();
  device_ = device;
  options_.stream = owned_stream_->get();
#endif
}

LayerStream::~LayerStream() {
#ifdef ALPHAREQ_HAS_CUDA
  // The accumulators synchronised it when they were destroyed (before this object).
  if (owned_stream_ == nullptr) return;
  // Often run while a cuda_error unwinds; DeviceGuard throws when cudaGetDevice/SetDevice
  // report an earlier asynchronous error, and a destructor that throws then terminates.
  try {
    const cuda::DeviceGuard guard(device_);
    owned_stream_.reset();
  } catch (...) {
    owned_stream_.reset();  // cudaStreamDestroy does not need its device to be current
  }
#endif
}

}  // namespace alphareq::detail
