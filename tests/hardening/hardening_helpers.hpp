#pragma once
// Helpers of the hardening tests (CPU, and the CUDA ones in tests/gpu/): CPU accumulators,
// power-law features, an independent long-double power-law fit, the "nothing in the report
// is NaN or Inf" check and the error-message check.

#include <gtest/gtest.h>

#include <alphareq/accumulator.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/synthetic.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "reference.hpp"

namespace alphareq::test {

inline CovarianceAccumulator cpu_accumulator(
    std::int64_t d, AccumulationPrecision precision = AccumulationPrecision::float64) {
  return CovarianceAccumulator(d, AccumulatorOptions{Backend::cpu, precision});
}

/// Least squares of log λ_i on log i over ranks [first, last] (weights 1/i when `weighted`),
/// by the 2 × 2 normal equations in long double: independent of fit_power_law's centred form.
struct ReferenceFit {
  double alpha = 0.0;
  double intercept = 0.0;
};
inline ReferenceFit reference_fit(const std::vector<double>& eigenvalues, std::int64_t first,
                                  std::int64_t last, bool weighted = true) {
  long double s = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::int64_t i = first; i <= last; ++i) {
    const long double w = weighted ? 1.0L / i : 1.0L;
    const long double x = std::log(static_cast<long double>(i));
    const long double y = std::log(static_cast<long double>(eigenvalues[i - 1]));
    s += w, sx += w * x, sy += w * y, sxx += w * x * x, sxy += w * x * y;
  }
  const long double det = s * sxx - sx * sx;
  const long double slope = (s * sxy - sx * sy) / det;
  return ReferenceFit{static_cast<double>(-slope), static_cast<double>((sy - slope * sx) / s)};
}

/// Eigenvalues (descending, dsyev) of the long-double two-pass covariance of `x`.
inline std::vector<double> reference_eigenvalues(const std::vector<double>& x, std::int64_t n,
                                                 std::int64_t d, double divisor) {
  return dsyev_eigenvalues(two_pass_covariance(x, n, d, divisor), d);
}

/// The numerical-zero threshold of the fit: λ_1 · D · ε.
inline double zero_threshold(const std::vector<double>& eigenvalues_descending) {
  return eigenvalues_descending.front() * static_cast<double>(eigenvalues_descending.size()) *
         std::numeric_limits<double>::epsilon();
}

/// Every number a report carries is finite: eigenvalues, the fit (α, intercept, R², residuals),
/// the spectrum metrics, the fit diagnostics and the timings.
inline void expect_report_finite(const AlphaReport& report) {
  for (std::size_t i = 0; i < report.eigenvalues.size(); ++i) {
    EXPECT_TRUE(std::isfinite(report.eigenvalues[i])) << "eigenvalue " << i + 1;
  }
  EXPECT_TRUE(std::isfinite(report.fit.alpha));
  EXPECT_TRUE(std::isfinite(report.fit.intercept));
  EXPECT_TRUE(std::isfinite(report.fit.r2));
  EXPECT_LE(report.fit.r2, 1.0);
  for (double residual : report.fit.residuals) EXPECT_TRUE(std::isfinite(residual));
  const SpectrumMetrics& m = report.metrics;
  EXPECT_TRUE(std::isfinite(m.effective_rank));
  EXPECT_TRUE(std::isfinite(m.participation_ratio));
  EXPECT_TRUE(std::isfinite(m.stable_rank));
  EXPECT_TRUE(std::isfinite(m.tail_ratio));
  const FitDiagnostics& g = report.diagnostics;
  EXPECT_TRUE(std::isfinite(g.robust_alpha));
  EXPECT_TRUE(std::isfinite(g.suggested_alpha));
  EXPECT_TRUE(std::isfinite(report.timings.total_ms));
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// Bit-for-bit comparison of what two reports carry: eigenvalues, the fit and its window.
inline void expect_same_report_bits(const AlphaReport& a, const AlphaReport& b) {
  EXPECT_TRUE(same_bits(a.eigenvalues, b.eigenvalues));
  EXPECT_TRUE(same_bits(a.fit.alpha, b.fit.alpha)) << a.fit.alpha << " vs " << b.fit.alpha;
  EXPECT_TRUE(same_bits(a.fit.intercept, b.fit.intercept));
  EXPECT_TRUE(same_bits(a.fit.r2, b.fit.r2));
  EXPECT_TRUE(same_bits(a.fit.residuals, b.fit.residuals));
  EXPECT_EQ(a.fit.first_rank, b.fit.first_rank);
  EXPECT_EQ(a.fit.last_rank, b.fit.last_rank);
}

/// n × d features with population spectrum λ_i = i^-1 (rotated) and every mean `offset`.
inline std::vector<double> power_law_features(std::int64_t n, std::int64_t d, double offset,
                                              std::uint64_t seed) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = 1.0;
  spec.offset = offset;
  spec.seed = seed;
  return synthetic_power_law_features(spec);
}

/// Power-law features (mean 0, seed `seed`) rounded to float32 after scaling — to the edges of
/// float32's range — with the float64 references for them: the long-double two-pass
/// covariance, the reference fit of its LAPACK eigenvalues, and the CPU backend's α of the
/// unscaled features (α is scale-free).
struct ScaledFloat32 {
  std::vector<double> x;  // the float32 values, as float64
  std::vector<double> reference;
  double expected_alpha;
  double unit_alpha;
};

// The features scaled so that the largest |value| is `largest` (when > 0), else by `scale`.
inline ScaledFloat32 scaled_float32_features(std::int64_t n, std::int64_t d, std::uint64_t seed,
                                             double largest, double scale) {
  const auto unit = power_law_features(n, d, 0.0, seed);
  double unit_largest = 0.0;
  for (double v : unit) unit_largest = std::max(unit_largest, std::abs(v));
  const double factor = largest > 0.0 ? largest / unit_largest : scale;
  std::vector<double> x(unit.size());
  std::transform(unit.begin(), unit.end(), x.begin(),
                 [&](double v) { return static_cast<double>(static_cast<float>(v * factor)); });
  auto unit_acc = cpu_accumulator(d);
  unit_acc.add_batch(host_matrix(unit.data(), n, d));
  auto reference = two_pass_covariance(x, n, d, n);
  const double expected_alpha = reference_fit(dsyev_eigenvalues(reference, d), 11, d).alpha;
  return {std::move(x), std::move(reference), expected_alpha, unit_acc.report().fit.alpha};
}

/// `call` throws invalid_input whose message contains every one of `parts`.
template <typename Call>
void expect_invalid_input(Call&& call, const std::vector<std::string>& parts) {
  const std::string message = invalid_input_of(call);
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos)
        << "message '" << message << "' lacks '" << part << "'";
  }
}

}  // namespace alphareq::test
