#include "cuda/host_staging.hpp"

#include <cstring>
#include <stdexcept>

namespace alphareq::cuda {

HostStager::HostStager(std::size_t bytes) : bytes_(bytes) {
  for (Slot& slot : slots_) {
    slot.pinned = PinnedBuffer<unsigned char>(bytes, "a host staging buffer");
    slot.device = DeviceBuffer<unsigned char>(bytes, "a device staging buffer");
  }
}

namespace {

// Page-locked host memory (cudaMallocHost, cudaHostAlloc, cudaHostRegister) can be copied to
// the device directly by the copy engine; pageable memory must be packed into ours first.
bool is_page_locked(const void* pointer) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, pointer) != cudaSuccess) {
    cudaGetLastError();  // an unknown pointer is pageable memory, not an error
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

}  // namespace

const void* HostStager::stage(const MatrixView& host, std::int64_t first_row, std::int64_t rows,
                              cudaStream_t compute) {
  current_ = 1 - current_;
  Slot& slot = slots_[current_];
  const std::size_t element = size_of(host.dtype);
  const std::size_t row_bytes = static_cast<std::size_t>(host.cols) * element;
  const std::size_t source_pitch = static_cast<std::size_t>(host.row_stride) * element;
  if (static_cast<std::size_t>(rows) * row_bytes > bytes_) {
    throw std::logic_error("HostStager: chunk larger than the staging buffers");
  }
  const auto* source = static_cast<const unsigned char*>(host.data) + first_row * source_pitch;
  // The device buffer is free once the compute stream has read its previous contents.
  slot.consumed.make_wait(copy_stream_.get());
  if (is_page_locked(host.data)) {
    // No packing: one (2-D, for a row stride) copy straight from the caller's memory. The
    // caller may reuse that memory when add_batch returns, so wait for the copy here; the
    // compute stream still works on the previous chunk meanwhile.
    ALPHAREQ_CUDA_TRY(cudaMemcpy2DAsync(slot.device.data(), row_bytes, source, source_pitch, row_bytes,
                                        static_cast<std::size_t>(rows), cudaMemcpyHostToDevice,
                                        copy_stream_.get()));
    slot.copied.record(copy_stream_.get());
    slot.copied.synchronize();
  } else {
    // The pinned buffer is free once its previous copy has left it.
    slot.copied.synchronize();
    if (source_pitch == row_bytes) {
      std::memcpy(slot.pinned.data(), source, rows * row_bytes);
    } else {
      for (std::int64_t r = 0; r < rows; ++r) {
        std::memcpy(slot.pinned.data() + r * row_bytes, source + r * source_pitch, row_bytes);
      }
    }
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(slot.device.data(), slot.pinned.data(), rows * row_bytes,
                                      cudaMemcpyHostToDevice, copy_stream_.get()));
    slot.copied.record(copy_stream_.get());
  }
  slot.copied.make_wait(compute);
  return slot.device.data();
}

void HostStager::release(cudaStream_t compute) { slots_[current_].consumed.record(compute); }

}  // namespace alphareq::cuda
