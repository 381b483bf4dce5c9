#pragma once
// Device time of a stage that runs in many pieces (one per batch), measured with CUDA
// events around each piece and summed without synchronising the host: finished pieces are
// collected as later ones begin, the rest when the total is asked for.

#include "cuda/device_memory.hpp"

#include <deque>
#include <memory>

namespace alphareq::cuda {

class StageTimer {
 public:
  explicit StageTimer(double initial_ms = 0.0) : finished_ms_(initial_ms) {}
  void begin(cudaStream_t stream);
  void end(cudaStream_t stream);
  /// Milliseconds of all pieces so far (waits for the last one to finish).
  double total_ms();

 private:
  struct Piece {
    Event start{true};
    Event stop{true};
  };
  void collect(bool wait);
  std::deque<std::unique_ptr<Piece>> pending_;
  std::deque<std::unique_ptr<Piece>> spare_;
  std::unique_ptr<Piece> current_;
  double finished_ms_;
};

}  // namespace alphareq::cuda
