#pragma once
// Kernels of the batched Poisson bootstrap (src/cuda/cuda_bootstrap.cpp): the replicates'
// multiplicities of a block of rows, the weighted copies the batched product reads, and
// the per-replicate float64 state updates. Host-callable launchers; all work is queued on
// `stream`.
//
// Layouts (column-major, as cuBLAS sees them): a block of m shifted rows is Y, D × m with
// leading dimension D; the weights are W, m × B with leading dimension m (weights[b·m + r]
// is the multiplicity of row r in replicate b); replicate b's products are the D × D
// matrix at cross + b·D², its column sums the D values at sums + b·D.

#include "batch_conversion.cuh"  // Float32Rounding

#include <cuda_runtime.h>

#include <cstdint>

namespace alphareq::kernels {

/// weights[b·rows + r] = multiplicity of sample first_sample + r in replicate
/// first_replicate + b (core/bootstrap_draw.hpp, the CPU bootstrap's draw), for
/// b < replicates and r < rows, and counts[b] += Σ_r weights[b·rows + r] (exact integers).
template <typename T>
void launch_bootstrap_weights(std::uint64_t seed, std::int64_t first_replicate,
                              std::int64_t replicates, std::int64_t first_sample, std::int64_t rows,
                              T* weights, unsigned long long* counts, cudaStream_t stream);

/// copies[b] = Y · diag(weights of replicate b): copies + b·cols·rows holds rows × cols
/// row-major (cols × rows column-major) values weights[b·rows + r] · y[r·cols + c]. With
/// Float32Rounding::to_tf32 each float copy is rounded to TF32, so the tensor cores take it
/// as it is (a weight of 3, 5, ... needs more bits than y has): an unbiased rounding
/// (core/tf32_rounding.hpp), where theirs might truncate. The column sums (Y·W) keep the
/// exact w·y: the mismatch left is zero-mean (see CudaBootstrap::accumulate_rows).
template <typename T>
void launch_weighted_copies(const T* y, std::int64_t rows, std::int64_t cols, const T* weights,
                            std::int64_t replicates, T* copies, cudaStream_t stream,
                            Float32Rounding rounding);

/// cross[b] += product[b] (upper triangles) and sums[b] += product_sums[b] for every
/// replicate, from float32 batched products: the float64 sum over chunks keeps the error
/// from growing with n. `largest_exponent` (may be null): the sub-chunk's per-column largest
/// exponents of launch_shift_and_convert, shared by all replicates; a column scaled by 2^-e
/// (float32_scale_exponent, kernels/float32_scaling.cuh) has its products and sums
/// multiplied back by 2^(e_i + e_j) and 2^e_i in float64, exactly, as the accumulator's
/// launch_add_float32_batch does.
void launch_add_float32_replicates(const float* product, const float* product_sums, double* cross,
                                   double* sums, std::int64_t dim, std::int64_t replicates,
                                   cudaStream_t stream, const int* largest_exponent = nullptr);

/// What launch_screen_replicates finds in a replicate.
constexpr int kReplicateUsable = 0;
/// n_b < 2: no covariance (its divisor would be 0 or −1).
constexpr int kReplicateTooFewSamples = 1;
/// The trace of cross[b] (Σ_i w_bi |y_i|²) is not finite: the covariance overflowed float64
/// (or NaN/Inf features, which their own flags report first). A finite trace bounds every
/// entry of P_b, S_b and the covariance, as in the accumulator's launch_flag_trace_overflow.
constexpr int kReplicateOverflowed = 2;

/// status[b] = one of the kReplicate… values above, for every replicate, from its counts[b]
/// and the diagonal of cross[b]. `scale_exponents` (float32 solver; may be null): for a usable
/// replicate the power of two e_b that brings its covariance's largest |diagonal element|
/// (divisor n_b when by_n, else n_b − 1) to [0.5, 1) (the accumulator's rule,
/// float32_scaling.cuh); 0 for the others. One block per replicate; deterministic.
void launch_screen_replicates(const double* cross, const double* sums,
                              const unsigned long long* counts, bool by_n, std::int64_t dim,
                              std::int64_t replicates, int* status, int* scale_exponents,
                              cudaStream_t stream);

/// matrices[b] (upper triangle) = (cross[b] − sums[b] sums[b]ᵀ / n_b) / divisor_b with
/// n_b = counts[b] and divisor_b = n_b (by_n) or n_b − 1, in Out, times 2^-scale_exponents[b]
/// when `scale_exponents` is given (exact). All zeros instead, so that the eigensolver never
/// sees 0/0, NaN or Inf, for a replicate whose status[b] (launch_screen_replicates) is not
/// kReplicateUsable, and for every replicate when any of the `flag_count` NaN/Inf `flags` is
/// set; the host reports those before reading any result. With Out = double, matrices may be
/// cross itself (each element is read and written by one thread).
template <typename Out>
void launch_form_replicate_covariances(const double* cross, const double* sums,
                                       const unsigned long long* counts, bool by_n, Out* matrices,
                                       std::int64_t dim, std::int64_t replicates, const int* status,
                                       const int* scale_exponents, const unsigned long long* flags,
                                       int flag_count, cudaStream_t stream);

}  // namespace alphareq::kernels
