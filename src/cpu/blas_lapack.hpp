#pragma once
// Thin, checked wrappers over the Fortran BLAS/LAPACK routines the CPU backend uses.
// We declare the Fortran symbols ourselves rather than include cblas.h/lapacke.h: the
// Fortran ABI is the one every BLAS (OpenBLAS, MKL, reference) exports, and it spares us
// header-path differences between distributions. The hidden string-length arguments of
// the gfortran ABI are passed explicitly.

#include <cstddef>
#include <cstdint>

namespace alphareq::cpu {

enum class Triangle { upper, lower };

/// C ← alpha · A Aᵀ + beta · C on the `triangle` of C, with A an n × k column-major
/// matrix (leading dimension lda) and C an n × n column-major matrix (leading dimension ldc).
void syrk(Triangle triangle, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, double beta, double* c, std::int64_t ldc);
void syrk(Triangle triangle, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, float beta, float* c, std::int64_t ldc);

/// A ← A + alpha · x xᵀ on the `triangle` of the n × n column-major A.
void syr(Triangle triangle, std::int64_t n, double alpha, const double* x, double* a,
         std::int64_t lda);

/// C ← alpha · op(A) op(B) + beta · C, all column-major.
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
          double alpha, const double* a, std::int64_t lda, const double* b, std::int64_t ldb,
          double beta, double* c, std::int64_t ldc);

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
          float beta, float* c, std::int64_t ldc);

/// Eigenvalues (ascending) of the symmetric n × n column-major matrix whose `triangle` is
/// in `a` (destroyed), with LAPACK dsyevd (divide and conquer, eigenvalues only).
/// Throws numerical_error when LAPACK reports a failure.
void symmetric_eigenvalues(Triangle triangle, std::int64_t n, double* a, std::int64_t lda,
                           double* eigenvalues_ascending);

/// Q (n × n, column-major, overwriting `a`) of the QR factorisation of the square `a`,
/// with dgeqrf + dorgqr.
void orthogonal_factor(std::int64_t n, double* a);

}  // namespace alphareq::cpu
