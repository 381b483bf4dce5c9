#pragma once
// The Poisson bootstrap of α: every sample enters replicate b with a multiplicity
// k ~ Poisson(1) drawn from (seed, b, sample) (core/bootstrap_draw.hpp), so chunks can
// arrive in any split and every backend draws the same replicates. A resampler
// accumulates the replicates on one backend and returns their α; the summary (basic
// interval, standard error, bias) is shared by all backends.

#include <alphareq/alpha.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace alphareq::detail {

/// Throws invalid_input unless resamples is 0 (off) or >= 2 and 0 < confidence < 1.
void check_bootstrap_options(const BootstrapOptions& options);

/// Throws invalid_input when some resample of `samples` rows keeps too few distinct
/// samples for its covariance to reach `last_rank`, where α̂'s window ended: that
/// replicate's α would be fitted on fewer ranks than α̂, and the interval would describe
/// another quantity. Reads only the seeded draw, never the data (about 1.6 · last_rank
/// draws a resample), so it runs once α̂ is fitted and before any replicate is.
void check_bootstrap_reach(const BootstrapOptions& options, std::int64_t samples, std::int64_t last_rank);

/// Replicates of one bootstrap, accumulated on one backend.
class BootstrapResampler {
 public:
  virtual ~BootstrapResampler() = default;
  /// Adds the rows of `chunk` (already validated by the caller's accumulator: its width,
  /// dtype and memory space), whose first row is sample `first_sample` of the whole data.
  virtual void add_chunk(const MatrixView& chunk, std::int64_t first_sample) = 0;
  /// α of every replicate, in replicate order. Call once, after the last chunk. Throws
  /// invalid_input when a replicate cannot be fitted (too few samples, or a window of
  /// fewer than 3 ranks), as the fit of the data itself would.
  virtual std::vector<double> replicate_alphas() = 0;
};

/// The CPU resampler: one CovarianceAccumulator (CPU backend) per replicate, fed with each
/// sample copied k times. Host float32/float64 chunks only.
class CpuBootstrap final : public BootstrapResampler {
 public:
  /// Replicates first_replicate .. first_replicate + replicates − 1 of options.bootstrap.
  CpuBootstrap(std::int64_t dim, const AlphaOptions& options, std::int64_t first_replicate,
               std::int64_t replicates);
  void add_chunk(const MatrixView& chunk, std::int64_t first_sample) override;
  std::vector<double> replicate_alphas() override;

 private:
  AlphaOptions options_;
  std::int64_t first_replicate_;
  std::vector<CovarianceAccumulator> replicates_;
  std::vector<double> scratch_;
};

/// A streaming bootstrap of all options.bootstrap.resamples replicates in one pass over
/// the data (compute_alpha_npy), on `backend` (cpu or cuda: the backend the caller's
/// accumulator resolved to). On CUDA all replicates' state must fit on the device at once;
/// otherwise out_of_memory, naming the bytes and suggesting fewer resamples.
class BootstrapReplicates {
 public:
  BootstrapReplicates(std::int64_t dim, const AlphaOptions& options, Backend backend);
  void add_chunk(const MatrixView& chunk, std::int64_t first_sample);
  /// Fills the bootstrap fields of report.diagnostics (report.fit.alpha is α̂). Once.
  void summarise(AlphaReport& report);

 private:
  BootstrapOptions options_;
  std::unique_ptr<BootstrapResampler> resampler_;
};

/// The bootstrap of features held in memory (compute_alpha). On CUDA the replicates run in
/// as few groups as the device memory allows, one pass over the features per group (one
/// group when all fit); throws out_of_memory only when not even one replicate fits.
/// `max_group` > 0 caps the replicates per group (tests use it to force several passes).
/// Fills the bootstrap fields of report.diagnostics.
void bootstrap_in_memory(const MatrixView& features, const AlphaOptions& options, Backend backend,
                         AlphaReport& report, std::int64_t max_group = 0);

/// The summary of the replicates' α into report.diagnostics: the basic (reverse-
/// percentile) interval at options.confidence around report.fit.alpha, the standard error
/// (standard deviation of the replicates' α) and the bias (their mean − α̂).
void summarise_bootstrap(std::vector<double> alphas, const BootstrapOptions& options,
                         AlphaReport& report);

}  // namespace alphareq::detail
