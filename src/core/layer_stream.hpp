#pragma once
// The one CUDA stream the layers of a multi-layer pass share (compute_alpha_layers*): all
// layers' work is queued in order on it, as the caller's own stream would be. Created only
// when the options resolve to the CUDA backend and name no stream; otherwise it leaves the
// options as they are. It must outlive the accumulators that use it.

#include <alphareq/accumulator.hpp>

#include <memory>

#ifdef ALPHAREQ_HAS_CUDA
namespace alphareq::cuda {
class Stream;
}
#endif

namespace alphareq::detail {

class LayerStream {
 public:
  explicit LayerStream(const AccumulatorOptions& options);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  /// The options every layer's accumulator gets: `options` with the shared stream.
  const AccumulatorOptions& options() const { return options_; }

 private:
  AccumulatorOptions options_;
#ifdef ALPHAREQ_HAS_CUDA
  std::unique_ptr<cuda::Stream> owned_stream_;  // the stream this object created, or null
  int device_ = -1;                             // the device it belongs to
#endif
};

}  // namespace alphareq::detail
