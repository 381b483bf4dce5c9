#pragma once
/// @file accumulator.hpp
/// Streaming covariance accumulator: batches of activations in, count, mean, covariance,
/// eigenvalues and the α report out.

#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace alphareq {

namespace detail {
class AccumulatorBackend;
}

/// Which implementation does the work.
enum class Backend {
  automatic,  ///< CUDA when built with it and a device is present, else the CPU
  cpu,        ///< OpenBLAS/LAPACK on the host: the baseline and the fallback
  cuda,       ///< cuBLAS/cuSOLVER on a GPU (throws backend_unavailable where there is none)
};

/// "auto", "cpu" or "cuda".
std::string to_string(Backend backend);
/// Parses "auto" / "cpu" / "cuda"; throws invalid_input otherwise.
Backend parse_backend(const std::string& name);

/// Resolves Backend::automatic to the backend that will actually run. When the result
/// differs from what a caller might expect (automatic in a CUDA build without a usable
/// GPU), `notice` (if not null) receives a one-line explanation; a CPU-only build gives
/// none. Throws backend_unavailable for Backend::cuda
/// when CUDA cannot be used, saying why.
Backend resolve_backend(Backend requested, std::string* notice = nullptr);

/// Normalisation of the covariance.
enum class Normalization {
  by_n,            ///< Σ_n = (1/n) Σ (x − μ)(x − μ)ᵀ, the paper's estimator
  by_n_minus_one,  ///< unbiased sample covariance, 1/(n − 1)
};

/// Precision of each batch's product XᵀX. The running sum across batches is float64 always.
enum class AccumulationPrecision {
  float64,  ///< DSYRK on float64-centred data: exact to float64 rounding (default)
  /// SSYRK on float32-centred data, summed into the float64 master: faster. The fit then
  /// counts rank with float32's ε (λ_i > λ_1 · D · 1.2e-7): below that, eigenvalues are the
  /// products' rounding noise.
  float32,
  /// CUDA only: float32 storage with TF32 tensor-core products, the fastest mode. Each
  /// centred value is rounded to TF32 (10 mantissa bits, to nearest) before the product and
  /// the column sums alike, so covariance entries and eigenvalues move by up to ~1e-3 of
  /// themselves (mostly a common scale, which α ignores); the product is the Gram matrix of
  /// the rounded data, so the noise it leaves where the data has no variance stays near
  /// float32's (emulated: 2e-8 λ_1; bench/emulate_tf32_products.py), and the fit counts
  /// rank with float32's ε, as for float32. The CPU backend treats it as float32.
  tf32,
};

/// Precision of the eigensolver.
enum class SolverPrecision {
  float64,  ///< dsyevd / cusolverDnXsyevd in float64 (default)
  float32,  ///< CUDA only: cusolverDnXsyevd in float32 (faster; the CPU backend uses float64)
};

struct AccumulatorOptions {
  Backend backend = Backend::automatic;
  AccumulationPrecision precision = AccumulationPrecision::float64;
  SolverPrecision solver = SolverPrecision::float64;
  /// CUDA device ordinal; -1 means the device current on the calling thread.
  int device = -1;
  /// CUDA: the cudaStream_t (as void*) to queue all work on, e.g. to run several layers'
  /// accumulators on one stream; it must belong to the accumulator's device (a stream of
  /// another is refused with invalid_input; CUDA 12.8+ toolkits can tell) and outlive the
  /// accumulator. nullptr: the accumulator creates its own non-blocking stream. Ignored by
  /// the CPU backend.
  void* stream = nullptr;
  /// Bit-identical results run to run. With the same input (the same batches, in the same
  /// order and sizes), the same options, the same GPU model and SM count (a MIG slice has
  /// fewer SMs), driver and cuBLAS/cuSOLVER versions, the CUDA backend then gives
  /// bit-identical count, mean, covariance, eigenvalues and α, whatever else runs on the
  /// device (other accumulators, on other streams or threads, included). How: cuBLAS
  /// promises identical bits only while one stream is active, because concurrent streams
  /// share its default workspace pool and it may then pick other kernels; a deterministic
  /// accumulator gives its cuBLAS handle a workspace of its own (cublasSetWorkspace, so
  /// neither other streams nor CUBLAS_WORKSPACE_CONFIG matter), forbids cuBLAS atomics
  /// (CUBLAS_ATOMICS_NOT_ALLOWED, also the default), sets CUSOLVER_DETERMINISTIC_RESULTS
  /// on its cuSOLVER handle, and ignores ALPHAREQ_CUDA_PRODUCT (SYRK and GEMM round
  /// differently). Cost: one more device buffer per accumulator, cuBLAS's recommended
  /// workspace (32 MiB on Hopper and later, 4 MiB before); no slowdown is expected, since
  /// the library's own kernels use no order-dependent atomics and the defaults already
  /// avoid cuBLAS's. Bits still differ between GPU models, library versions and precisions,
  /// and from the CPU backend's. The CPU backend is deterministic always (for a fixed
  /// OpenBLAS thread count) and accepts the option without effect.
  bool deterministic = false;
};

/// True when this build has the CUDA backend and a CUDA device can be used. Otherwise
/// false, and `why` (if not null) says what is missing.
bool cuda_available(std::string* why = nullptr);

/// What an accumulator has summed, in float64 on the host, whatever its backend: saved to
/// resume later, or sent between processes (data-parallel workers) and merged there.
struct AccumulatorState {
  std::int64_t dim = 0;
  std::int64_t count = 0;     ///< samples
  std::vector<double> mean;   ///< dim values
  /// Centred second moment Σ (x − μ)(x − μ)ᵀ, dim × dim column-major; only the upper
  /// triangle (row <= column) is read.
  std::vector<double> m2_upper;
  /// Some of these moments were summed from float32 or TF32 products
  /// (AccumulationPrecision::float32/tf32): they carry float32 rounding, up to ~1e-7 of the
  /// largest eigenvalue where the data has no variance, which the fit must not take for rank. An accumulator that merges such a state judges numerical zeros
  /// with float32's ε from then on, as the sender did, whatever its own precision (else a
  /// steep spectrum is fitted into that noise, silently).
  bool float32_rounded = false;
};

/// Streams batches of activations (rows = samples, columns = features) into the count, the
/// mean and the centred second moment M2 = Σ (x − μ)(x − μ)ᵀ, all kept in float64.
///
/// Numerics: the CPU backend centres each batch on its own mean (float64, with a
/// correction pass) and merges it into the running state with Chan et al.'s pairwise
/// update. The CUDA backend shifts every sample by a fixed per-feature offset (the mean of
/// the first chunk it receives, or of the first state merged into it) and adds each
/// batch's product to a float64 master, so the error does not grow with the number of
/// batches; with float32/TF32 products the relative error grows with
/// ((shift − mean) / spread)², well below 1 unless the data drift far from where they
/// began. Both stay accurate when the mean is many orders of magnitude above the spread.
///
/// Errors: bad shapes, widths, dtypes and memory spaces are refused before anything
/// changes. NaN/Inf, and features so large that the covariance would overflow float64
/// (beyond about 1e150): the CPU backend refuses the batch and keeps its state; the CUDA
/// backend finds them on the device and reports them (same words) from the next call that
/// returns results, after which the accumulator gives no results. A merge that would
/// overflow is refused by both, leaving the target unchanged.
///
/// Thread safety: distinct accumulators may be used from different threads at once; one
/// accumulator must not be used from two threads at once without external locking. No call
/// changes the calling thread's current CUDA device.
class CovarianceAccumulator {
 public:
  /// An empty accumulator for `dim` features. Throws invalid_input if dim < 1,
  /// backend_unavailable if the backend cannot be used, out_of_memory if the D×D state
  /// cannot be allocated (the message gives the bytes needed).
  explicit CovarianceAccumulator(std::int64_t dim, const AccumulatorOptions& options = {});
  ~CovarianceAccumulator();
  CovarianceAccumulator(const CovarianceAccumulator& other);
  CovarianceAccumulator& operator=(const CovarianceAccumulator& other);
  /// A moved-from accumulator may be assigned to or destroyed; any other call (copying it
  /// included) throws invalid_input saying it was moved from.
  CovarianceAccumulator(CovarianceAccumulator&&) noexcept;
  CovarianceAccumulator& operator=(CovarianceAccumulator&&) noexcept;

  /// Adds a batch of `batch.rows` samples. float32 and float64 host views are accepted by
  /// every backend; device views (float16, bfloat16, float32, float64) by the CUDA backend
  /// only, read in the order of `batch.stream`, and later work on that stream waits until
  /// the accumulator has read them. Host memory may be reused when the call returns.
  /// Throws invalid_input for a malformed view, a width other than dim(), an unsupported
  /// dtype or memory space, or a NaN/Inf value (the message gives its sample row — counted
  /// over everything added so far — and its column; see "Errors" above for when).
  void add_batch(const MatrixView& batch);

  /// Adds all samples of `other` (same width; any backend) as if its batches had been
  /// added here. Throws invalid_input when the widths differ. `other` is unchanged.
  void merge(const CovarianceAccumulator& other);

  /// The state summed so far (the CUDA backend copies it to the host; it forms it in the
  /// float64 eigensolver's matrix, or, with SolverPrecision::float32, in a further D × D
  /// float64 buffer on the device, as merges into a CUDA accumulator do).
  AccumulatorState state() const;
  /// Adds the samples `state` summarises, as merge() does. Throws invalid_input when its
  /// width differs from dim(), its sizes do not match its width, its count is negative, or
  /// its mean or upper triangle holds NaN/Inf, its count does not fit its moments (a
  /// nonzero M2 for 0 or 1 samples, a nonzero mean for 0), or it is grossly no covariance:
  /// a variance below −1 % of the largest, or |M2(r, c)| above 2 sqrt(M2(r, r) M2(c, c))
  /// plus 1 % of the largest variance (the slack takes the rounding of a CUDA float32/TF32
  /// state). Nothing changes then.
  void merge_state(const AccumulatorState& state);

  /// Number of features D.
  std::int64_t dim() const;
  /// Number of samples n added so far.
  std::int64_t count() const;
  /// The backend doing the work (never Backend::automatic).
  Backend backend() const;
  /// Per-feature mean (D values). Throws invalid_input when no sample was added.
  std::vector<double> mean() const;
  /// The D×D covariance, row-major (symmetric), normalised by n or n − 1. Throws
  /// invalid_input when count() is too small for the normalisation (0, or 1 for n − 1).
  std::vector<double> covariance(Normalization normalization = Normalization::by_n) const;
  /// All D eigenvalues of the covariance, sorted descending, float64.
  std::vector<double> eigenvalues(Normalization normalization = Normalization::by_n) const;
  /// Eigenvalues, the power-law fit and the stage timings in one report. accumulate_ms is
  /// the total time spent in add_batch/merge on this accumulator. Throws invalid_input when
  /// fewer than 2 samples were added, the fit window is unusable (checked against n and D
  /// before the eigensolver runs, and against the numerical rank after), or fit.tail_rank
  /// is above D.
  AlphaReport report(const FitOptions& fit = {},
                     Normalization normalization = Normalization::by_n) const;

 private:
  const detail::AccumulatorBackend& backend_impl() const;
  detail::AccumulatorBackend& backend_impl();

  std::unique_ptr<detail::AccumulatorBackend> impl_;
};

}  // namespace alphareq
