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
std::vector<double> synthetic_power_law_features(const SyntheticSpec& spec);

/// Deterministic standard normal numbers (splitmix64 + Box–Muller), platform-independent.
class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed) : state_(seed) {}
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
