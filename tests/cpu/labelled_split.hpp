#pragma once
// Labelled synthetic features for the probe tests (CPU and CUDA): a split of n samples,
// their labels, and the view the probe takes.

#include <alphareq/probe.hpp>
#include <alphareq/synthetic.hpp>

#include <cstdint>
#include <vector>

namespace alphareq::test {

struct LabelledSplit {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  std::int64_t n, d;
  LabelledData labelled() const { return LabelledData{host_matrix(x.data(), n, d), y}; }
};

/// n samples of `classes` classes in d dimensions: `seed` fixes the class centres, `stream`
/// the samples (another stream, other samples of the same classes).
inline LabelledSplit labelled_split(std::int64_t n, std::int64_t d, std::int64_t classes,
                                    std::uint64_t seed, std::uint64_t stream,
                                    double separation = 1.0) {
  LabelledSyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.classes = classes;
  spec.separation = separation;
  spec.seed = seed;
  spec.sample_stream = stream;
  LabelledSplit split{{}, {}, n, d};
  synthetic_labelled_features(spec, split.x, split.y);
  return split;
}

}  // namespace alphareq::test
