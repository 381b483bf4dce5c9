#pragma once
// The CUDA backend's Poisson bootstrap: all replicates of a group accumulate as a batch.
//
// State per replicate b (float64, on the device): n_b = Σ_i w_bi, S_b = Σ_i w_bi y_i and
// P_b = Σ_i w_bi y_i y_iᵀ, with y = x − s for a fixed shift s (the first chunk's mean, as in
// the CUDA accumulator) and w_bi the Poisson(1) multiplicity of sample i in replicate b (the
// CPU bootstrap's draw, core/bootstrap_draw.hpp). Then M2_b = P_b − S_b S_bᵀ / n_b.
//
// Per block of rows of a chunk (converted to the compute precision on the device): a
// kernel draws the B × m weights and writes the weighted copies Y diag(w_b); ONE
// strided-batched GEMM adds all B products (the unweighted Y at batch stride 0), one GEMM
// Y · W all B column sums. float32/TF32 products are summed per chunk in float32 and
// added to the float64 masters, as in the accumulator. At the end: all B covariances,
// their eigenvalues (BatchedEigensolver), ONE launch of the device fit over the B spectra,
// and one copy back.
//
// Hostile ranges, as in the accumulator: float32/TF32 products scale a sub-chunk's columns
// whose centred values lie outside [2^-40, 2^40] by a power of two, and multiply their
// products back in float64 (kernels/float32_scaling.cuh); the float32 solver gets each
// replicate's covariance times its own power of two, and the fit's zero threshold is scaled
// back. A replicate with fewer than 2 samples, an overflowed one (trace not finite), and all
// of them after NaN/Inf features, go to the solver as zeros and are reported on the host.

#include "core/bootstrap.hpp"
#include "cuda/batched_eigensolver.hpp"
#include "cuda/cublas_handle.hpp"
#include "cuda/device_memory.hpp"
#include "cuda/host_staging.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace alphareq::kernels {
struct DeviceFitResult;  // kernels/power_law_fit.cuh: kernels/ stays out of this header
}  // namespace alphareq::kernels

namespace alphareq::cuda {

/// Rows per conversion (sub-chunk) and per weighted product (block), and the device bytes
/// of a bootstrap of `replicates` replicates: the float64 state (D × D + D + 1 per
/// replicate), the float32 batch products (float32/TF32 precision), the float32 solver's
/// copies and scales (float32 solver), eigenvalues, statuses, fit results, and the
/// conversion, column exponent, weight, copy and staging scratch. Not counted: the
/// eigensolver's workspace and cuBLAS's.
/// block_rows = clamp(256 MiB / (replicates · D · element), 1, chunk_rows) with element the
/// compute precision's size; chunk_rows = max(256, 32 MiB / (D · element)).
struct BootstrapPlan {
  std::int64_t chunk_rows = 0;
  std::int64_t block_rows = 0;
  double device_bytes = 0.0;
};
BootstrapPlan plan_bootstrap(std::int64_t dim, const AlphaOptions& options,
                             std::int64_t replicates);

/// The most replicates (up to options.bootstrap.resamples) whose plan fits in the free
/// memory of options.accumulator's device now, keeping a tenth of it back for the
/// workspaces; 0 when not even one does.
std::int64_t bootstrap_replicates_fitting(std::int64_t dim, const AlphaOptions& options);

class CudaBootstrap final : public detail::BootstrapResampler {
 public:
  /// Replicates first_replicate .. first_replicate + replicates − 1 of options.bootstrap,
  /// on options.accumulator's device and stream (its own non-blocking stream when none is
  /// given), with its precision, solver precision and determinism. Refuses with
  /// out_of_memory, before allocating, when the plan exceeds the free device memory (the
  /// message gives the bytes needed and suggests fewer resamples).
  CudaBootstrap(std::int64_t dim, const AlphaOptions& options, std::int64_t first_replicate,
                std::int64_t replicates);
  ~CudaBootstrap() override;
  CudaBootstrap(const CudaBootstrap&) = delete;
  CudaBootstrap& operator=(const CudaBootstrap&) = delete;

  /// Host float32/float64 chunks are staged to the device; device chunks (float16,
  /// bfloat16, float32, float64) are read in the order of chunk.stream, and later work on
  /// that stream waits until they have been read.
  void add_chunk(const MatrixView& chunk, std::int64_t first_sample) override;
  /// Synchronises the stream once. Throws, in this order: invalid_input for NaN/Inf in the
  /// features (deferred from add_chunk), for a replicate that drew fewer than 2 samples, and
  /// for a replicate whose covariance overflowed float64; numerical_error when the
  /// eigensolver fails on a replicate; invalid_input when a replicate's fit window holds
  /// fewer than 3 ranks (the CPU fit's message).
  std::vector<double> replicate_alphas() override;

  /// The eigensolver route chosen at construction (ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER
  /// overrides it; see choose_eigen_route).
  EigenRoute eigen_route() const { return solver_->route(); }

 private:
  template <typename T>
  void accumulate_rows(const void* data, DType dtype, std::int64_t rows, std::int64_t row_stride,
                       std::int64_t first_sample);
  cudaStream_t stream() const { return stream_handle_; }
  // Frees everything with the device current once queued work is done (destructor, and a
  // constructor that fails half-way).
  void release() noexcept;

  std::int64_t dim_;
  AlphaOptions options_;
  std::int64_t first_replicate_;
  std::int64_t replicates_;
  int device_;
  BootstrapPlan plan_;
  bool single_precision_;
  bool shift_set_ = false;
  bool consumed_ = false;

  std::unique_ptr<Stream> stream_;        // owned, unless options.accumulator.stream was given
  cudaStream_t stream_handle_ = nullptr;  // the stream all work is queued on
  std::unique_ptr<CublasHandle> cublas_;
  std::unique_ptr<Event> caller_ready_;
  std::unique_ptr<Event> batch_done_;
  std::unique_ptr<HostStager> stager_;  // created by the first host chunk

  DeviceBuffer<double> shift_;
  DeviceBuffer<double> cross_;  // replicates × D × D: P_b, then (float64 solver) the covariances
  DeviceBuffer<double> sums_;   // replicates × D: S_b
  DeviceBuffer<unsigned long long> counts_;     // replicates: n_b
  DeviceBuffer<unsigned long long> first_bad_;  // [0]: first NaN, [1]: first Inf
  // Scratch in the compute precision (double for float64, float otherwise).
  DeviceBuffer<double> shifted64_, weights64_, copies64_;
  DeviceBuffer<float> shifted32_, weights32_, copies32_;
  DeviceBuffer<float> product32_, sums32_;  // float32/TF32: one chunk's products
  DeviceBuffer<int> largest_exponent_;      // float32/TF32: per column of a sub-chunk
  DeviceBuffer<float> matrices32_;          // float32 solver: the covariances it overwrites
  DeviceBuffer<int> solver_scales_;         // float32 solver: replicate b's covariance × 2^-e_b
  DeviceBuffer<int> status_;                // replicates: kReplicateUsable, …
  std::unique_ptr<BatchedEigensolver> solver_;
  DeviceBuffer<kernels::DeviceFitResult> fit_results_;
};

}  // namespace alphareq::cuda
