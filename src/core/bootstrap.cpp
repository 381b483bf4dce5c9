#include "core/bootstrap.hpp"

#include "core/bootstrap_draw.hpp"
#include "core/fit_window.hpp"
#include "core/host_memory.hpp"
#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_bootstrap.hpp"
#endif

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace alphareq::detail {
namespace {

double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

std::unique_ptr<BootstrapResampler> make_resampler(std::int64_t dim, const AlphaOptions& options,
                                                   Backend backend, std::int64_t first_replicate,
                                                   std::int64_t replicates) {
#ifdef ALPHAREQ_HAS_CUDA
  if (backend == Backend::cuda) {
    return std::make_unique<cuda::CudaBootstrap>(dim, options, first_replicate, replicates);
  }
#endif
  if (backend != Backend::cpu) {
    throw backend_unavailable("bootstrap: backend " + to_string(backend) + " is not available");
  }
  return std::make_unique<CpuBootstrap>(dim, options, first_replicate, replicates);
}

}  // namespace

void check_bootstrap_options(const BootstrapOptions& options) {
  if (options.resamples < 0 || options.resamples == 1) {
    throw invalid_input("bootstrap: the number of resamples must be 0 (no interval) or at least 2, got " +
                        std::to_string(options.resamples));
  }
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    throw invalid_input("bootstrap: confidence must be in (0, 1)");
  }
}

void check_bootstrap_reach(const BootstrapOptions& options, std::int64_t samples, std::int64_t last_rank) {
  // A resample's covariance has rank at most (its distinct samples − 1), and about 63 % of
  // the samples enter a Poisson(1) resample. Counting stops once last_rank + 1 are found.
  const auto distinct_samples = [&](std::int64_t replicate, std::int64_t enough) {
    const std::uint64_t key = bootstrap_replicate_key(options.seed, replicate);
    std::int64_t distinct = 0;
    for (std::int64_t i = 0; i < samples && distinct < enough; ++i) {
      distinct += bootstrap_multiplicity(key, i) > 0 ? 1 : 0;
    }
    return distinct;
  };
  for (std::int64_t b = 0; b < options.resamples; ++b) {
    if (distinct_samples(b, last_rank + 1) > last_rank) continue;
    // Refused: the advice is the window every resample reaches (the fewest distinct
    // samples of all B, counted in full on this path only; the resamples before b reach
    // past last_rank, so they keep more than b does).
    const std::int64_t kept = distinct_samples(b, samples);
    std::int64_t fewest = kept;
    for (std::int64_t r = b + 1; r < options.resamples; ++r) fewest = std::min(fewest, distinct_samples(r, samples));
    throw invalid_input(
        "bootstrap: resample " + std::to_string(b) + " keeps only " + std::to_string(kept) +
        " of the n = " + std::to_string(samples) + " samples (a resample keeps about 63 %), so its covariance "
        "has rank below " + std::to_string(last_rank) + ", where the fit window ends: its alpha would be fitted "
        "on fewer ranks than alpha's. End the window by rank " + std::to_string(fewest - 1) +
        " (what all " + std::to_string(options.resamples) + " resamples reach), use more samples, or no bootstrap");
  }
}

CpuBootstrap::CpuBootstrap(std::int64_t dim, const AlphaOptions& options,
                           std::int64_t first_replicate, std::int64_t replicates)
    : options_(options), first_replicate_(first_replicate) {
  check_bootstrap_options(options.bootstrap);
  // Whatever the caller's accumulator runs on, these replicates are CPU accumulators: all
  // of them at once, beside the caller's state and its eigensolver copy, checked before
  // any is allocated (each alone would pass its own check and the set be OOM-killed).
  const double square_bytes = static_cast<double>(dim) * static_cast<double>(dim) * sizeof(double);
  require_host_memory(static_cast<double>(replicates + 2) * square_bytes,
                      "the bootstrap's " + std::to_string(replicates) + " replicate D x D covariances (D = " +
                          std::to_string(dim) + ") beside the accumulator's own; use fewer resamples");
  options_.accumulator.backend = Backend::cpu;
  replicates_.reserve(static_cast<std::size_t>(replicates));
  for (std::int64_t i = 0; i < replicates; ++i) replicates_.emplace_back(dim, options_.accumulator);
}

void CpuBootstrap::add_chunk(const MatrixView& chunk, std::int64_t first_sample) {
  if (chunk.space != MemorySpace::host ||
      (chunk.dtype != DType::float32 && chunk.dtype != DType::float64)) {
    throw invalid_input(
        "bootstrap: the CPU backend resamples float32/float64 features in host "
        "memory only (device features need the CUDA backend)");
  }
  const std::int64_t d = chunk.cols;
  for (std::size_t b = 0; b < replicates_.size(); ++b) {
    const std::uint64_t key = bootstrap_replicate_key(
        options_.bootstrap.seed, first_replicate_ + static_cast<std::int64_t>(b));
    scratch_.clear();
    for (std::int64_t r = 0; r < chunk.rows; ++r) {
      const int copies = bootstrap_multiplicity(key, first_sample + r);
      for (int k = 0; k < copies; ++k) {
        for (std::int64_t c = 0; c < d; ++c) {
          scratch_.push_back(
              chunk.dtype == DType::float32
                  ? static_cast<const float*>(chunk.data)[r * chunk.row_stride + c]
                  : static_cast<const double*>(chunk.data)[r * chunk.row_stride + c]);
        }
      }
    }
    const std::int64_t rows = static_cast<std::int64_t>(scratch_.size()) / d;
    if (rows > 0) replicates_[b].add_batch(host_matrix(scratch_.data(), rows, d));
  }
}

std::vector<double> CpuBootstrap::replicate_alphas() {
  std::vector<double> alphas;
  alphas.reserve(replicates_.size());
  // The threshold of the CPU backend's own fit (its solver is float64 always).
  const double epsilon = rank_epsilon(options_.accumulator.precision, SolverPrecision::float64, false);
  for (const CovarianceAccumulator& replicate : replicates_) {
    alphas.push_back(
        fit_power_law(replicate.eigenvalues(options_.normalization), replicate.count(), options_.fit, epsilon)
            .alpha);
  }
  return alphas;
}

BootstrapReplicates::BootstrapReplicates(std::int64_t dim, const AlphaOptions& options,
                                         Backend backend)
    : options_(options.bootstrap) {
  check_bootstrap_options(options.bootstrap);
  resampler_ = make_resampler(dim, options, backend, 0, options.bootstrap.resamples);
}

void BootstrapReplicates::add_chunk(const MatrixView& chunk, std::int64_t first_sample) {
  resampler_->add_chunk(chunk, first_sample);
}

void BootstrapReplicates::summarise(AlphaReport& report) {
  summarise_bootstrap(resampler_->replicate_alphas(), options_, report);
}

void bootstrap_in_memory(const MatrixView& features, const AlphaOptions& options, Backend backend,
                         AlphaReport& report, std::int64_t max_group) {
  check_bootstrap_options(options.bootstrap);
  const std::int64_t resamples = options.bootstrap.resamples;
  std::int64_t group = resamples;
#ifdef ALPHAREQ_HAS_CUDA
  // The features stay in memory, so replicates that do not fit on the device at once run
  // in groups, one pass over the features each. With less than one replicate's room the
  // resampler refuses with out_of_memory.
  if (backend == Backend::cuda) {
    group = std::clamp<std::int64_t>(cuda::bootstrap_replicates_fitting(features.cols, options), 1,
                                     resamples);
  }
#endif
  if (max_group > 0) group = std::min(group, max_group);
  std::vector<double> alphas;
  alphas.reserve(static_cast<std::size_t>(resamples));
  for (std::int64_t first = 0; first < resamples; first += group) {
    const std::unique_ptr<BootstrapResampler> resampler =
        make_resampler(features.cols, options, backend, first, std::min(group, resamples - first));
    resampler->add_chunk(features, 0);
    const std::vector<double> part = resampler->replicate_alphas();
    alphas.insert(alphas.end(), part.begin(), part.end());
  }
  summarise_bootstrap(std::move(alphas), options.bootstrap, report);
}

void summarise_bootstrap(std::vector<double> alphas, const BootstrapOptions& options,
                         AlphaReport& report) {
  std::sort(alphas.begin(), alphas.end());
  const double count = static_cast<double>(alphas.size());
  double mean = 0.0, variance = 0.0;
  for (double a : alphas) mean += a / count;
  for (double a : alphas) variance += (a - mean) * (a - mean) / (count - 1.0);
  FitDiagnostics& d = report.diagnostics;
  d.bootstrap_resamples = static_cast<std::int64_t>(alphas.size());
  d.bootstrap_confidence = options.confidence;
  // The basic (reverse-percentile) interval 2α̂ − q: resamples repeat samples, which
  // spreads a sample spectrum as fewer distinct samples would and biases the resampled α.
  // Mirroring the quantiles about α̂ centres the interval near α̂ − bias, where the
  // percentile interval is centred near α̂ + bias: a first-order correction (the resamples'
  // bias taken for α̂'s own). It holds α̂ exactly when the percentile interval does: a bias
  // beyond the half-width leaves α̂ outside both.
  const double estimate = report.fit.alpha;
  d.alpha_interval_low = 2.0 * estimate - quantile(alphas, (1.0 + options.confidence) / 2.0);
  d.alpha_interval_high = 2.0 * estimate - quantile(alphas, (1.0 - options.confidence) / 2.0);
  d.alpha_standard_error = std::sqrt(variance);
  d.bootstrap_bias = mean - estimate;
}

}  // namespace alphareq::detail
