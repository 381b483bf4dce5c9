// Links the installed alphareq and checks that α of known synthetic features comes out.
#include <alphareq/alphareq.hpp>

#include <cmath>
#include <cstdio>

int main() {
  alphareq::SyntheticSpec spec;
  spec.n = 5000;
  spec.d = 128;
  spec.alpha = 1.0;
  spec.seed = 42;
  const auto features = alphareq::synthetic_power_law_features(spec);
  const alphareq::AlphaReport report =
      alphareq::compute_alpha(alphareq::host_matrix(features.data(), spec.n, spec.d));
  std::printf("consumer: alphareq %s, alpha = %.4f (true 1.0), R^2 = %.4f\n", alphareq::version(),
              report.fit.alpha, report.fit.r2);
  return std::abs(report.fit.alpha - 1.0) < 0.05 ? 0 : 1;
}
