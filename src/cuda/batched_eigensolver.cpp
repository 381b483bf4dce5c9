#include "cuda/batched_eigensolver.hpp"

#include "cuda/solver_workspace.hpp"

#include <alphareq/error.hpp>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace alphareq::cuda {
namespace {

cudaDataType data_type(SolverPrecision precision) {
  return precision == SolverPrecision::float64 ? CUDA_R_64F : CUDA_R_32F;
}

std::size_t element_size(SolverPrecision precision) {
  return precision == SolverPrecision::float64 ? sizeof(double) : sizeof(float);
}

bool within_batched_limit(std::int64_t dim, std::int64_t batch) {
  // n · lda · batchSize <= INT32_MAX, in floating point so that the product cannot overflow.
  return static_cast<double>(dim) * static_cast<double>(dim) * static_cast<double>(batch) <=
         static_cast<double>(INT32_MAX);
}

// Device bytes free now, less a sixteenth for cuBLAS, the fit and other users.
double usable_free_bytes() {
  std::size_t free_bytes = 0, total_bytes = 0;
  ALPHAREQ_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  return static_cast<double>(free_bytes) * (15.0 / 16.0);
}

}  // namespace

const char* to_string(EigenRoute route) {
  return route == EigenRoute::batched ? "batched" : "loop";
}

EigenRoute choose_eigen_route(std::int64_t dim, std::int64_t batch) {
  const bool fits = within_batched_limit(dim, batch);
  if (const char* forced = std::getenv("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER")) {
    if (std::strcmp(forced, "loop") == 0) return EigenRoute::loop;
    if (std::strcmp(forced, "batched") == 0) {
      if (!fits) {
        throw invalid_input(
            "ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER=batched: cusolverDnXsyevBatched "
            "is limited to n * n * batch <= INT32_MAX, and D = " +
            std::to_string(dim) + " with " + std::to_string(batch) + " replicates exceeds it");
      }
      return EigenRoute::batched;
    }
    throw invalid_input(
        std::string("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER must be batched or loop, got '") + forced +
        "'");
  }
  return fits ? EigenRoute::batched : EigenRoute::loop;
}

BatchedEigensolver::BatchedEigensolver(std::int64_t dim, std::int64_t batch,
                                       SolverPrecision precision, void* matrices,
                                       cudaStream_t stream, bool deterministic)
    : dim_(dim), batch_(batch), precision_(precision), matrices_(matrices) {
  const std::size_t element = element_size(precision);
  const std::string size =
      "D = " + std::to_string(dim) + ", " + std::to_string(batch) + " replicates";
  eigenvalues_ = DeviceBuffer<unsigned char>(static_cast<std::size_t>(dim * batch) * element,
                                             "the replicates' eigenvalues (" + size + ")");
  info_ =
      DeviceBuffer<int>(static_cast<std::size_t>(batch), "the replicates' eigensolver statuses");
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(eigenvalues_.data(), 0, eigenvalues_.size(), stream));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(info_.data(), 0, info_.size() * sizeof(int), stream));
  ALPHAREQ_CUSOLVER_TRY(cusolverDnCreate(&handle_));
  try {
    ALPHAREQ_CUSOLVER_TRY(cusolverDnSetStream(handle_, stream));
    if (deterministic) {
      // Before the workspace queries: the mode may change the algorithm, hence the sizes.
      ALPHAREQ_CUSOLVER_TRY(
          cusolverDnSetDeterministicMode(handle_, CUSOLVER_DETERMINISTIC_RESULTS));
    }
    ALPHAREQ_CUSOLVER_TRY(cusolverDnCreateParams(&params_));
    const cudaDataType type = data_type(precision);
    std::size_t device_bytes = 0, host_bytes = 0;
    route_ = choose_eigen_route(dim, batch);
    if (route_ == EigenRoute::batched) {
      const cusolverStatus_t status = cusolverDnXsyevBatched_bufferSize(
          handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_UPPER, dim, type, matrices,
          dim, type, eigenvalues_.data(), type, &device_bytes, &host_bytes, batch);
      // Asked for explicitly (a benchmark): no silent fallback.
      if (std::getenv("ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER") != nullptr) {
        if (status != CUSOLVER_STATUS_SUCCESS) {  // named: the macro would name the variable
          throw_cusolver_error(status, "cusolverDnXsyevBatched_bufferSize", __FILE__, __LINE__);
        }
      } else if (status != CUSOLVER_STATUS_SUCCESS ||
                 static_cast<double>(device_bytes) > usable_free_bytes()) {
        // A size the batched solver refuses, or a workspace that does not fit: the loop.
        route_ = EigenRoute::loop;
      }
    }
    if (route_ == EigenRoute::loop) {
      check_syevd_call(
          cusolverDnXsyevd_bufferSize(handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR,
                                      CUBLAS_FILL_MODE_UPPER, dim, type, matrices, dim, type,
                                      eigenvalues_.data(), type, &device_bytes, &host_bytes),
          dim, "cusolverDnXsyevd_bufferSize");
    }
    device_work_ =
        DeviceBuffer<unsigned char>(device_bytes, std::string("the ") + to_string(route_) +
                                                      " eigensolver's workspace (" + size + ")");
    host_work_.resize(host_bytes);
  } catch (...) {
    if (params_ != nullptr) cusolverDnDestroyParams(params_);
    cusolverDnDestroy(handle_);
    throw;
  }
}

BatchedEigensolver::~BatchedEigensolver() {
  if (params_ != nullptr) cusolverDnDestroyParams(params_);
  if (handle_ != nullptr) cusolverDnDestroy(handle_);
}

void BatchedEigensolver::solve() {
  const cudaDataType type = data_type(precision_);
  void* host_work = host_work_.empty() ? nullptr : host_work_.data();
  if (route_ == EigenRoute::batched) {
    ALPHAREQ_CUSOLVER_TRY(cusolverDnXsyevBatched(
        handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_UPPER, dim_, type, matrices_,
        dim_, type, eigenvalues_.data(), type, device_work_.data(), device_work_.size(), host_work,
        host_work_.size(), info_.data(), batch_));
    return;
  }
  const std::size_t element = element_size(precision_);
  auto* matrices = static_cast<unsigned char*>(matrices_);
  for (std::int64_t b = 0; b < batch_; ++b) {
    // One workspace for all: the calls are ordered on the handle's stream.
    check_syevd_call(
        cusolverDnXsyevd(handle_, params_, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_UPPER, dim_,
                         type, matrices + static_cast<std::size_t>(b * dim_ * dim_) * element, dim_,
                         type, eigenvalues_.data() + static_cast<std::size_t>(b * dim_) * element,
                         type, device_work_.data(), device_work_.size(), host_work,
                         host_work_.size(), info_.data() + b),
        dim_, "cusolverDnXsyevd");
  }
}

void check_batched_eigen_info(const int* info, std::int64_t batch, EigenRoute route,
                              std::int64_t first_index) {
  const std::string routine =
      route == EigenRoute::batched ? "cusolverDnXsyevBatched" : "cusolverDnXsyevd";
  for (std::int64_t b = 0; b < batch; ++b) {
    if (info[b] < 0) {
      throw numerical_error(routine + ": parameter " + std::to_string(-info[b]) + " is wrong");
    }
    if (info[b] > 0) {
      throw numerical_error(routine + " did not converge on bootstrap replicate " +
                            std::to_string(first_index + b) +
                            " (info = " + std::to_string(info[b]) + "); is the covariance finite?");
    }
  }
}

}  // namespace alphareq::cuda
