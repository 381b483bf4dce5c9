#pragma once
// What the C++ consumer projects compute through the installed package: the report of
// synthetic features whose α is known (1.0), which they hold to within 0.05.

#include <alphareq/alphareq.hpp>

inline alphareq::AlphaReport report_of_known_alpha_features() {
  alphareq::SyntheticSpec spec;
  spec.n = 5000;
  spec.d = 128;
  spec.alpha = 1.0;
  spec.seed = 42;
  const auto features = alphareq::synthetic_power_law_features(spec);
  return alphareq::compute_alpha(alphareq::host_matrix(features.data(), spec.n, spec.d));
}
