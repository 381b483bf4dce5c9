// Links the installed alphareq and checks that α of known synthetic features comes out.
#include "known_alpha.hpp"

#include <cmath>
#include <cstdio>

int main() {
  const alphareq::AlphaReport report = report_of_known_alpha_features();
  std::printf("consumer: alphareq %s, alpha = %.4f (true 1.0), R^2 = %.4f\n", alphareq::version(),
              report.fit.alpha, report.fit.r2);
  return std::abs(report.fit.alpha - 1.0) < 0.05 ? 0 : 1;
}
