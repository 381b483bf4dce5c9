#pragma once
// Eigenvalues (no vectors) of a batch of symmetric matrices with cuSOLVER, for the
// bootstrap's replicates: one cusolverDnXsyevBatched call where cuSOLVER supports the
// size, else cusolverDnXsyevd over the matrices in turn, reusing one workspace.
//
// The limit: cuSOLVER documents for cusolverDnXsyevBatched that "the problem size is
// limited by n * lda * batchSize <= INT32_MAX" (a constraint of its current
// implementation; cuSOLVER API reference, cusolverDnXsyevBatched). Beyond it, and when
// the batched workspace query fails or its workspace does not fit in the free device
// memory, the loop runs instead.

#include "cuda/device_memory.hpp"

#include <alphareq/accumulator.hpp>

#include <cusolverDn.h>

#include <cstdint>
#include <vector>

namespace alphareq::cuda {

/// How the eigenvalues of a batch are computed.
enum class EigenRoute {
  batched,  ///< one cusolverDnXsyevBatched call
  loop,     ///< cusolverDnXsyevd on each matrix in turn, one shared workspace
};

/// "batched" or "loop".
const char* to_string(EigenRoute route);

/// The route for `batch` matrices of size dim × dim: batched when
/// dim · dim · batch <= INT32_MAX (cuSOLVER's documented limit), else loop.
/// ALPHAREQ_CUDA_BOOTSTRAP_EIGENSOLVER=batched|loop overrides the choice (for benchmarks
/// and tests): batched beyond the documented limit throws invalid_input, and a forced
/// batched route never falls back to the loop (a failed workspace query throws).
EigenRoute choose_eigen_route(std::int64_t dim, std::int64_t batch);

class BatchedEigensolver {
 public:
  /// The solver for `batch` dim × dim matrices of `precision` packed at `matrices`
  /// (column-major, upper triangle; matrix b starts dim² elements after matrix b − 1;
  /// overwritten by solve()), queued on `stream` of the current device. Chooses the route
  /// and allocates its workspace now. `deterministic`: CUSOLVER_DETERMINISTIC_RESULTS.
  /// Throws out_of_memory when even the loop's workspace cannot be allocated.
  BatchedEigensolver(std::int64_t dim, std::int64_t batch, SolverPrecision precision,
                     void* matrices, cudaStream_t stream, bool deterministic);
  ~BatchedEigensolver();
  BatchedEigensolver(const BatchedEigensolver&) = delete;
  BatchedEigensolver& operator=(const BatchedEigensolver&) = delete;

  EigenRoute route() const { return route_; }
  /// batch × dim eigenvalues after solve(), each matrix's ascending: float or double.
  const void* eigenvalues() const { return eigenvalues_.data(); }
  /// batch statuses after solve() (device memory); see check_batched_eigen_info.
  const int* info() const { return info_.data(); }

  /// Queues the eigensolver on every matrix.
  void solve();

 private:
  std::int64_t dim_;
  std::int64_t batch_;
  SolverPrecision precision_;
  void* matrices_;
  EigenRoute route_ = EigenRoute::loop;
  cusolverDnHandle_t handle_ = nullptr;
  cusolverDnParams_t params_ = nullptr;
  DeviceBuffer<unsigned char> eigenvalues_;
  DeviceBuffer<int> info_;
  DeviceBuffer<unsigned char> device_work_;
  std::vector<unsigned char> host_work_;
};

/// Throws numerical_error naming the first failing matrix (its index plus
/// `first_index`, the replicate it is) unless every status in `info` (host copy) is 0.
void check_batched_eigen_info(const int* info, std::int64_t batch, EigenRoute route,
                              std::int64_t first_index);

}  // namespace alphareq::cuda
