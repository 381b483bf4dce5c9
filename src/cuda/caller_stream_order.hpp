#pragma once
// Reading a caller's device memory on the library's own stream, in the caller's stream
// order: the reads wait for the caller's earlier work (which may still be writing the
// batch), and the caller's later work (overwriting or freeing it) waits for the reads.

#include "cuda/device_memory.hpp"

#include <utility>

namespace alphareq::cuda {

/// Runs `queue_reads` (which queues work reading the caller's memory on `own`) after making
/// `own` wait for `caller`, then makes `caller` wait for `own` through `done` — also when
/// `queue_reads` throws part way, since what it queued before that still reads the memory.
template <typename QueueReads>
void read_in_callers_order(const Event& ready, const Event& done, cudaStream_t caller,
                           cudaStream_t own, QueueReads&& queue_reads) {
  ready.record(caller);
  ready.make_wait(own);
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
