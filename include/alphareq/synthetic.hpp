#pragma once
/// @file synthetic.hpp
/// Seeded synthetic features with a known power-law covariance spectrum, for the demo,
/// tests and benchmarks.

#include <cstdint>
#include <vector>

namespace alphareq {

/// What to generate.
struct SyntheticSpec {
  std::int64_t n = 10000;  ///< samples
  std::int64_t d = 256;    ///< features
  double alpha = 1.0;      ///< population spectrum λ_i = scale · i^(−alpha)
  double scale = 1.0;
  /// Added to every feature: a mean far above the spread tests the centring.
  double offset = 0.0;
  /// Rotate the spectrum by a random orthogonal matrix so the covariance is not diagonal.
  bool rotate = true;
  std::uint64_t seed = 0;
};

/// λ_i = scale · i^(−alpha) for i = 1..d.
std::vector<double> power_law_spectrum(std::int64_t d, double alpha, double scale = 1.0);

/// n × d row-major Gaussian samples x = offset + Q diag(√λ) z, z ~ N(0, I), so the
/// population covariance has eigenvalues power_law_spectrum(d, alpha, scale). The same
/// spec gives the same numbers on every platform (own generator, no std distributions).
/// Throws invalid_input for n or d < 1, alpha not finite or < 0, scale not finite or <= 0,
/// or an offset that is not finite.
std::vector<double> synthetic_power_law_features(const SyntheticSpec& spec);

/// Features with class structure and a power-law spectrum, for timing and testing probes.
struct LabelledSyntheticSpec {
  std::int64_t n = 10000;
  std::int64_t d = 256;
  std::int64_t classes = 10;
  double alpha = 1.0;
  /// Distance of the class centres in units of the noise spread along each direction.
  double separation = 1.0;
  std::uint64_t seed = 0;           ///< seeds the class centres
  std::uint64_t sample_stream = 0;  ///< seeds the samples: another stream, other samples
};

/// n × d row-major float32 features x = √λ ⊙ (z + separation · c_y) with λ_j = j^(−alpha),
/// z ~ N(0, I), class centres c_k ~ N(0, I), and labels y uniform over the classes. Made
/// in blocks of rows on all hardware threads, each block from its own seed, so the result
/// does not depend on the thread count. Throws invalid_input for n or d < 1, classes < 2,
/// alpha not finite or < 0, or a separation that is not finite, and out_of_memory (before
/// allocating) for features larger than the machine's memory.
void synthetic_labelled_features(const LabelledSyntheticSpec& spec, std::vector<float>& features,
                                 std::vector<std::int32_t>& labels);

/// Deterministic standard normal numbers (splitmix64 + Box–Muller), platform-independent.
/// The seed is mixed (splitmix64's finaliser) before it starts the sequence: splitmix64's
/// state advances by a constant, so seeded directly, seed s + 2 drew seed s's normals two
/// places later, and "independent" replicates were near copies. Any two seeds now start
/// unrelated sequences.
class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed);
  double next();
  std::uint64_t next_u64();
  /// Uniform in (0, 1).
  double next_uniform();

 private:
  std::uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace alphareq
