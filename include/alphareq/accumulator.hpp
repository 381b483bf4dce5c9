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
/// differs from what a caller might expect (automatic without a GPU), `notice` (if not
/// null) receives a one-line explanation. Throws backend_unavailable for Backend::cuda
/// when CUDA cannot be used, saying why.
Backend resolve_backend(Backend requested, std::string* notice = nullptr);

/// Normalisation of the covariance.
enum class Normalization {
  by_n,            ///< Σ_n = (1/n) Σ (x − μ)(x − μ)ᵀ, the paper's estimator
  by_n_minus_one,  ///< unbiased sample covariance, 1/(n − 1)
};

/// Precision of each batch's product XᵀX. The running sum across batches is float64 always.
enum class AccumulationPrecision {
  float64,  ///< dsyrk on float64-centred data: exact to float64 rounding (default)
  float32,  ///< ssyrk on float32-centred data, summed into the float64 master: faster
};

struct AccumulatorOptions {
  Backend backend = Backend::automatic;
  AccumulationPrecision precision = AccumulationPrecision::float64;
};

/// Streams batches of activations (rows = samples, columns = features) into the count, the
/// mean and the centred second moment M2 = Σ (x − μ)(x − μ)ᵀ, all kept in float64.
///
/// Numerics: each batch is centred on its own mean (computed in float64 with a correction
/// pass) and merged into the running state with Chan et al.'s pairwise update, so the
/// result stays accurate when the mean is many orders of magnitude above the spread and
/// the error does not grow with the number of batches.
///
/// Thread safety: distinct accumulators may be used from different threads at once; one
/// accumulator must not be used from two threads at once without external locking.
class CovarianceAccumulator {
 public:
  /// An empty accumulator for `dim` features. Throws invalid_input if dim < 1,
  /// backend_unavailable if the backend cannot be used, out_of_memory if the D×D state
  /// cannot be allocated (the message gives the bytes needed).
  explicit CovarianceAccumulator(std::int64_t dim, const AccumulatorOptions& options = {});
  ~CovarianceAccumulator();
  CovarianceAccumulator(const CovarianceAccumulator& other);
  CovarianceAccumulator& operator=(const CovarianceAccumulator& other);
  CovarianceAccumulator(CovarianceAccumulator&&) noexcept;
  CovarianceAccumulator& operator=(CovarianceAccumulator&&) noexcept;

  /// Adds a batch of `batch.rows` samples. float32 and float64 host views are accepted by
  /// every backend; device views (and float16/bfloat16) by the CUDA backend only.
  /// Throws invalid_input for a malformed view, a width other than dim(), an unsupported
  /// dtype or memory space, or a NaN/Inf value (the message gives its sample row — counted
  /// over everything added so far — and its column). On a throw the state is unchanged.
  void add_batch(const MatrixView& batch);

  /// Adds all samples of `other` (same width; any backend) as if its batches had been
  /// added here. Throws invalid_input when the widths differ. `other` is unchanged.
  void merge(const CovarianceAccumulator& other);

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
  /// fewer than 2 samples were added or the fit window is unusable.
  AlphaReport report(const FitOptions& fit = {},
                     Normalization normalization = Normalization::by_n) const;

 private:
  std::unique_ptr<detail::AccumulatorBackend> impl_;
};

}  // namespace alphareq
