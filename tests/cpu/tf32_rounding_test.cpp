// Rounding float32 to TF32 (core/tf32_rounding.hpp), the one definition the CUDA backend's
// TF32 conversion kernels use: against an independent float64 reference, at the ties and
// the edges, and for the property that made ties-to-even the choice (no bias on the
// bootstrap's weighted copies).

#include "core/tf32_rounding.hpp"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

namespace {

using alphareq::detail::round_to_tf32;

std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float float_of(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// TF32 keeps 11 significant bits (10 stored) of a normal value, and TF32's subnormals are
// float32's with 13 low bits gone: spacing 2^-136. The quotient by the spacing is exact in
// float64, and nearbyint rounds it to nearest, ties to even (the default rounding mode).
float reference_tf32(float value) {
  const double magnitude = std::fabs(static_cast<double>(value));
  if (magnitude == 0.0) return value;
  int exponent = 0;
  std::frexp(magnitude, &exponent);  // magnitude = m · 2^exponent, m in [0.5, 1)
  const double spacing = std::ldexp(1.0, std::max(exponent - 11, -136));
  const double quotient = magnitude / spacing;
  double rounded = std::nearbyint(quotient) * spacing;
  if (rounded > FLT_MAX) rounded = std::floor(quotient) * spacing;
  return static_cast<float>(std::copysign(rounded, static_cast<double>(value)));
}

TEST(Tf32Rounding, MatchesAFloat64ReferenceOnRandomFloats) {
  std::mt19937 engine(20261125);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  int compared = 0;
  for (int i = 0; i < 1000000; ++i) {
    const float value = float_of(any_bits(engine));
    if (!std::isfinite(value)) continue;
    ASSERT_EQ(bits_of(round_to_tf32(value)), bits_of(reference_tf32(value))) << value;
    ++compared;
  }
  EXPECT_GT(compared, 990000);
}

TEST(Tf32Rounding, LeavesThirteenLowBitsClearAndTf32ValuesAlone) {
  std::mt19937 engine(7);
  std::normal_distribution<float> normal(0.0f, 100.0f);
  for (int i = 0; i < 100000; ++i) {
    const float rounded = round_to_tf32(normal(engine));
    ASSERT_EQ(bits_of(rounded) & 0x1FFFu, 0u);
    ASSERT_EQ(bits_of(round_to_tf32(rounded)), bits_of(rounded));  // what the tensor cores see
  }
}

TEST(Tf32Rounding, HalfwayCasesGoToTheEvenNeighbour) {
  const float ulp = std::ldexp(1.0f, -10);  // TF32's spacing in [1, 2)
  EXPECT_EQ(round_to_tf32(1.0f + ulp / 2), 1.0f);
  EXPECT_EQ(round_to_tf32(1.0f + 3 * ulp / 2), 1.0f + 2 * ulp);
  EXPECT_EQ(round_to_tf32(-(1.0f + ulp / 2)), -1.0f);
  EXPECT_EQ(round_to_tf32(std::nextafter(1.0f + ulp / 2, 2.0f)), 1.0f + ulp);
  EXPECT_EQ(round_to_tf32(std::nextafter(1.0f + ulp / 2, 0.0f)), 1.0f);
  EXPECT_EQ(round_to_tf32(std::nextafter(2.0f, 0.0f)), 2.0f);  // carries into the exponent
}

TEST(Tf32Rounding, KeepsNanAndInfinityAndDoesNotOverflow) {
  EXPECT_TRUE(std::isnan(round_to_tf32(NAN)));
  EXPECT_EQ(round_to_tf32(INFINITY), INFINITY);
  EXPECT_EQ(round_to_tf32(-INFINITY), -INFINITY);
  EXPECT_EQ(bits_of(round_to_tf32(FLT_MAX)), 0x7F7FE000u);  // the largest TF32, not Inf
  EXPECT_EQ(bits_of(round_to_tf32(-FLT_MAX)), 0xFF7FE000u);
  EXPECT_EQ(bits_of(round_to_tf32(0.0f)), 0u);
  EXPECT_EQ(bits_of(round_to_tf32(-0.0f)), 0x80000000u);
}

// The bootstrap's copies w · y of TF32 values y: with w = 3 a quarter of them are exact
// ties. Ties away from zero would move them all outwards, about 2^-13 of each value on
// average, and a bias in the products that the column sums lack is what the cancellation
// M2 = Σ y yᵀ − S Sᵀ / n amplifies; ties to even leave only zero-mean rounding.
TEST(Tf32Rounding, WeightedCopiesOfTf32ValuesAreNotBiased) {
  std::mt19937 engine(11);
  std::uniform_real_distribution<float> uniform(1.0f, 1000.0f);
  double signed_error = 0.0, total = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const float copy = 3.0f * round_to_tf32(uniform(engine));  // exact in float32
    signed_error += static_cast<double>(round_to_tf32(copy)) - copy;
    total += copy;
  }
  EXPECT_LT(std::fabs(signed_error / total), 2e-6);
}

}  // namespace
