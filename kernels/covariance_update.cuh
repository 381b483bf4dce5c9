#pragma once
// Element-wise updates of the float64 master state: cross = Σ (x − K)(x − K)ᵀ (D × D,
// column-major, upper triangle) and sums = Σ (x − K), for the shift K.

#include <cuda_runtime.h>

#include <cstdint>

namespace alphareq::kernels {

/// cross += product and sums += product_sums, where the float32 batch product and column
/// sums come from SSYRK/SGEMM and SGEMV: the float64 sum over batches keeps the error
/// from growing with n. `largest_exponent` (may be null): the columns' largest exponents of
/// launch_shift_and_convert; a column scaled by 2^-e (float32_scale_exponent) has its
/// products and sum multiplied back by 2^(e_i + e_j) and 2^e_i, exactly.
void launch_add_float32_batch(const float* product, const float* product_sums, double* cross,
                              double* sums, std::int64_t dim, cudaStream_t stream,
                              const int* largest_exponent = nullptr);

/// Sets *flag to `first_row` (if it holds kNoBadElement) when the trace of cross, the sum of
/// the shifted squares Σ (x − K)², is no longer finite: the covariance has overflowed
/// float64 (or a NaN/Inf came in, which its own flags report first). A finite trace bounds
/// every entry, eigenvalue and the fit. One block; deterministic.
void launch_flag_trace_overflow(const double* cross, std::int64_t dim, unsigned long long* flag,
                                std::int64_t first_row, cudaStream_t stream);

/// Folds in another accumulator's (count, mean, m2) for the shift K:
/// cross += m2 + count · (mean − K)(mean − K)ᵀ and sums += count · (mean − K).
void launch_merge_moments(const double* other_mean, const double* other_m2,
                          std::int64_t other_count, const double* shift, double* cross,
                          double* sums, std::int64_t dim, cudaStream_t stream);

/// matrix (upper triangle, column-major) = (cross − sums (sums / count)ᵀ) / divisor: the
/// covariance the eigensolver gets, in Out (float or double). sums_i · (sums_j / count) is
/// at most √(cross_ii · cross_jj), so it stays finite whenever cross does.
/// `scale_exponent` (may be null): the matrix is multiplied by 2^-(*scale_exponent), exactly.
/// `flags` (may be null): `flag_count` NaN/Inf/overflow flags; when any is set the matrix is
/// all zeros, so that an eigensolver never sees NaN or Inf.
template <typename Out>
void launch_form_covariance(const double* cross, const double* sums, std::int64_t count,
                            double divisor, Out* matrix, std::int64_t dim, cudaStream_t stream,
                            const int* scale_exponent = nullptr,
                            const unsigned long long* flags = nullptr, int flag_count = 0);

/// *scale_exponent = the power of two that brings the covariance's largest diagonal element
/// (which bounds every entry) to [0.5, 1) (0 for a zero or non-finite diagonal; the rule
/// in float32_scaling.cuh): a float32 eigensolver then sees neither Inf nor
/// subnormals, and eigenvalues in float32's range, for covariances anywhere in float64's.
/// One block; deterministic.
void launch_choose_float32_solver_scale(const double* cross, const double* sums,
                                        std::int64_t count, double divisor, std::int64_t dim,
                                        int* scale_exponent, cudaStream_t stream);

/// mean = shift + sums / count and m2 = cross − sums sumsᵀ / count (upper triangle).
void launch_export_moments(const double* cross, const double* sums, const double* shift,
                           std::int64_t count, double* mean, double* m2, std::int64_t dim,
                           cudaStream_t stream);

}  // namespace alphareq::kernels
