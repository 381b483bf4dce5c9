#include "cpu/blas_lapack.hpp"

#include <alphareq/error.hpp>

#include <climits>
#include <string>
#include <vector>

extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc,
            std::size_t uplo_len, std::size_t trans_len);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc,
            std::size_t uplo_len, std::size_t trans_len);
void dsyr_(const char* uplo, const int* n, const double* alpha, const double* x, const int* incx,
           double* a, const int* lda, std::size_t uplo_len);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b,
            const int* ldb, const double* beta, double* c, const int* ldc,
            std::size_t transa_len, std::size_t transb_len);
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc, std::size_t transa_len,
            std::size_t transb_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork,
             int* info, std::size_t jobz_len, std::size_t uplo_len);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda,
             const double* tau, double* work, const int* lwork, int* info);
}

namespace alphareq::cpu {
namespace {

// The LP64 BLAS interface takes 32-bit ints; a dimension beyond that must be refused,
// never truncated.
int checked_int(std::int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX) {
    throw invalid_input(std::string("BLAS/LAPACK argument ") + what + " = " +
                        std::to_string(value) + " exceeds the 32-bit BLAS interface limit");
  }
  return static_cast<int>(value);
}

const char* uplo(Triangle triangle) { return triangle == Triangle::upper ? "U" : "L"; }

}  // namespace

void syrk(Triangle triangle, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, double beta, double* c, std::int64_t ldc) {
  const int n32 = checked_int(n, "n"), k32 = checked_int(k, "k");
  const int lda32 = checked_int(lda, "lda"), ldc32 = checked_int(ldc, "ldc");
  dsyrk_(uplo(triangle), "N", &n32, &k32, &alpha, a, &lda32, &beta, c, &ldc32, 1, 1);
}

void syrk(Triangle triangle, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, float beta, float* c, std::int64_t ldc) {
  const int n32 = checked_int(n, "n"), k32 = checked_int(k, "k");
  const int lda32 = checked_int(lda, "lda"), ldc32 = checked_int(ldc, "ldc");
  ssyrk_(uplo(triangle), "N", &n32, &k32, &alpha, a, &lda32, &beta, c, &ldc32, 1, 1);
}

void syr(Triangle triangle, std::int64_t n, double alpha, const double* x, double* a,
         std::int64_t lda) {
  const int n32 = checked_int(n, "n"), lda32 = checked_int(lda, "lda");
  const int one = 1;
  dsyr_(uplo(triangle), &n32, &alpha, x, &one, a, &lda32, 1);
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
          double alpha, const double* a, std::int64_t lda, const double* b, std::int64_t ldb,
          double beta, double* c, std::int64_t ldc) {
  const int m32 = checked_int(m, "m"), n32 = checked_int(n, "n"), k32 = checked_int(k, "k");
  const int lda32 = checked_int(lda, "lda"), ldb32 = checked_int(ldb, "ldb");
  const int ldc32 = checked_int(ldc, "ldc");
  dgemm_(transpose_a ? "T" : "N", transpose_b ? "T" : "N", &m32, &n32, &k32, &alpha, a, &lda32,
         b, &ldb32, &beta, c, &ldc32, 1, 1);
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
          float beta, float* c, std::int64_t ldc) {
  const int m32 = checked_int(m, "m"), n32 = checked_int(n, "n"), k32 = checked_int(k, "k");
  const int lda32 = checked_int(lda, "lda"), ldb32 = checked_int(ldb, "ldb");
  const int ldc32 = checked_int(ldc, "ldc");
  sgemm_(transpose_a ? "T" : "N", transpose_b ? "T" : "N", &m32, &n32, &k32, &alpha, a, &lda32,
         b, &ldb32, &beta, c, &ldc32, 1, 1);
}

void symmetric_eigenvalues(Triangle triangle, std::int64_t n, double* a, std::int64_t lda,
                           double* eigenvalues_ascending) {
  const int n32 = checked_int(n, "n"), lda32 = checked_int(lda, "lda");
  // Workspace query first: the sizes depend on the LAPACK build.
  int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
  double work_size = 0.0;
  dsyevd_("N", uplo(triangle), &n32, a, &lda32, eigenvalues_ascending, &work_size, &lwork,
          &iwork_size, &liwork, &info, 1, 1);
  if (info != 0) {
    throw numerical_error("LAPACK dsyevd workspace query failed with info = " +
                          std::to_string(info));
  }
  lwork = static_cast<int>(work_size);
  liwork = iwork_size > 1 ? iwork_size : 1;
  std::vector<double> work(static_cast<std::size_t>(lwork > 1 ? lwork : 1));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_("N", uplo(triangle), &n32, a, &lda32, eigenvalues_ascending, work.data(), &lwork,
          iwork.data(), &liwork, &info, 1, 1);
  if (info < 0) {
    throw numerical_error("LAPACK dsyevd: argument " + std::to_string(-info) +
                          " had an illegal value");
  }
  if (info > 0) {
    throw numerical_error("LAPACK dsyevd did not converge (info = " + std::to_string(info) +
                          ": off-diagonal elements of an intermediate tridiagonal form did "
                          "not converge to zero); is the covariance finite?");
  }
}

void orthogonal_factor(std::int64_t n, double* a) {
  const int n32 = checked_int(n, "n");
  std::vector<double> tau(static_cast<std::size_t>(n32));
  int info = 0, lwork = -1;
  double work_size = 0.0;
  dgeqrf_(&n32, &n32, a, &n32, tau.data(), &work_size, &lwork, &info);
  lwork = static_cast<int>(work_size) > n32 ? static_cast<int>(work_size) : n32;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgeqrf_(&n32, &n32, a, &n32, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw numerical_error("LAPACK dgeqrf failed with info = " + std::to_string(info));
  dorgqr_(&n32, &n32, &n32, a, &n32, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw numerical_error("LAPACK dorgqr failed with info = " + std::to_string(info));
}

}  // namespace alphareq::cpu
