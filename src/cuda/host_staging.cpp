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

const void* HostStager::stage(const MatrixView& host, std::int64_t first_row, std::int64_t rows,
                              cudaStream_t compute) {
  current_ = 1 - current_;
  Slot& slot = slots_[current_];
  const std::size_t element = size_of(host.dtype);
  const std::size_t row_bytes = static_cast<std::size_t>(host.cols) * element;
  // The pinned buffer is free once its previous copy has left it.
  slot.copied.synchronize();
  if (static_cast<std::size_t>(rows) * row_bytes > bytes_) {
    throw std::logic_error("HostStager: chunk larger than the staging buffers");
  }
  const auto* source = static_cast<const unsigned char*>(host.data);
  if (host.row_stride == host.cols) {
    std::memcpy(slot.pinned.data(), source + first_row * row_bytes, rows * row_bytes);
  } else {
    for (std::int64_t r = 0; r < rows; ++r) {
      std::memcpy(slot.pinned.data() + r * row_bytes,
                  source + (first_row + r) * host.row_stride * element, row_bytes);
    }
  }
  slot.consumed.make_wait(copy_stream_.get());
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(slot.device.data(), slot.pinned.data(), rows * row_bytes,
                                    cudaMemcpyHostToDevice, copy_stream_.get()));
  slot.copied.record(copy_stream_.get());
  slot.copied.make_wait(compute);
  return slot.device.data();
}

void HostStager::release(cudaStream_t compute) { slots_[current_].consumed.record(compute); }

}  // namespace alphareq::cuda
