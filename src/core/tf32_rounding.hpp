#pragma once
// Rounding a float32 value to TF32 (the tensor cores' input format: float32's 8 exponent
// bits, 10 of its 23 mantissa bits), to nearest with ties to even.
//
// Why the CUDA backend rounds itself (AccumulationPrecision::tf32): a TF32 GEMM rounds its
// inputs inside the tensor cores (to nearest or, in some kernels, by truncation), but the
// column sums that the covariance subtracts (M2 = Σ y yᵀ − S Sᵀ / n) come from a float32
// GEMV/GEMM that sees the unrounded values. The two then describe different data, and the
// cancellation turns that into an error of up to about 2^-11 · ((shift − mean) / spread)²
// of the variance, biased when the tensor cores truncate. Emulated with a first batch of
// one sample 20 spreads out (bench/emulate_tf32_products.py --scenario outlier-shift), the
// largest covariance error was 28 % of the largest variance with truncating tensor cores,
// 0.5 % with rounding ones, and 0.03 % with the inputs rounded here. Values rounded here
// pass the tensor cores unchanged, so the product and the sums see the same data whatever
// the hardware does. Ties go to even, not away from zero: the bootstrap's weighted copies
// (3 · y needs two more bits than y) tie often, and rounding those away from zero would
// bias them, and with them the cancellation, again.

#include "core/host_device.hpp"

#include <cstdint>
#include <cstring>

namespace alphareq::detail {

/// The TF32 value nearest `value` (ties to even), as a float32. NaN and ±Inf are returned
/// as they are (the conversion kernels flag them); a finite value whose rounding would
/// overflow is truncated instead, to the largest TF32 value below it.
ALPHAREQ_HOST_DEVICE inline float round_to_tf32(float value) {
  constexpr std::uint32_t exponent_mask = 0x7F800000u;
  constexpr std::uint32_t dropped_bits = 0x00001FFFu;  // the 13 mantissa bits TF32 lacks
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & exponent_mask) == exponent_mask) return value;
  // Adding just under half a TF32 ulp, plus the lowest kept bit, carries into the kept bits
  // (and on into the exponent at a binade's end) exactly when the dropped part is above
  // half, or half with an odd kept part. The sign bit is untouched: this rounds magnitudes.
  const std::uint32_t lowest_kept_bit = (bits >> 13) & 1u;
  std::uint32_t rounded = (bits + 0x00000FFFu + lowest_kept_bit) & ~dropped_bits;
  if ((rounded & exponent_mask) == exponent_mask) rounded = bits & ~dropped_bits;
  float result;
  std::memcpy(&result, &rounded, sizeof result);
  return result;
}

}  // namespace alphareq::detail
