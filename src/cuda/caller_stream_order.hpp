#pragma once
// Reading a caller's device memory on the library's own stream, in the caller's stream
// order: the reads wait for the caller's earlier work (which may still be writing the
// batch), and the caller's later work (overwriting or freeing it) waits for the reads.
//
// The caller's stream may belong to another device than the library's (managed memory
// written by another GPU's work): an event can only be recorded on a stream of its own
// device, but a stream may wait for an event of any device.

#include "cuda/device_memory.hpp"

#include <string>
#include <utility>

namespace alphareq::cuda {

/// The device `stream` belongs to (the legacy and per-thread default streams: the current
/// device's); -1 where the CUDA runtime cannot tell (before CUDA 12.8).
int device_of_stream(cudaStream_t stream);

/// Throws invalid_input unless `stream` (the caller's, named by `what`) belongs to `device`:
/// work queued on a stream of another device fails with an opaque CUDA error.
void require_stream_on_device(cudaStream_t stream, int device, const std::string& what);

/// Makes `own` (a stream of the current device) wait for the work queued on `caller` so
/// far, through `ready` (an event of the current device) when `caller` is of the current
/// device too, and through an event of the caller's device otherwise.
void wait_for_caller(const Event& ready, cudaStream_t caller, cudaStream_t own);

/// Runs `queue_reads` (which queues work reading the caller's memory on `own`, a stream of
/// the current device) after making `own` wait for `caller`, then makes `caller` wait for
/// `own` through `done` — also when `queue_reads` throws part way, since what it queued
/// before that still reads the memory.
template <typename QueueReads>
void read_in_callers_order(const Event& ready, const Event& done, cudaStream_t caller,
                           cudaStream_t own, QueueReads&& queue_reads) {
  wait_for_caller(ready, caller, own);
  try {
    std::forward<QueueReads>(queue_reads)();
  } catch (...) {
    done.record(own);
    done.make_wait(caller);
    throw;
  }
  done.record(own);
  done.make_wait(caller);
}

}  // namespace alphareq::cuda
