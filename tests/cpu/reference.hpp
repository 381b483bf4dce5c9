#pragma once
// Independent float64 references for the tests: a two-pass covariance accumulated in long
// double, LAPACK dsyev (the QR algorithm, not the dsyevd the library uses) and seeded
// random data.

#include <alphareq/error.hpp>
#include <alphareq/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                       double* w, double* work, const int* lwork, int* info, std::size_t, std::size_t);

namespace alphareq::test {

/// n × d row-major standard normal values from a fixed seed.
inline std::vector<double> random_matrix(std::int64_t n, std::int64_t d, std::uint64_t seed,
                                         double mean = 0.0, double spread = 1.0) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(mean, spread);
  std::vector<double> values(static_cast<std::size_t>(n * d));
  for (double& v : values) v = normal(engine);
  return values;
}

/// The population spectrum i^-alpha (power_law_spectrum) times log-normal noise (spread
/// 0.2 in log), sorted descending: a spectrum on which fit weights and methods differ.
inline std::vector<double> noisy_power_law(std::int64_t d, double alpha, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> noise(0.0, 0.2);
  std::vector<double> spectrum = power_law_spectrum(d, alpha);
  for (double& v : spectrum) v *= std::exp(noise(engine));
  std::sort(spectrum.rbegin(), spectrum.rend());
  return spectrum;
}

/// Covariance (row-major d × d) by the textbook two-pass algorithm in long double.
inline std::vector<double> two_pass_covariance(const std::vector<double>& x, std::int64_t n,
                                               std::int64_t d, double divisor) {
  std::vector<long double> mean(static_cast<std::size_t>(d), 0.0L);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c) mean[c] += x[r * d + c];
  for (auto& m : mean) m /= static_cast<long double>(n);
  std::vector<long double> sum(static_cast<std::size_t>(d * d), 0.0L);
  std::vector<long double> centred(static_cast<std::size_t>(d));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < d; ++c) centred[c] = x[r * d + c] - mean[c];
    for (std::int64_t i = 0; i < d; ++i)
      for (std::int64_t j = 0; j < d; ++j) sum[i * d + j] += centred[i] * centred[j];
  }
  std::vector<double> covariance(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i) covariance[i] = static_cast<double>(sum[i] / divisor);
  return covariance;
}

inline std::vector<double> two_pass_mean(const std::vector<double>& x, std::int64_t n,
                                         std::int64_t d) {
  std::vector<long double> sum(static_cast<std::size_t>(d), 0.0L);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c) sum[c] += x[r * d + c];
  std::vector<double> mean(static_cast<std::size_t>(d));
  for (std::int64_t c = 0; c < d; ++c) mean[c] = static_cast<double>(sum[c] / n);
  return mean;
}

/// Eigenvalues, descending, of a symmetric row-major d × d matrix by LAPACK dsyev.
inline std::vector<double> dsyev_eigenvalues(std::vector<double> matrix, std::int64_t d) {
  const int n = static_cast<int>(d);
  std::vector<double> w(static_cast<std::size_t>(d));
  int lwork = -1, info = 0;
  double size = 0;
  dsyev_("N", "U", &n, matrix.data(), &n, w.data(), &size, &lwork, &info, 1, 1);
  lwork = static_cast<int>(size);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dsyev_("N", "U", &n, matrix.data(), &n, w.data(), work.data(), &lwork, &info, 1, 1);
  if (info != 0) throw std::runtime_error("dsyev failed in the test reference");
  std::reverse(w.begin(), w.end());
  return w;
}

/// max |a − b| / max |b|: the error relative to the reference's scale.
inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

/// The message of the alphareq::invalid_input that `call` throws, or a marker that fails
/// every find() a test makes when it throws none.
template <typename Call>
std::string invalid_input_of(Call&& call) {
  try {
    call();
  } catch (const alphareq::invalid_input& e) {
    return e.what();
  }
  return "<no invalid_input thrown>";
}

inline std::vector<float> to_float(const std::vector<double>& x) {
  return std::vector<float>(x.begin(), x.end());
}
inline std::vector<double> to_double(const std::vector<float>& x) {
  return std::vector<double>(x.begin(), x.end());
}

}  // namespace alphareq::test
