#include "cuda/stage_timer.hpp"

namespace alphareq::cuda {

void StageTimer::begin(cudaStream_t stream) {
  collect(false);
  if (spare_.empty()) {
    current_ = std::make_unique<Piece>();
  } else {
    current_ = std::move(spare_.front());
    spare_.pop_front();
  }
  current_->start.record(stream);
}

void StageTimer::end(cudaStream_t stream) {
  if (!current_) return;
  current_->stop.record(stream);
  pending_.push_back(std::move(current_));
}

void StageTimer::collect(bool wait) {
  // Pieces were queued in stream order, so they finish in order: stop at the first
  // unfinished one unless asked to wait.
  while (!pending_.empty()) {
    Piece& piece = *pending_.front();
    if (!wait) {
      const cudaError_t status = cudaEventQuery(piece.stop.get());
      if (status == cudaErrorNotReady) {
        cudaGetLastError();  // not an error: it must not surface at the next launch check
        return;
      }
      ALPHAREQ_CUDA_TRY(status);
    }
    finished_ms_ += elapsed_ms(piece.start, piece.stop);
    spare_.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
}

double StageTimer::total_ms() {
  collect(true);
  return finished_ms_;
}

}  // namespace alphareq::cuda
