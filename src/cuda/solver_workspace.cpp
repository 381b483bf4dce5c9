#include "cuda/solver_workspace.hpp"

#include "core/host_memory.hpp"

#include <alphareq/error.hpp>

#include <string>

namespace alphareq::cuda {
namespace {

// cusolverDnXsyevd's workspace query fails from about D = 25,000 on although the API is
// 64-bit (NVIDIA/CUDALibrarySamples#246). Above this size a failed query is that limit.
constexpr std::int64_t kKnownSyevdLimit = 20000;

cudaDataType data_type(SolverPrecision precision) {
  return precision == SolverPrecision::float64 ? CUDA_R_64F : CUDA_R_32F;
}

std::size_t element_size(SolverPrecision precision) {
  return precision == SolverPrecision::float64 ? sizeof(double) : sizeof(float);
}

}  // namespace

void check_syevd_call(cusolverStatus_t status, std::int64_t dim, const char* call) {
  if (status == CUSOLVER_STATUS_SUCCESS) return;
  if (dim > kKnownSyevdLimit) {
    throw numerical_error(
        "cusolverDnXsyevd cannot solve D = " + std::to_string(dim) + " (" + call + " returned " +
        cusolver_status_name(status) + "; cuSOLVER's eigensolver fails from about D = 25,000 on, "
        "NVIDIA/CUDALibrarySamples#246): use the CPU backend (--backend cpu) for this width");
  }
  throw_cusolver_error(status, call, __FILE__, __LINE__);
}

SolverWorkspace::SolverWorkspace(std::int64_t dim, SolverPrecision precision, cudaStream_t stream,
                                 bool deterministic)
    : dim_(dim), precision_(precision), stream_(stream) {
  const std::size_t element = element_size(precision);
  const std::string size = "D = " + std::to_string(dim);
  matrix_ = DeviceBuffer<unsigned char>(static_cast<std::size_t>(dim * dim) * element,
                                        "the eigensolver's copy of the covariance (" + size + ")");
  eigenvalues_ = DeviceBuffer<unsigned char>(static_cast<std::size_t>(dim) * element, "the eigenvalues");
  info_ = DeviceBuffer<int>(1, "the eigensolver status");
  // Only the upper triangle is ever written; zero the rest once so that no reader (the
  // solver, or compute-sanitizer's initcheck) meets uninitialised memory.
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(matrix_.data(), 0, matrix_.size(), stream));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(eigenvalues_.data(), 0, eigenvalues_.size(), stream));
  ALPHAREQ_CUSOLVER_TRY(cusolverDnCreate(&handle_));
  try {
    ALPHAREQ_CUSOLVER_TRY(cusolverDnSetStream(handle_, stream_));
    if (deterministic) {
      // Set before the workspace query: the mode may change the algorithm, hence its size.
      ALPHAREQ_CUSOLVER_TRY(cusolverDnSetDeterministicMode(handle_, CUSOLVER_DETERMINISTIC_RESULTS));
    }
    ALPHAREQ_CUSOLVER_TRY(cusolverDnCreateParams(&params_));
    std::size_t device_bytes = 0, host_bytes = 0;
    const cudaDataType type = data_type(precision);
    check_syevd_call(
        cusolverDnXsyevd_bufferSize(handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR,
                                    CUBLAS_FILL_MODE_UPPER, dim, type, matrix_.data(), dim, type,
                                    eigenvalues_.data(), type, &device_bytes, &host_bytes),
        dim, "cusolverDnXsyevd_bufferSize");
    device_work_ = DeviceBuffer<unsigned char>(device_bytes, "the eigensolver workspace (" + size + ")");
    host_work_.resize(host_bytes);
  } catch (...) {
    if (params_ != nullptr) cusolverDnDestroyParams(params_);
    cusolverDnDestroy(handle_);
    throw;
  }
}

SolverWorkspace::~SolverWorkspace() {
  if (params_ != nullptr) cusolverDnDestroyParams(params_);
  if (handle_ != nullptr) cusolverDnDestroy(handle_);
}

void SolverWorkspace::solve() {
  const cudaDataType type = data_type(precision_);
  // The width limit shows in the workspace query, but should a toolkit let that pass, the
  // solve's own failure says the same.
  check_syevd_call(cusolverDnXsyevd(handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR,
                                    CUBLAS_FILL_MODE_UPPER, dim_, type, matrix_.data(), dim_, type,
                                    eigenvalues_.data(), type, device_work_.data(),
                                    device_work_.size(),
                                    host_work_.empty() ? nullptr : host_work_.data(),
                                    host_work_.size(), info_.data()),
                   dim_, "cusolverDnXsyevd");
}

void check_syevd_info(int info) {
  if (info < 0) {
    throw numerical_error("cusolverDnXsyevd: parameter " + std::to_string(-info) + " is wrong");
  }
  if (info > 0) {
    throw numerical_error("cusolverDnXsyevd did not converge (info = " + std::to_string(info) +
                          ": off-diagonal elements of an intermediate tridiagonal form did not "
                          "converge to zero); is the covariance finite?");
  }
}

}  // namespace alphareq::cuda
