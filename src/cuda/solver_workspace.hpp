#pragma once
// cuSOLVER state of one accumulator: the handle, the 64-bit API parameters, the matrix the
// solver overwrites, its eigenvalues and the workspace, sized once and reused by every
// call (cusolverDnXsyevd, eigenvalues only).

#include "cuda/device_memory.hpp"

#include <alphareq/accumulator.hpp>

#include <cusolverDn.h>

#include <cstdint>
#include <vector>

namespace alphareq::cuda {

class SolverWorkspace {
 public:
  /// Queries and allocates the workspace for a dim × dim problem in `precision` on
  /// `stream`. `deterministic`: the handle is set to CUSOLVER_DETERMINISTIC_RESULTS
  /// explicitly (cusolverDnSetDeterministicMode; syevd is among the routines it governs),
  /// so that no future default or non-deterministic algorithm changes the bits. Throws a
  /// clear error for a dim beyond cuSOLVER's limit.
  SolverWorkspace(std::int64_t dim, SolverPrecision precision, cudaStream_t stream,
                  bool deterministic = false);
  ~SolverWorkspace();
  SolverWorkspace(const SolverWorkspace&) = delete;
  SolverWorkspace& operator=(const SolverWorkspace&) = delete;

  SolverPrecision precision() const { return precision_; }
  /// The matrix to fill (upper triangle, column-major) before solve(): float or double.
  void* matrix() const { return matrix_.data(); }
  /// The eigenvalues after solve(), ascending: float or double.
  const void* eigenvalues() const { return eigenvalues_.data(); }

  /// Queues the solver on matrix(); its status lands in info() (device memory).
  void solve();
  const int* info() const { return info_.data(); }

 private:
  std::int64_t dim_;
  SolverPrecision precision_;
  cudaStream_t stream_;
  cusolverDnHandle_t handle_ = nullptr;
  cusolverDnParams_t params_ = nullptr;
  DeviceBuffer<unsigned char> matrix_;
  DeviceBuffer<unsigned char> eigenvalues_;
  DeviceBuffer<unsigned char> device_work_;
  std::vector<unsigned char> host_work_;
  DeviceBuffer<int> info_;
};

/// Throws unless `call` (cusolverDnXsyevd or its workspace query) returned success for a
/// dim × dim problem: numerical_error naming the limit and the CPU backend beyond the width
/// where cuSOLVER's syevd is known to fail (about 25,000), else the call's cuda_error.
void check_syevd_call(cusolverStatus_t status, std::int64_t dim, const char* call);

/// Throws numerical_error unless the solver's `info` reports success.
void check_syevd_info(int info);

}  // namespace alphareq::cuda
