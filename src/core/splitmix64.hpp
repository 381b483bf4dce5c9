#pragma once
// splitmix64's step and finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mix, for
// host and device code. The bootstrap's counter-based draw hashes with it, and
// NormalGenerator mixes its seed with it.

#include "core/host_device.hpp"

#include <cstdint>

namespace alphareq::detail {

ALPHAREQ_HOST_DEVICE inline std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace alphareq::detail
