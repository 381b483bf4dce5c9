// Eigenvalues of the accumulated covariance against closed forms and a direct LAPACK call.

#include "cpu/blas_lapack.hpp"
#include "reference.hpp"

#include <alphareq/accumulator.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace alphareq {
namespace {

using test::random_matrix;

CovarianceAccumulator accumulate(const std::vector<double>& x, std::int64_t n, std::int64_t d) {
  CovarianceAccumulator acc(d, AccumulatorOptions{Backend::cpu});
  acc.add_batch(host_matrix(x.data(), n, d));
  return acc;
}

// Column-major m × m orthogonal matrix from the QR factorisation of a seeded Gaussian one.
std::vector<double> random_orthogonal(std::int64_t m, std::uint64_t seed) {
  auto q = random_matrix(m, m, seed);
  cpu::orthogonal_factor(m, q.data());
  return q;
}

// X = U diag(s) Vᵀ + offset, with U's columns orthonormal and orthogonal to the all-ones
// vector (so centred): then Σ_n = V diag(s²/n) Vᵀ, whose eigenvalues are exactly s²/n.
TEST(Eigenvalues, EqualSquaredSingularValuesOverNForConstructedData) {
  constexpr std::int64_t n = 120, d = 15;
  auto basis = random_matrix(n, n, 3);
  for (std::int64_t r = 0; r < n; ++r) basis[r] = 1.0;  // column 0 (column-major) = ones
  cpu::orthogonal_factor(n, basis.data());               // Q's column 0 ∝ ones
  const auto v = random_orthogonal(d, 4);
  std::vector<double> s(d);
  for (std::int64_t i = 0; i < d; ++i) s[i] = 10.0 / static_cast<double>(i + 1);
  std::vector<double> x(static_cast<std::size_t>(n * d), 250.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t k = 0; k < d; ++k)
        x[r * d + c] += basis[(k + 1) * n + r] * s[k] * v[k * d + c];  // U = Q[:, 1..d]
  const auto eigenvalues = accumulate(x, n, d).eigenvalues();
  ASSERT_EQ(eigenvalues.size(), static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < d; ++i) {
    EXPECT_NEAR(eigenvalues[i], s[i] * s[i] / n, 1e-12 * s[0] * s[0] / n) << "rank " << i + 1;
  }
}

TEST(Eigenvalues, MatchTwoByTwoClosedForm) {
  constexpr std::int64_t n = 500;
  const auto x = random_matrix(n, 2, 6, 1.0, 1.5);
  const auto cov = test::two_pass_covariance(x, n, 2, n);
  const double a = cov[0], b = cov[1], c = cov[3];
  const double centre = (a + c) / 2, radius = std::sqrt((a - c) * (a - c) / 4 + b * b);
  const auto eigenvalues = accumulate(x, n, 2).eigenvalues();
  EXPECT_NEAR(eigenvalues[0], centre + radius, 1e-13 * (centre + radius));
  EXPECT_NEAR(eigenvalues[1], centre - radius, 1e-13 * (centre + radius));
}

TEST(Eigenvalues, MatchDirectLapackDsyevOnTheReferenceCovariance) {
  constexpr std::int64_t n = 700, d = 64;
  auto x = random_matrix(n, d, 7);
  for (std::int64_t r = 0; r < n; ++r)  // unequal scales: a spread-out spectrum
    for (std::int64_t c = 0; c < d; ++c) x[r * d + c] *= 1.0 / (1.0 + c) + 0.1 * x[r * d];
  const auto reference = test::dsyev_eigenvalues(test::two_pass_covariance(x, n, d, n), d);
  const auto eigenvalues = accumulate(x, n, d).eigenvalues();
  EXPECT_LT(test::relative_error(eigenvalues, reference), 1e-12);
  for (std::size_t i = 1; i < eigenvalues.size(); ++i) EXPECT_GE(eigenvalues[i - 1], eigenvalues[i]);
}

TEST(Eigenvalues, RankDeficientWhenFewerSamplesThanFeatures) {
  constexpr std::int64_t n = 10, d = 30;
  const auto x = random_matrix(n, d, 8);
  const auto eigenvalues = accumulate(x, n, d).eigenvalues();
  ASSERT_EQ(eigenvalues.size(), static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < n - 1; ++i) EXPECT_GT(eigenvalues[i], 1e-3);
  for (std::int64_t i = n - 1; i < d; ++i) EXPECT_LT(std::abs(eigenvalues[i]), 1e-13 * eigenvalues[0]);
}

TEST(Eigenvalues, ScaleWithTheNormalisation) {
  constexpr std::int64_t n = 90, d = 7;
  const auto acc = accumulate(random_matrix(n, d, 9), n, d);
  const auto by_n = acc.eigenvalues(Normalization::by_n);
  const auto unbiased = acc.eigenvalues(Normalization::by_n_minus_one);
  for (std::int64_t i = 0; i < d; ++i) {
    EXPECT_NEAR(unbiased[i], by_n[i] * n / (n - 1), 1e-14 * by_n[0]);
  }
}

TEST(Eigenvalues, SumToTheTraceOfTheCovariance) {
  constexpr std::int64_t n = 300, d = 40;
  const auto acc = accumulate(random_matrix(n, d, 10, 5.0, 3.0), n, d);
  const auto cov = acc.covariance();
  double trace = 0.0, sum = 0.0;
  for (std::int64_t i = 0; i < d; ++i) trace += cov[i * d + i];
  for (double v : acc.eigenvalues()) sum += v;
  EXPECT_NEAR(sum, trace, 1e-12 * trace);
}

}  // namespace
}  // namespace alphareq
