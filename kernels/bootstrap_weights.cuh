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
/// row-major (cols × rows column-major) values weights[b·rows + r] · y[r·cols + c].
template <typename T>
void launch_weighted_copies(const T* y, std::int64_t rows, std::int64_t cols, const T* weights,
                            std::int64_t replicates, T* copies, cudaStream_t stream);

/// cross[b] += product[b] (upper triangles) and sums[b] += product_sums[b] for every
/// replicate, from float32 batched products: the float64 sum over chunks keeps the error
/// from growing with n.
void launch_add_float32_replicates(const float* product, const float* product_sums, double* cross,
                                   double* sums, std::int64_t dim, std::int64_t replicates,
                                   cudaStream_t stream);

/// matrices[b] (upper triangle) = (cross[b] − sums[b] sums[b]ᵀ / n_b) / divisor_b with
/// n_b = counts[b] and divisor_b = n_b (by_n) or n_b − 1, in Out. With Out = double,
/// matrices may be cross itself (each element is read and written by one thread).
template <typename Out>
void launch_form_replicate_covariances(const double* cross, const double* sums,
                                       const unsigned long long* counts, bool by_n, Out* matrices,
                                       std::int64_t dim, std::int64_t replicates,
                                       cudaStream_t stream);

}  // namespace alphareq::kernels
