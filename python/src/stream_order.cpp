// Stream ordering between a producer's CUDA memory and the accumulator's reads, for the
// Python layer: the accumulator only queues its reads of a device batch (and makes the
// caller's stream wait for them), so a producer whose allocator does not order reuse on
// that stream — CuPy, JAX/XLA, Numba, anything read through the CUDA array interface — must
// not get its memory back before the reads have run; and a CUDA-array-interface producer's
// own stream must be waited for when the caller chose another one.

#include <nanobind/nanobind.h>

#include <alphareq/error.hpp>
#include <cstdint>

#include "bindings.hpp"

#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_check.hpp"
#include "cuda/device_memory.hpp"
#endif

namespace nb = nanobind;

namespace alphareq::python {
namespace {

#ifdef ALPHAREQ_HAS_CUDA
cudaPointerAttributes device_attributes(std::uintptr_t pointer) {
  cudaPointerAttributes attributes{};
  ALPHAREQ_CUDA_TRY(cudaPointerGetAttributes(&attributes, reinterpret_cast<const void*>(pointer)));
  if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged) {
    throw invalid_input("the batch's pointer is not CUDA device memory");
  }
  return attributes;
}

// The device that owns `pointer` (the stream handles below belong to it: the legacy
// default stream, handle 0, is per device).
int device_of(std::uintptr_t pointer) { return device_attributes(pointer).device; }
#endif

// For an array that does not say where it lives (the CUDA array interface has no device
// field): the device whose memory `pointer` is, or -2 for managed memory, which any device
// reads.
int device_memory_owner(std::uintptr_t pointer) {
#ifdef ALPHAREQ_HAS_CUDA
  const cudaPointerAttributes attributes = device_attributes(pointer);
  return attributes.type == cudaMemoryTypeManaged ? -2 : attributes.device;
#else
  (void)pointer;
  throw backend_unavailable("this alphareq was built without CUDA");
#endif
}

void wait_for_stream(std::uintptr_t stream, std::uintptr_t pointer) {
#ifdef ALPHAREQ_HAS_CUDA
  nb::gil_scoped_release unlocked;
  const cuda::DeviceGuard guard(device_of(pointer));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)));
#else
  (void)stream;
  (void)pointer;
  throw backend_unavailable("this alphareq was built without CUDA");
#endif
}

void make_stream_wait(std::uintptr_t waiting, std::uintptr_t producer, std::uintptr_t pointer) {
#ifdef ALPHAREQ_HAS_CUDA
  if (waiting == producer) return;
  nb::gil_scoped_release unlocked;
  const cuda::DeviceGuard guard(device_of(pointer));
  const cuda::Event ready;
  ready.record(reinterpret_cast<cudaStream_t>(producer));
  ready.make_wait(reinterpret_cast<cudaStream_t>(waiting));
#else
  (void)waiting;
  (void)producer;
  (void)pointer;
  throw backend_unavailable("this alphareq was built without CUDA");
#endif
}

}  // namespace

void bind_stream_order(nb::module_& module) {
  module.def("device_memory_owner", &device_memory_owner, nb::arg("pointer"),
             "The CUDA device whose memory `pointer` is; -2 for managed memory. Raises "
             "ValueError for host memory.");
  module.def("wait_for_stream", &wait_for_stream, nb::arg("stream"), nb::arg("pointer"),
             "Blocks until the work queued so far on `stream` (a cudaStream_t of the device that "
             "owns `pointer`) has run.");
  module.def("make_stream_wait", &make_stream_wait, nb::arg("waiting"), nb::arg("producer"),
             nb::arg("pointer"),
             "Makes the stream `waiting` wait, on the device, for the work queued so far on "
             "`producer` (both of the device that owns `pointer`).");
}

}  // namespace alphareq::python
