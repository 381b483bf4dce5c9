#pragma once
// Element-wise updates of the float64 master state: cross = Σ (x − K)(x − K)ᵀ (D × D,
// column-major, upper triangle) and sums = Σ (x − K), for the shift K.

#include <cuda_runtime.h>

#include <cstdint>

namespace alphareq::kernels {

/// cross += product and sums += product_sums, where the float32 batch product and column
/// sums come from SSYRK/SGEMM and SGEMV: the float64 sum over batches keeps the error
/// from growing with n.
void launch_add_float32_batch(const float* product, const float* product_sums, double* cross,
                              double* sums, std::int64_t dim, cudaStream_t stream);

/// Folds in another accumulator's (count, mean, m2) for the shift K:
/// cross += m2 + count · (mean − K)(mean − K)ᵀ and sums += count · (mean − K).
void launch_merge_moments(const double* other_mean, const double* other_m2,
                          std::int64_t other_count, const double* shift, double* cross,
                          double* sums, std::int64_t dim, cudaStream_t stream);

/// matrix (upper triangle, column-major) = (cross − sums sumsᵀ / count) / divisor: the
/// covariance the eigensolver gets, in Out (float or double).
template <typename Out>
void launch_form_covariance(const double* cross, const double* sums, std::int64_t count,
                            double divisor, Out* matrix, std::int64_t dim, cudaStream_t stream);

/// mean = shift + sums / count and m2 = cross − sums sumsᵀ / count (upper triangle).
void launch_export_moments(const double* cross, const double* sums, const double* shift,
                           std::int64_t count, double* mean, double* m2, std::int64_t dim,
                           cudaStream_t stream);

}  // namespace alphareq::kernels
