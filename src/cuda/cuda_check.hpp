#pragma once
// One macro per status family: each failed call becomes an alphareq::cuda_error naming the
// call, the status and the source location (RAFT_CUDA_TRY style).

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <string>

namespace alphareq::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);
[[noreturn]] void throw_cusolver_error(cusolverStatus_t status, const char* call, const char* file,
                                       int line);
/// The status's enumerator name ("CUSOLVER_STATUS_INVALID_VALUE"), or its number when the
/// toolkit has a status this list does not know.
std::string cusolver_status_name(cusolverStatus_t status);

}  // namespace alphareq::cuda

#define ALPHAREQ_CUDA_TRY(call)                                                   \
  do {                                                                            \
    const cudaError_t alphareq_status_ = (call);                                  \
    if (alphareq_status_ != cudaSuccess) {                                        \
      ::alphareq::cuda::throw_cuda_error(alphareq_status_, #call, __FILE__, __LINE__); \
    }                                                                             \
  } while (0)

#define ALPHAREQ_CUBLAS_TRY(call)                                                 \
  do {                                                                            \
    const cublasStatus_t alphareq_status_ = (call);                               \
    if (alphareq_status_ != CUBLAS_STATUS_SUCCESS) {                              \
      ::alphareq::cuda::throw_cublas_error(alphareq_status_, #call, __FILE__, __LINE__); \
    }                                                                             \
  } while (0)

#define ALPHAREQ_CUSOLVER_TRY(call)                                               \
  do {                                                                            \
    const cusolverStatus_t alphareq_status_ = (call);                             \
    if (alphareq_status_ != CUSOLVER_STATUS_SUCCESS) {                            \
      ::alphareq::cuda::throw_cusolver_error(alphareq_status_, #call, __FILE__, __LINE__); \
    }                                                                             \
  } while (0)

/// After a kernel launch: a bad configuration is reported by cudaGetLastError.
#define ALPHAREQ_CUDA_CHECK_LAUNCH() ALPHAREQ_CUDA_TRY(cudaGetLastError())
