#include "cpu/cpu_accumulator.hpp"

#include "core/host_memory.hpp"
#include "core/stopwatch.hpp"
#include "cpu/blas_lapack.hpp"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
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

}  // namespace

CpuAccumulator::CpuAccumulator(std::int64_t dim, AccumulationPrecision precision)
    : dim_(dim), precision_(precision) {
  if (dim < 1) throw invalid_input("accumulator: the number of features must be >= 1, got " +
                                   std::to_string(dim));
  const std::uint64_t d = static_cast<std::uint64_t>(dim);
  detail::require_host_memory(static_cast<double>(dim) * static_cast<double>(dim) * sizeof(double),
                              "the D x D float64 covariance for D = " + std::to_string(dim));
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
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = data + r * row_stride;
    for (std::int64_t c = 0; c < dim_; ++c) sums[c] += static_cast<double>(row[c]);
  }
  // NaN and Inf propagate into the sums, so the clean case costs one check per column;
  // only a non-finite sum pays for the search of where it came from.
  if (std::all_of(sums.begin(), sums.end(), [](double s) { return std::isfinite(s); })) {
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
    // Centre in float64 whatever the input precision: subtracting a large mean in float32
    // would lose the digits the covariance is made of.
    for (std::int64_t r = 0; r < count; ++r) {
      const T* row = data + (first + r) * row_stride;
      for (std::int64_t c = 0; c < dim_; ++c) {
        const double centred = static_cast<double>(row[c]) - shift[c];
        if (single) {
          const float rounded = static_cast<float>(centred);
          centred_single_[r * dim_ + c] = rounded;
          residual_sums[c] += rounded;
        } else {
          centred_[r * dim_ + c] = centred;
          residual_sums[c] += centred;
        }
      }
    }
    // Row-major count × D is column-major D × count: syrk "N" gives D × D = Σ y yᵀ.
    if (single) {
      syrk(Triangle::upper, dim_, count, 1.0f, centred_single_.data(), dim_, 0.0f,
           product_single_.data(), dim_);
      for (std::int64_t j = 0; j < dim_; ++j) {
        for (std::int64_t i = 0; i <= j; ++i) m2_[j * dim_ + i] += product_single_[j * dim_ + i];
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
    std::vector<double> residual_sums(static_cast<std::size_t>(dim_), 0.0);
    accumulate_centred(data, batch.rows, batch.row_stride, shift, residual_sums);
    // The shift is the rounded batch mean; the residual sums correct M2 and the mean to
    // the exact batch mean (the corrected two-pass algorithm).
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
  for (std::size_t i = 0; i < m2_.size(); ++i) m2_[i] += other.m2_upper[i];
  merge_group_mean(other.count, other.mean);
  accumulate_ms_ += stopwatch.elapsed_ms();
}

detail::Moments CpuAccumulator::moments() const {
  return detail::Moments{dim_, count_, mean_, m2_};
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
  report.fit = fit_power_law(report.eigenvalues, count_, fit);
  report.timings.fit_ms = fit_watch.elapsed_ms();
}

}  // namespace alphareq::cpu
