// Calls BLAS itself (ddot_) and alphareq (OpenBLAS's dsyevd_ inside), in one program: both
// must link and give their known results. Which library answers ddot_ at run time is the
// link order's choice (OpenBLAS, first here, exports it too): what this project checks is
// at configure time (CMakeLists.txt: its BLAS::BLAS and BLAS_LIBRARIES are its own) and at
// link time (alphareq's LAPACK calls resolve). Exit status: 0 when both do, 1 otherwise,
// 77 when the project found no BLAS of its own (nothing to collide with;
// CONSUMER_WITHOUT_OWN_BLAS).
#include "../consumer/known_alpha.hpp"

#include <cmath>
#include <cstdio>

#ifndef CONSUMER_WITHOUT_OWN_BLAS
extern "C" double ddot_(const int* n, const double* x, const int* incx, const double* y,
                        const int* incy);
#endif

int main() {
#ifdef CONSUMER_WITHOUT_OWN_BLAS
  std::printf("consumer_blas: SKIPPED: find_package(BLAS) with BLA_VENDOR Generic found no "
              "libblas (Debian: libblas-dev), so there is no BLAS of the project's own\n");
  return 77;
#else
  const double x[] = {1.0, 2.0, 3.0};
  const double y[] = {4.0, -5.0, 6.0};
  const int n = 3;
  const int stride = 1;
  const double dot = ddot_(&n, x, &stride, y, &stride);  // 4 - 10 + 18
  const alphareq::AlphaReport report = report_of_known_alpha_features();
  std::printf("consumer_blas: own BLAS ddot = %.1f (expected 12.0), alphareq %s alpha = %.4f "
              "(true 1.0)\n", dot, alphareq::version(), report.fit.alpha);
  return dot == 12.0 && std::abs(report.fit.alpha - 1.0) < 0.05 ? 0 : 1;
#endif
}
