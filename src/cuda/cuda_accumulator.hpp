#pragma once
// The CUDA backend: batches (device pointers, or host memory through pinned double
// buffers) are shifted and converted on the device, multiplied with cuBLAS into a float64
// master accumulator, and the spectrum and fit are computed with cuSOLVER and a kernel.
//
// State (all on the device): shift K (the first chunk's mean), sums = Σ (x − K) and
// cross = Σ (x − K)(x − K)ᵀ in float64. Then mean = K + sums / n and
// M2 = cross − sums sumsᵀ / n, where the subtraction loses little because K is near the
// mean of the data (the shifted-data algorithm); the float64 master keeps the error of float32
// batch products from growing with the number of batches, and columns beyond float32's range
// for products are scaled by powers of two (kernels/float32_scaling.cuh).
//
// Device data is not read on the host: NaN/Inf and a covariance overflowing float64 are
// flagged on the device and reported by the next call that returns results.
// options.deterministic: see AccumulatorOptions (cublas_handle.hpp, solver_workspace.hpp).

#include "core/accumulator_backend.hpp"
#include "cuda/device_memory.hpp"
#include "cuda/host_staging.hpp"
#include "cuda/cublas_handle.hpp"
#include "cuda/solver_workspace.hpp"
#include "cuda/stage_timer.hpp"
#include "kernels/power_law_fit.cuh"

#include <memory>
#include <vector>

namespace alphareq::cuda {

/// How each batch's product is computed; both are kept because which is faster depends on
/// D and the GPU (SYRK does half the flops, GEMM runs closer to peak).
enum class ProductRoutine { syrk, gemm };

class CudaAccumulator final : public detail::AccumulatorBackend {
 public:
  CudaAccumulator(std::int64_t dim, const AccumulatorOptions& options);
  ~CudaAccumulator() override;

  Backend kind() const override { return Backend::cuda; }
  std::int64_t dim() const override { return dim_; }
  std::int64_t count() const override { return count_; }
  std::unique_ptr<detail::AccumulatorBackend> clone() const override;

  void add_batch(const MatrixView& batch) override;
  void merge_moments(const detail::Moments& other) override;
  detail::Moments moments() const override;

  std::vector<double> eigenvalues(double divisor) const override;
  void spectrum_and_fit(double divisor, const FitOptions& fit, AlphaReport& report) const override;
  double accumulate_ms() const override;
  double rank_epsilon() const override;

 private:
  void check_batch(const MatrixView& batch) const;
  void accumulate_chunk(const void* data, DType dtype, std::int64_t rows, std::int64_t row_stride);
  cudaStream_t stream() const { return stream_handle_; }
  // A D x D float64 scratch for exporting or merging moments: the float64 solver's matrix,
  // which the memory check counted and no result outlives; with a float32 solver (half its
  // size) a new buffer, kept in `fallback`, named by `what`.
  double* moments_scratch(DeviceBuffer<double>& fallback, const std::string& what) const;
  // Throws the deferred NaN/Inf or overflow error if a batch had one (the kFlagCount flags
  // copied to the host).
  void throw_if_bad(const unsigned long long* first_bad_host) const;
  // Waits for the stream; throws the deferred NaN/Inf or overflow error.
  void synchronize_and_check() const;
  // Throws invalid_input, before anything changes, when merging `other` would overflow.
  void check_merge_fits(const detail::Moments& other) const;
  // Covariance, eigensolver and (when `fit` is not null) the device fit, with one wait
  // for all results (cuda_spectrum.cpp).
  void run_spectrum(double divisor, const FitOptions* fit, AlphaReport& report) const;

  std::int64_t dim_;
  AccumulatorOptions options_;
  int device_;
  ProductRoutine product_;
  std::int64_t chunk_rows_;
  std::int64_t count_ = 0;
  bool shift_set_ = false;
  bool merged_float32_rounded_ = false;  // a float32/TF32 state was merged in

  // Created with the accumulator's device current, hence not plain members.
  std::unique_ptr<Stream> stream_;        // owned, unless options.stream was given
  cudaStream_t stream_handle_ = nullptr;  // the stream all work is queued on
  std::unique_ptr<CublasHandle> cublas_;
  std::unique_ptr<SolverWorkspace> solver_;
  std::unique_ptr<Event> caller_ready_;  // the caller's stream reached add_batch
  std::unique_ptr<Event> batch_done_;    // the accumulator finished reading a device batch
  std::unique_ptr<HostStager> stager_;   // created by the first host batch
  mutable std::unique_ptr<StageTimer> accumulate_timer_;

  DeviceBuffer<double> shift_;
  DeviceBuffer<double> sums_;
  DeviceBuffer<double> cross_;
  // [0]: first NaN, [1]: first Inf (flat indices), [2]: first row of the chunk from which on
  // the covariance overflows float64; kernels::kNoBadElement where none.
  static constexpr std::size_t kFlagCount = 3;
  DeviceBuffer<unsigned long long> first_bad_;
  // Per-chunk scratch in the compute precision (double for float64, float otherwise).
  DeviceBuffer<double> centred64_;
  DeviceBuffer<double> ones64_;
  DeviceBuffer<float> centred32_;
  DeviceBuffer<float> ones32_;
  DeviceBuffer<float> product32_;
  DeviceBuffer<float> sums32_;
  DeviceBuffer<int> largest_exponent_;  // per column of a float32 chunk (float32_scaling.cuh)
  // Fit results, and their pinned landing place on the host.
  DeviceBuffer<kernels::DeviceFitResult> fit_result_;
  DeviceBuffer<double> residuals_;
  // The float32 solver's power-of-two scale (covariance_update.cuh).
  DeviceBuffer<int> solver_scale_;
  struct ResultLanding {
    explicit ResultLanding(std::size_t dim)
        : flags(kFlagCount, "the NaN/Inf and overflow flags"), info(1, "the solver status"),
          fit(1, "the fit result"), eigenvalues(dim, "the eigenvalues"),
          residuals(dim, "the fit residuals"), solver_scale(1, "the solver scale") {}
    PinnedBuffer<unsigned long long> flags;
    PinnedBuffer<int> info;
    PinnedBuffer<kernels::DeviceFitResult> fit;
    PinnedBuffer<double> eigenvalues;  // float or double, as the solver wrote them
    PinnedBuffer<double> residuals;
    PinnedBuffer<int> solver_scale;
  };
  std::unique_ptr<ResultLanding> landing_;
};

/// The product routine for a precision, overridable with ALPHAREQ_CUDA_PRODUCT=syrk|gemm
/// (for benchmarks that compare the two) unless `deterministic`, which ignores the variable.
ProductRoutine choose_product_routine(AccumulationPrecision precision, bool deterministic = false);

/// The device an accumulator with `options` runs on (validated).
int resolve_device(const AccumulatorOptions& options);

/// Refuses (out_of_memory, with the bytes), before any is made, accumulators of the widths
/// `dims` (one per layer) on the device of `options` whose buffers together exceed its free
/// memory: each accumulator checks only its own, and the layers hold theirs at once.
/// `host_batches`: they will be given host memory, whose device staging counts too.
void require_device_memory_for_layers(const std::vector<std::int64_t>& dims,
                                      const AccumulatorOptions& options, bool host_batches);

}  // namespace alphareq::cuda
