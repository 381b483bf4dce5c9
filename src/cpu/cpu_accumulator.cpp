#include "cpu/cpu_accumulator.hpp"

#include "core/fit_window.hpp"
#include "core/host_memory.hpp"
#include "core/stopwatch.hpp"
#include "cpu/blas_lapack.hpp"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace alphareq::cpu {
namespace {

// Rows centred per dsyrk call: large enough for BLAS to run near its peak, small enough
// that the float64 scratch stays in the tens of MiB for any width.
constexpr std::int64_t kScratchBytes = std::int64_t{16} << 20;
constexpr std::int64_t kMinChunkRows = 64;

std::int64_t chunk_rows_for(std::int64_t dim, std::int64_t rows) {
  const std::int64_t by_bytes = kScratchBytes / (dim * static_cast<std::int64_t>(sizeof(double)));
  return std::min(rows, std::max(kMinChunkRows, by_bytes));
}

// float32 products (SSYRK) of centred values within [2^-40, 2^40] neither overflow nor lose
// digits to subnormals: the squares lie in [2^-80, 2^80] and a chunk sums at most 2^21 of
// them, well inside float32's [2^-126, 2^128]. Features reach 1e38 or 1e-45 in float32.
constexpr double kSingleSafeLow = 0x1p-40;
constexpr double kSingleSafeHigh = 0x1p40;
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "the float32 path relies on IEEE 754 conversions (overflow gives Inf)");

// A column that is constant in a batch: the float64 sum of its n equal values need not be
// exactly n times the value, so its computed mean can be off by a few ulps, and centring on
// it leaves that error in every row, whose products are rounding noise in the covariance
// that the fit would take for a spectrum. The sum's relative error is below (n − 1)·ε/2
// (recursive summation), so a first value within n·ε of the computed mean is as good a
// centre (the corrected two-pass absorbs either) and makes a constant column exactly zero.
template <typename T>
void centre_constant_columns_exactly(const T* first_row, std::int64_t rows,
                                     std::vector<double>& shift) {
  const double tolerance = static_cast<double>(rows) * std::numeric_limits<double>::epsilon();
  for (std::size_t c = 0; c < shift.size(); ++c) {
    const double value = static_cast<double>(first_row[c]);
    if (std::abs(value - shift[c]) <= tolerance * std::abs(value)) shift[c] = value;
  }
}

// Trace of M2 once a group of `group_count` samples with mean `group_mean` and per-column
// centred sums of squares (or upper bounds of them) `group_squares` is merged into the state
// (count, mean, m2): the diagonals plus Chan's merge term. Every |M2_ij| <= √(M2_ii M2_jj)
// and every eigenvalue <= the trace, so a finite trace keeps the covariance, its spectrum
// and the fit finite.
double merged_trace(std::int64_t dim, std::int64_t count, const std::vector<double>& mean,
                    const std::vector<double>& m2, std::int64_t group_count,
                    const std::vector<double>& group_mean,
                    const std::vector<double>& group_squares) {
  const double weight = static_cast<double>(count) * static_cast<double>(group_count) /
                        static_cast<double>(count + group_count);
  double trace = 0.0;
  for (std::int64_t c = 0; c < dim; ++c) {
    const double delta = group_mean[c] - mean[c];
    trace += m2[c * dim + c] + group_squares[c] + (count > 0 ? weight * delta * delta : 0.0);
  }
  return trace;
}

[[noreturn]] void throw_covariance_overflow(const std::string& what) {
  throw invalid_input(what +
                      ": features too large: their covariance would overflow float64 (values "
                      "or means beyond about 1e150); scale them down, alpha does not depend on "
                      "the scale");
}

}  // namespace

void require_host_memory_for_accumulator(std::int64_t dim) {
  detail::require_host_memory(2.0 * static_cast<double>(dim) * static_cast<double>(dim) * sizeof(double),
                              "the D x D float64 covariance for D = " + std::to_string(dim) +
                                  " and the copy of it that its eigenvalues need");
}

void require_host_memory_for_layers(const std::vector<std::int64_t>& dims) {
  double squares = 0.0, largest = 0.0;
  for (const std::int64_t dim : dims) {
    const double square = static_cast<double>(dim) * static_cast<double>(dim);
    squares += square;
    largest = std::max(largest, square);
  }
  detail::require_host_memory((squares + largest) * sizeof(double),
                              "the D x D float64 states of " + std::to_string(dims.size()) +
                                  " layers and the eigensolver's copy of the widest");
}

CpuAccumulator::CpuAccumulator(std::int64_t dim, AccumulationPrecision precision)
    : dim_(dim), precision_(precision) {
  if (dim < 1) throw invalid_input("accumulator: the number of features must be >= 1, got " +
                                   std::to_string(dim));
  const std::uint64_t d = static_cast<std::uint64_t>(dim);
  require_host_memory_for_accumulator(dim);
  detail::allocate_or_throw(mean_, d, "the feature mean");
  detail::allocate_or_throw(m2_, d * d, "the D x D float64 covariance for D = " +
                                            std::to_string(dim));
}

std::unique_ptr<detail::AccumulatorBackend> CpuAccumulator::clone() const {
  return std::make_unique<CpuAccumulator>(*this);
}

template <typename T>
std::vector<double> CpuAccumulator::checked_column_sums(const T* data, std::int64_t rows,
                                                        std::int64_t row_stride) const {
  std::vector<double> sums(static_cast<std::size_t>(dim_), 0.0);
  std::vector<double> squares(static_cast<std::size_t>(dim_), 0.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = data + r * row_stride;
    for (std::int64_t c = 0; c < dim_; ++c) {
      const double value = static_cast<double>(row[c]);
      sums[c] += value;
      squares[c] += value * value;
    }
  }
  // NaN and Inf propagate into the sums, so the clean case costs one check per column;
  // only a non-finite sum pays for the search of where it came from.
  if (std::all_of(sums.begin(), sums.end(), [](double s) { return std::isfinite(s); })) {
    // Refuse, before anything changes, a batch whose covariance would overflow. Σ x² bounds
    // Σ (x − x̄)²; only when that bound overflows (values beyond ~1e150, or a mean far above
    // the spread at that scale) are the centred sums computed, in one more pass.
    std::vector<double> batch_mean = sums;
    for (double& m : batch_mean) m /= static_cast<double>(rows);
    if (!std::isfinite(merged_trace(dim_, count_, mean_, m2_, rows, batch_mean, squares))) {
      std::fill(squares.begin(), squares.end(), 0.0);
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* row = data + r * row_stride;
        for (std::int64_t c = 0; c < dim_; ++c) {
          const double centred = static_cast<double>(row[c]) - batch_mean[c];
          squares[c] += centred * centred;
        }
      }
      if (!std::isfinite(merged_trace(dim_, count_, mean_, m2_, rows, batch_mean, squares))) {
        throw_covariance_overflow("batch");
      }
    }
    return sums;
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = data + r * row_stride;
    for (std::int64_t c = 0; c < dim_; ++c) {
      if (!std::isfinite(row[c])) {
        throw invalid_input(std::string(std::isnan(row[c]) ? "NaN" : "Inf") +
                            " in the features at row " + std::to_string(count_ + r) +
                            ", column " + std::to_string(c) + " (0-based)");
      }
    }
  }
  const auto column = std::find_if(sums.begin(), sums.end(),
                                   [](double s) { return !std::isfinite(s); }) - sums.begin();
  throw invalid_input("features too large: the sum of column " + std::to_string(column) +
                      " overflows float64");
}

template <typename T>
void CpuAccumulator::accumulate_centred(const T* data, std::int64_t rows,
                                        std::int64_t row_stride,
                                        const std::vector<double>& shift,
                                        std::vector<double>& residual_sums) {
  const std::int64_t chunk = chunk_rows_for(dim_, rows);
  // TF32 is a tensor-core format; on the CPU its nearest equivalent is float32.
  const bool single = precision_ != AccumulationPrecision::float64;
  const std::size_t scratch = static_cast<std::size_t>(chunk * dim_);
  if (single) {
    if (centred_single_.size() < scratch) centred_single_.resize(scratch);
    product_single_.resize(static_cast<std::size_t>(dim_ * dim_));
  } else if (centred_.size() < scratch) {
    centred_.resize(scratch);
  }
  for (std::int64_t first = 0; first < rows; first += chunk) {
    const std::int64_t count = std::min(chunk, rows - first);
    // float32 products: a column's centred values outside [kSingleSafeLow, kSingleSafeHigh]
    // would overflow SSYRK or vanish in its subnormals, so such a chunk is centred again with
    // every column scaled by a power of two (exact), and the products scaled back in float64.
    // Within the range nothing is scaled and the result is what it always was.
    const std::vector<double> residual_before = single ? residual_sums : std::vector<double>();
    std::vector<double> extent(single ? static_cast<std::size_t>(dim_) : 0, 0.0);
    std::vector<int> exponent;  // per column, when scaled: values were multiplied by 2^-e
    // Centre in float64 whatever the input precision: subtracting a large mean in float32
    // would lose the digits the covariance is made of.
    if (single) {
      double* const extent_of = extent.data();
      double* const residual = residual_sums.data();
      const double* const centre = shift.data();
      for (std::int64_t r = 0; r < count; ++r) {
        const T* row = data + (first + r) * row_stride;
        float* const out = centred_single_.data() + r * dim_;
        for (std::int64_t c = 0; c < dim_; ++c) {
          const double centred = static_cast<double>(row[c]) - centre[c];
          const double magnitude = std::abs(centred);
          extent_of[c] = magnitude > extent_of[c] ? magnitude : extent_of[c];
          // Beyond float32's range this is ±Inf (IEEE 754); such a chunk is redone below.
          const float rounded = static_cast<float>(centred);
          out[c] = rounded;
          residual[c] += rounded;
        }
      }
    } else {
      for (std::int64_t r = 0; r < count; ++r) {
        const T* row = data + (first + r) * row_stride;
        for (std::int64_t c = 0; c < dim_; ++c) {
          const double centred = static_cast<double>(row[c]) - shift[c];
          centred_[r * dim_ + c] = centred;
          residual_sums[c] += centred;
        }
      }
    }
    if (single && std::any_of(extent.begin(), extent.end(), [](double e) {
          return e > kSingleSafeHigh || (e > 0.0 && e < kSingleSafeLow);
        })) {
      exponent.resize(static_cast<std::size_t>(dim_));
      for (std::int64_t c = 0; c < dim_; ++c) std::frexp(extent[c], &exponent[c]);  // 0 for 0
      residual_sums = residual_before;
      for (std::int64_t r = 0; r < count; ++r) {
        const T* row = data + (first + r) * row_stride;
        for (std::int64_t c = 0; c < dim_; ++c) {
          const double centred = static_cast<double>(row[c]) - shift[c];
          const float rounded = static_cast<float>(std::ldexp(centred, -exponent[c]));
          centred_single_[r * dim_ + c] = rounded;
          residual_sums[c] += std::ldexp(static_cast<double>(rounded), exponent[c]);
        }
      }
    }
    // Row-major count × D is column-major D × count: syrk "N" gives D × D = Σ y yᵀ.
    if (single) {
      syrk(Triangle::upper, dim_, count, 1.0f, centred_single_.data(), dim_, 0.0f,
           product_single_.data(), dim_);
      for (std::int64_t j = 0; j < dim_; ++j) {
        for (std::int64_t i = 0; i <= j; ++i) {
          const double product = product_single_[j * dim_ + i];
          m2_[j * dim_ + i] +=
              exponent.empty() ? product : std::ldexp(product, exponent[i] + exponent[j]);
        }
      }
    } else {
      syrk(Triangle::upper, dim_, count, 1.0, centred_.data(), dim_, 1.0, m2_.data(), dim_);
    }
  }
}

void CpuAccumulator::merge_group_mean(std::int64_t group_count,
                                      const std::vector<double>& group_mean) {
  const std::int64_t total = count_ + group_count;
  std::vector<double> delta(static_cast<std::size_t>(dim_));
  for (std::int64_t c = 0; c < dim_; ++c) delta[c] = group_mean[c] - mean_[c];
  if (count_ > 0) {
    const double weight = static_cast<double>(count_) * static_cast<double>(group_count) /
                          static_cast<double>(total);
    syr(Triangle::upper, dim_, weight, delta.data(), m2_.data(), dim_);
  }
  const double fraction = static_cast<double>(group_count) / static_cast<double>(total);
  for (std::int64_t c = 0; c < dim_; ++c) mean_[c] += delta[c] * fraction;
  count_ = total;
}

void CpuAccumulator::add_batch(const MatrixView& batch) {
  const detail::Stopwatch stopwatch;
  check_view_shape(batch);
  if (batch.space != MemorySpace::host) {
    throw invalid_input("batch: the CPU backend takes host memory, but a device pointer was "
                        "given (use the CUDA backend for device batches)");
  }
  if (batch.cols != dim_) {
    throw invalid_input("batch: has " + std::to_string(batch.cols) +
                        " columns but the accumulator has " + std::to_string(dim_) +
                        " features");
  }
  if (batch.dtype != DType::float32 && batch.dtype != DType::float64) {
    throw invalid_input("batch: dtype " + to_string(batch.dtype) +
                        " is not supported on the CPU backend (float32 or float64)");
  }
  const auto process = [&](const auto* data) {
    // Everything that can throw on bad input happens before the state changes.
    std::vector<double> shift = checked_column_sums(data, batch.rows, batch.row_stride);
    for (double& s : shift) s /= static_cast<double>(batch.rows);
    centre_constant_columns_exactly(data, batch.rows, shift);
    std::vector<double> residual_sums(static_cast<std::size_t>(dim_), 0.0);
    accumulate_centred(data, batch.rows, batch.row_stride, shift, residual_sums);
    // The shift is the rounded batch mean (a constant column's own value); the residual sums
    // correct M2 and the mean to the exact batch mean (the corrected two-pass algorithm).
    syr(Triangle::upper, dim_, -1.0 / static_cast<double>(batch.rows), residual_sums.data(),
        m2_.data(), dim_);
    for (std::int64_t c = 0; c < dim_; ++c) {
      shift[c] += residual_sums[c] / static_cast<double>(batch.rows);
    }
    merge_group_mean(batch.rows, shift);
  };
  if (batch.dtype == DType::float32) {
    process(static_cast<const float*>(batch.data));
  } else {
    process(static_cast<const double*>(batch.data));
  }
  accumulate_ms_ += stopwatch.elapsed_ms();
}

void CpuAccumulator::merge_moments(const detail::Moments& other) {
  const detail::Stopwatch stopwatch;
  if (other.count == 0) return;
  std::vector<double> other_diagonal(static_cast<std::size_t>(dim_));
  for (std::int64_t c = 0; c < dim_; ++c) other_diagonal[c] = other.m2_upper[c * dim_ + c];
  if (!std::isfinite(
          merged_trace(dim_, count_, mean_, m2_, other.count, other.mean, other_diagonal))) {
    throw_covariance_overflow("merge");
  }
  for (std::size_t i = 0; i < m2_.size(); ++i) m2_[i] += other.m2_upper[i];
  merge_group_mean(other.count, other.mean);
  merged_float32_rounded_ = merged_float32_rounded_ || other.float32_rounded;
  accumulate_ms_ += stopwatch.elapsed_ms();
}

detail::Moments CpuAccumulator::moments() const {
  return detail::Moments{dim_, count_, mean_, m2_,
                         precision_ != AccumulationPrecision::float64 || merged_float32_rounded_};
}

double CpuAccumulator::rank_epsilon() const {
  return detail::rank_epsilon(precision_, SolverPrecision::float64, merged_float32_rounded_);
}

std::vector<double> CpuAccumulator::eigenvalues(double divisor) const {
  std::vector<double> scaled;
  const std::uint64_t d = static_cast<std::uint64_t>(dim_);
  detail::allocate_or_throw(scaled, d * d, "the eigensolver's copy of the D x D covariance");
  const double scale = 1.0 / divisor;
  for (std::int64_t j = 0; j < dim_; ++j) {
    for (std::int64_t i = 0; i <= j; ++i) scaled[j * dim_ + i] = m2_[j * dim_ + i] * scale;
  }
  std::vector<double> values(static_cast<std::size_t>(dim_));
  symmetric_eigenvalues(Triangle::upper, dim_, scaled.data(), dim_, values.data());
  std::reverse(values.begin(), values.end());
  return values;
}

void CpuAccumulator::spectrum_and_fit(double divisor, const FitOptions& fit,
                                      AlphaReport& report) const {
  const detail::Stopwatch eigen_watch;
  report.eigenvalues = eigenvalues(divisor);
  report.timings.eigenvalues_ms = eigen_watch.elapsed_ms();
  const detail::Stopwatch fit_watch;
  // float32 products leave rounding noise near ε32 · λ_1: the rank threshold says so.
  report.fit = detail::fit_power_law(report.eigenvalues, count_, fit, rank_epsilon());
  report.timings.fit_ms = fit_watch.elapsed_ms();
}

}  // namespace alphareq::cpu
