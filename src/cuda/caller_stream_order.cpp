#include "cuda/caller_stream_order.hpp"

#include "cuda/cuda_check.hpp"

#include <alphareq/error.hpp>

#include <cuda_runtime.h>

namespace alphareq::cuda {

int device_of_stream(cudaStream_t stream) {
#if CUDART_VERSION >= 12080
  int device = -1;
  ALPHAREQ_CUDA_TRY(cudaStreamGetDevice(stream, &device));
  return device;
#else
  (void)stream;
  return -1;
#endif
}

void require_stream_on_device(cudaStream_t stream, int device, const std::string& what) {
  const int stream_device = device_of_stream(stream);
  if (stream_device >= 0 && stream_device != device) {
    throw invalid_input(what + " is a stream of device " + std::to_string(stream_device) +
                        ", but the work runs on device " + std::to_string(device) +
                        ": give a stream of device " + std::to_string(device) +
                        " (or none, for a stream of alphareq's own)");
  }
}

void wait_for_caller(const Event& ready, cudaStream_t caller, cudaStream_t own) {
  int current = 0;
  ALPHAREQ_CUDA_TRY(cudaGetDevice(&current));
  const int caller_device = device_of_stream(caller);
  if (caller_device < 0 || caller_device == current) {
    ready.record(caller);
    ready.make_wait(own);
    return;
  }
  const DeviceGuard on_callers_device(caller_device);
  const Event recorded_there;
  recorded_there.record(caller);
  // The wait is queued before the event goes: CUDA keeps what it needs until then.
  recorded_there.make_wait(own);
}

}  // namespace alphareq::cuda
