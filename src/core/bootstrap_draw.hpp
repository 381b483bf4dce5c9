#pragma once
// The Poisson bootstrap's draw: how many times sample i enters replicate b, a pure function
// of (seed, b, i). Counter-based (no generator state), so chunks may arrive in any split
// and in any order, and host and device code draw identical replicates: the CPU bootstrap
// and the CUDA kernels include this one header.
//
// Hash: splitmix64's finaliser applied three times, folding in the seed, the replicate and
// the sample; 53 bits of the result are a uniform v / 2^53 on [0, 1). Poisson(1) by
// inversion, done in integers: k = #{j : v >= T_j} with T_j = ceil(P(K <= j) · 2^53), the
// CDF thresholds below (exact, computed once with 80-digit arithmetic). No floating point
// is involved, so the draw is bit-identical on every compiler and device. Beyond j = 16 the
// CDF rounds to 1 at this resolution: the largest multiplicity is 17.

#include "core/host_device.hpp"
#include "core/splitmix64.hpp"

#include <cstdint>

namespace alphareq::detail {

/// The part of the hash shared by every sample of one replicate (hoisted out of loops).
ALPHAREQ_HOST_DEVICE inline std::uint64_t bootstrap_replicate_key(std::uint64_t seed,
                                                                  std::int64_t replicate) {
  return splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(replicate));
}

/// Multiplicity k ~ Poisson(1) of sample `sample` (0-based over all the data) in the
/// replicate whose key is `replicate_key`.
ALPHAREQ_HOST_DEVICE inline int bootstrap_multiplicity(std::uint64_t replicate_key,
                                                       std::int64_t sample) {
  constexpr std::uint64_t thresholds[17] = {
      3313563428353948ULL, 6627126856707896ULL, 8283908570884870ULL, 8836169142277195ULL,
      8974234285125276ULL, 9001847313694892ULL, 9006449485123162ULL, 9007106938184343ULL,
      9007189119816991ULL, 9007198251109507ULL, 9007199164238759ULL, 9007199247250509ULL,
      9007199254168155ULL, 9007199254700281ULL, 9007199254738290ULL, 9007199254740824ULL,
      9007199254740983ULL};
  const std::uint64_t v = splitmix64(replicate_key ^ static_cast<std::uint64_t>(sample)) >> 11;
  int k = 0;
  for (int j = 0; j < 17; ++j) k += v >= thresholds[j] ? 1 : 0;
  return k;
}

/// The same, from the seed and the replicate index directly.
ALPHAREQ_HOST_DEVICE inline int bootstrap_multiplicity(std::uint64_t seed, std::int64_t replicate,
                                                       std::int64_t sample) {
  return bootstrap_multiplicity(bootstrap_replicate_key(seed, replicate), sample);
}

}  // namespace alphareq::detail
