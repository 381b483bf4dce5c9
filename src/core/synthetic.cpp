#include "core/host_memory.hpp"
#include "core/number_text.hpp"
#include "core/splitmix64.hpp"
#include "cpu/blas_lapack.hpp"

#include <alphareq/error.hpp>
#include <alphareq/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <thread>
#include <string>

namespace alphareq {

NormalGenerator::NormalGenerator(std::uint64_t seed) : state_(detail::splitmix64(seed)) {}

std::uint64_t NormalGenerator::next_u64() {
  // splitmix64: tiny, fast, and the same sequence on every platform.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double NormalGenerator::next_uniform() {
  // 53 random bits, shifted off zero so the logarithm below stays finite.
  return (static_cast<double>(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double NormalGenerator::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double radius = std::sqrt(-2.0 * std::log(next_uniform()));
  const double angle = 6.283185307179586 * next_uniform();
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

std::vector<double> power_law_spectrum(std::int64_t d, double alpha, double scale) {
  std::vector<double> spectrum(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < d; ++i) {
    spectrum[i] = scale * std::pow(static_cast<double>(i + 1), -alpha);
  }
  return spectrum;
}

std::vector<double> synthetic_power_law_features(const SyntheticSpec& spec) {
  if (spec.n < 1 || spec.d < 1) {
    throw invalid_input("synthetic features: n and d must be >= 1, got n = " +
                        std::to_string(spec.n) + ", d = " + std::to_string(spec.d));
  }
  // α < 0 would make the spectrum grow with the rank; NaN or Inf would only surface later
  // as "NaN in the features".
  if (!(std::isfinite(spec.alpha) && spec.alpha >= 0.0)) {
    throw invalid_input("synthetic features: alpha must be a finite number >= 0, got " + detail::number_text(spec.alpha));
  }
  if (!(std::isfinite(spec.scale) && spec.scale > 0.0) || !std::isfinite(spec.offset)) {
    throw invalid_input("synthetic features: scale must be finite and > 0 and offset finite, got scale " +
                        detail::number_text(spec.scale) + ", offset " + detail::number_text(spec.offset));
  }
  const std::int64_t n = spec.n, d = spec.d;
  NormalGenerator normal(spec.seed);
  const std::vector<double> spectrum = power_law_spectrum(d, spec.alpha, spec.scale);
  // The samples twice (drawn, then rotated) and the D × D rotation, checked together
  // before any is allocated: a bare bad_alloc (or the OOM killer) otherwise.
  const double samples_bytes = static_cast<double>(n) * static_cast<double>(d) * sizeof(double);
  detail::require_host_memory(
      (spec.rotate ? 2.0 : 1.0) * samples_bytes +
          (spec.rotate ? static_cast<double>(d) * static_cast<double>(d) * sizeof(double) : 0.0),
      "synthetic features of n = " + std::to_string(n) + " samples and D = " + std::to_string(d) +
          " features" + (spec.rotate ? " (the samples twice and the D x D rotation)" : ""));
  // z scaled by √λ, row-major n × d, i.e. column-major d × n.
  std::vector<double> scaled;
  detail::allocate_or_throw(scaled, static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(d),
                            "the synthetic samples");
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < d; ++c) scaled[r * d + c] = std::sqrt(spectrum[c]) * normal.next();
  }
  std::vector<double> features;
  if (spec.rotate) {
    std::vector<double> rotation;
    detail::allocate_or_throw(rotation, static_cast<std::uint64_t>(d) * static_cast<std::uint64_t>(d),
                              "the D x D random rotation");
    for (double& v : rotation) v = normal.next();
    cpu::orthogonal_factor(d, rotation.data());
    detail::allocate_or_throw(features, scaled.size(), "the rotated synthetic samples");
    // Column-major d × n: features = Q · scaled.
    cpu::gemm(false, false, d, n, d, 1.0, rotation.data(), d, scaled.data(), d, 0.0,
              features.data(), d);
  } else {
    features.swap(scaled);
  }
  if (spec.offset != 0.0) {
    for (double& v : features) v += spec.offset;
  }
  return features;
}

void synthetic_labelled_features(const LabelledSyntheticSpec& spec, std::vector<float>& features,
                                 std::vector<std::int32_t>& labels) {
  if (spec.n < 1 || spec.d < 1 || spec.classes < 2) {
    throw invalid_input("synthetic labelled features: need n >= 1, d >= 1 and classes >= 2");
  }
  // As for synthetic_power_law_features: NaN or Inf would only surface later, as "NaN in
  // the features" of the probe.
  if (!(std::isfinite(spec.alpha) && spec.alpha >= 0.0) || !std::isfinite(spec.separation)) {
    throw invalid_input("synthetic labelled features: alpha must be a finite number >= 0 and "
                        "the separation finite, got alpha " + detail::number_text(spec.alpha) +
                        ", separation " + detail::number_text(spec.separation));
  }
  const std::int64_t n = spec.n, d = spec.d;
  // In double: n · d (or classes · d) beyond 2^63 wraps in integers.
  const double elements = static_cast<double>(n) * static_cast<double>(d);
  const double centre_elements = static_cast<double>(spec.classes) * static_cast<double>(d);
  detail::require_host_memory(elements * sizeof(float) + centre_elements * sizeof(double) +
                                  static_cast<double>(n) * sizeof(std::int32_t),
                              "synthetic labelled features of n = " + std::to_string(n) +
                                  " samples, D = " + std::to_string(d) + " and " +
                                  std::to_string(spec.classes) + " classes");
  std::vector<double> scale = power_law_spectrum(d, spec.alpha);
  for (double& s : scale) s = std::sqrt(s);
  std::vector<double> centres;
  detail::allocate_or_throw(centres, static_cast<std::uint64_t>(spec.classes) * static_cast<std::uint64_t>(d),
                            "the class centres");
  NormalGenerator centre_random(spec.seed ^ 0xC1A55ULL);
  for (double& c : centres) c = spec.separation * centre_random.next();
  detail::allocate_or_throw(features, static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(d),
                            "the synthetic labelled features");
  detail::allocate_or_throw(labels, static_cast<std::uint64_t>(n), "the synthetic labels");

  constexpr std::int64_t kBlockRows = 4096;
  const std::int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  const auto make_block = [&](std::int64_t block) {
    NormalGenerator random((spec.seed * 0x9E3779B97F4A7C15ULL) ^
                           (spec.sample_stream * 0xD1B54A32D192ED03ULL) ^
                           (static_cast<std::uint64_t>(block) + 1));
    const std::int64_t first = block * kBlockRows, last = std::min(n, first + kBlockRows);
    for (std::int64_t r = first; r < last; ++r) {
      const auto label = static_cast<std::int32_t>(random.next_u64() % static_cast<std::uint64_t>(spec.classes));
      labels[r] = label;
      const double* centre = centres.data() + label * d;
      for (std::int64_t c = 0; c < d; ++c) {
        features[r * d + c] = static_cast<float>(scale[c] * (random.next() + centre[c]));
      }
    }
  };
  const std::int64_t threads =
      std::min<std::int64_t>(blocks, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (std::int64_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::int64_t block = t; block < blocks; block += threads) make_block(block);
    });
  }
  for (std::thread& worker : workers) worker.join();
}

}  // namespace alphareq
