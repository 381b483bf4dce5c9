#pragma once
// Power-of-two scaling of the float32 (and TF32) batch products. Centred values whose
// column extent (max |x − shift| over a chunk) lies outside [2^-40, 2^40] would overflow
// SSYRK/SGEMM (float32 values near 1e38) or vanish in its subnormals (float32 values near
// 1e-40); such a column is multiplied by 2^-e before the float32 conversion, where 2^e is
// its extent rounded up to a power of two, and its products and sums are multiplied back
// by 2^(e_i + e_j) and 2^e_i in float64. Powers of two scale exactly, so a column within the
// range is not scaled and gives the bits it always did. The CPU backend's float32 path
// (src/cpu/cpu_accumulator.cpp) scales likewise, but once any column of a chunk is out of
// range it scales every column by its own exponent, and it leaves an extent of exactly 2^40
// alone: the same value to rounding, not the same bits.

namespace alphareq::kernels {

/// Per-column "largest exponent" of a chunk before any finite nonzero value is seen: the
/// byte pattern 0x80808080 that cudaMemsetAsync(..., 0x80, ...) writes (about -2.1e9).
constexpr int kNoExponent = static_cast<int>(0x80808080u);

/// The exponent e the column is scaled by (values × 2^-e), given the largest frexp exponent
/// of its centred values in the chunk: 0 within [2^-40, 2^40) or for a column of zeros.
__host__ __device__ inline int float32_scale_exponent(int largest_exponent) {
  if (largest_exponent == kNoExponent) return 0;
  return (largest_exponent > 40 || largest_exponent < -39) ? largest_exponent : 0;
}

// The float32 eigensolver's scale (launch_choose_float32_solver_scale, and the bootstrap's
// launch_screen_replicates for its batch of covariances): the covariance goes to the solver
// times 2^-e, e the frexp exponent of its largest |diagonal element| (0 for a zero or
// non-finite diagonal), so that the largest diagonal, which bounds every entry, lies in
// [0.5, 1). LAPACK's ssyevd rescales a matrix whose largest entry lies outside
// [2^-51, 2^51] itself; cuSOLVER documents no such step, so the input is normalised here,
// where it costs nothing: a power of two is exact, and the eigenvalues, intercept and rank
// threshold are scaled back in float64.

}  // namespace alphareq::kernels
