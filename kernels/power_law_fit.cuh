#pragma once
// The power-law fit log λ_i = intercept − α log i on the device, from the eigenvalues the
// solver left in device memory, so that only a few numbers travel back to the host.

#include <cuda_runtime.h>

#include <cstdint>

namespace alphareq::kernels {

/// Both fit methods over the same window; index 0 is `weighted` (weights 1/i), 1 is `ols`.
struct DeviceFitResult {
  double alpha[2];
  double intercept[2];
  double r2[2];
  long long first_rank;      ///< window used (1-based, inclusive)
  long long last_rank;
  long long positive_count;  ///< eigenvalues above λ_1 · D · ε
  double zero_threshold;     ///< λ_1 · D · ε, ε of the eigenvalues' type (float or double)
  int fitted;                ///< 0 when the window held fewer than 3 ranks (nothing fitted)
};

/// Fits on `eigenvalues_ascending` (as cuSOLVER returns them: rank i is element dim − i),
/// with the window [first_rank, last_rank] clipped to min(n − 1, D, positive_count) exactly
/// as the CPU fit does (positive: above λ_1 · D · rank_epsilon), and writes the log
/// residuals of method `residual_method` (0 or 1) for ranks first..last to `residuals`
/// (room for last_rank − first_rank + 1 values).
/// One block; the result is written to `result` in device memory.
template <typename T>
void launch_power_law_fit(const T* eigenvalues_ascending, std::int64_t dim,
                          std::int64_t sample_count, std::int64_t first_rank,
                          std::int64_t last_rank, double rank_epsilon, int residual_method,
                          double* residuals, DeviceFitResult* result, cudaStream_t stream);

/// The same fit of `batch` spectra in one launch (the bootstrap's replicates): spectrum b
/// is eigenvalues_ascending[b · dim, (b + 1) · dim), its sample count sample_counts[b]
/// (device memory), its result results[b]; the same window and clipping rules, both
/// methods, no residuals. One block per spectrum.
template <typename T>
void launch_power_law_fit_batched(const T* eigenvalues_ascending, std::int64_t dim,
                                  std::int64_t batch, const unsigned long long* sample_counts,
                                  std::int64_t first_rank, std::int64_t last_rank,
                                  double rank_epsilon, DeviceFitResult* results, cudaStream_t stream);

}  // namespace alphareq::kernels
