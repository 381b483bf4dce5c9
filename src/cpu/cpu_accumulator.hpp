#pragma once
// The CPU backend: OpenBLAS dsyrk/ssyrk for each batch's product, LAPACK dsyevd for the
// spectrum. It is the fallback on machines without a GPU and the baseline the CUDA
// backend is measured against, so the heavy lifting is BLAS, not loops.

#include "core/accumulator_backend.hpp"

#include <vector>

namespace alphareq::cpu {

class CpuAccumulator final : public detail::AccumulatorBackend {
 public:
  CpuAccumulator(std::int64_t dim, AccumulationPrecision precision);

  Backend kind() const override { return Backend::cpu; }
  std::int64_t dim() const override { return dim_; }
  std::int64_t count() const override { return count_; }
  std::unique_ptr<detail::AccumulatorBackend> clone() const override;

  void add_batch(const MatrixView& batch) override;
  void merge_moments(const detail::Moments& other) override;
  detail::Moments moments() const override;

  std::vector<double> eigenvalues(double divisor) const override;
  void spectrum_and_fit(double divisor, const FitOptions& fit, AlphaReport& report) const override;
  double accumulate_ms() const override { return accumulate_ms_; }
  double rank_epsilon() const override;

 private:
  template <typename T>
  std::vector<double> checked_column_sums(const T* data, std::int64_t rows,
                                          std::int64_t row_stride) const;
  template <typename T>
  void accumulate_centred(const T* data, std::int64_t rows, std::int64_t row_stride,
                          const std::vector<double>& shift, std::vector<double>& residual_sums);
  // Chan et al.'s pairwise update of count, mean and M2 with a group of `group_count`
  // samples whose mean is `group_mean`, once the group's own centred M2 is already in m2_.
  void merge_group_mean(std::int64_t group_count, const std::vector<double>& group_mean);

  std::int64_t dim_;
  AccumulationPrecision precision_;
  std::int64_t count_ = 0;
  std::vector<double> mean_;
  std::vector<double> m2_;  // dim × dim column-major, upper triangle used
  bool merged_float32_rounded_ = false;  // a float32/TF32 state was merged in
  double accumulate_ms_ = 0.0;
  // Scratch, kept between batches so streaming does not reallocate.
  std::vector<double> centred_;
  std::vector<float> centred_single_;
  std::vector<float> product_single_;
};

/// Throws out_of_memory unless an accumulator of width `dim` fits the machine's memory: its
/// D × D state and the second copy every result (eigenvalues, covariance, state) needs,
/// checked before a pass over the data rather than the second ending in the OOM killer.
void require_host_memory_for_accumulator(std::int64_t dim);

/// The same for accumulators of the widths `dims` (one per layer) held at once, with one
/// result's copy of the widest (their reports run one after another).
void require_host_memory_for_layers(const std::vector<std::int64_t>& dims);

}  // namespace alphareq::cpu
