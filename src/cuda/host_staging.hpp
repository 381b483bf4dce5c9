#pragma once
// Host batches reach the device through two pinned buffers used in turn: while the device
// works on chunk k, the host packs chunk k + 1 and its copy runs on a second stream, so
// the transfer overlaps the product. Batches already in page-locked memory skip the packing
// (a host memcpy that would otherwise bound the stream at host memory bandwidth).

#include "cuda/device_memory.hpp"

#include <alphareq/matrix_view.hpp>

#include <algorithm>
#include <cstdint>

namespace alphareq::cuda {

class HostStager {
 public:
  /// Room for chunks of up to `bytes` bytes each.
  explicit HostStager(std::size_t bytes);

  /// Packs rows [first_row, first_row + rows) of the host view into the next pinned buffer,
  /// queues its copy to the device and makes `compute` wait for it. Returns the device copy
  /// (contiguous rows, same dtype). Blocks the host only while that buffer's previous copy
  /// is still running. A page-locked view is not packed: it is copied directly, and the
  /// call returns once that copy has read it (the caller may then reuse its memory).
  const void* stage(const MatrixView& host, std::int64_t first_row, std::int64_t rows,
                    cudaStream_t compute);

  /// The device copy returned by the last stage() may be overwritten once the work queued
  /// on `compute` so far has run.
  void release(cudaStream_t compute);

  /// stage() each chunk of `chunk_rows` rows of `host` in turn, hands it to
  /// `use(device_copy, first_row, rows)` (which queues its reads on `compute`) and
  /// release()s it — also when `use` throws, so that a later chunk staged into the same
  /// buffer waits for the reads `use` had queued.
  template <typename Use>
  void for_each_chunk(const MatrixView& host, std::int64_t chunk_rows, cudaStream_t compute,
                      Use&& use) {
    for (std::int64_t first = 0; first < host.rows; first += chunk_rows) {
      const std::int64_t rows = std::min(chunk_rows, host.rows - first);
      const void* staged = stage(host, first, rows, compute);
      try {
        use(staged, first, rows);
      } catch (...) {
        release(compute);
        throw;
      }
      release(compute);
    }
  }

 private:
  struct Slot {
    PinnedBuffer<unsigned char> pinned;
    DeviceBuffer<unsigned char> device;
    Event copied;    // the host→device copy out of `pinned` has finished
    Event consumed;  // the compute stream has finished reading `device`
  };
  std::size_t bytes_;
  Slot slots_[2];
  int current_ = 1;
  Stream copy_stream_;
};

}  // namespace alphareq::cuda
