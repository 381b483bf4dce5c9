#pragma once
// The case behind the float32 rank threshold (detail::rank_epsilon): a rotated i^-5
// spectrum whose λ_100 ≈ 1e-10 λ_1 lies under the ~1e-7 λ_1 rounding that float32 products
// leave. Counted with float64's ε, that noise was fitted (α 3.56 for 5.01 with float32
// products, 3.85 once merged into a float64 accumulator); float64 products fit 5.

#include "reference.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <string>

namespace alphareq::test {

/// n 5000, D 256, seed 21, α 5 (change `alpha` for a spectrum float32 resolves).
inline SyntheticSpec steep_spectrum_under_float32_noise() {
  SyntheticSpec spec;
  spec.n = 5000;
  spec.d = 256;
  spec.seed = 21;
  spec.alpha = 5.0;
  return spec;
}

/// Expects `accumulator` to say it carries float32 rounding and its report() over the
/// default window to be refused, naming the numerical-zero threshold.
inline void expect_refused_at_the_float32_threshold(const CovarianceAccumulator& accumulator,
                                                    const std::string& how) {
  EXPECT_TRUE(accumulator.state().float32_rounded) << how;
  const std::string message = invalid_input_of([&] { accumulator.report(); });
  EXPECT_NE(message.find("eigenvalues exceed the numerical-zero threshold"), std::string::npos)
      << how << ": " << message;
}

}  // namespace alphareq::test
