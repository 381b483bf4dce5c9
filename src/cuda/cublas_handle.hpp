#pragma once
// RAII owner of a cuBLAS handle bound to one stream, optionally with a workspace of its own
// for bit-reproducible results.

#include <cstddef>

#include "cuda/cuda_check.hpp"
#include "cuda/device_memory.hpp"

namespace alphareq::cuda {

/// The cuBLAS workspace a deterministic handle owns on the current device: cuBLAS's
/// recommended size, 32 MiB on Hopper and later, 4 MiB before (cublasSetWorkspace).
inline std::size_t deterministic_cublas_workspace_bytes() {
  int device = 0, major = 0;
  ALPHAREQ_CUDA_TRY(cudaGetDevice(&device));
  ALPHAREQ_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  return (major >= 9 ? std::size_t{32} : std::size_t{4}) << 20;
}

class CublasHandle {
 public:
  /// A handle on the current device that queues on `stream` with `math`. `deterministic`:
  /// bitwise-reproducible results whatever else runs on the device. cuBLAS guarantees
  /// run-to-run identical bits for one toolkit, architecture and SM count only while a
  /// single stream is active; with several concurrent streams it may pick other kernels
  /// because they share the default workspace pool (whose size CUBLAS_WORKSPACE_CONFIG
  /// also changes). A workspace owned by this handle (set after cublasSetStream, which
  /// resets it to the pool) removes that, and atomics (off by default) are forbidden
  /// explicitly. Throws out_of_memory when the workspace cannot be allocated.
  CublasHandle(cudaStream_t stream, cublasMath_t math, bool deterministic = false) {
    if (deterministic) {
      workspace_ =
          DeviceBuffer<unsigned char>(deterministic_cublas_workspace_bytes(),
                                      "the cuBLAS workspace of a deterministic accumulator");
    }
    ALPHAREQ_CUBLAS_TRY(cublasCreate(&handle_));
    try {
      ALPHAREQ_CUBLAS_TRY(cublasSetStream(handle_, stream));
      ALPHAREQ_CUBLAS_TRY(cublasSetMathMode(handle_, math));
      if (deterministic) {
        ALPHAREQ_CUBLAS_TRY(cublasSetAtomicsMode(handle_, CUBLAS_ATOMICS_NOT_ALLOWED));
        ALPHAREQ_CUBLAS_TRY(cublasSetWorkspace(handle_, workspace_.data(), workspace_.size()));
      }
    } catch (...) {
      cublasDestroy(handle_);
      throw;
    }
  }
  // The handle goes first, then the workspace (a member) it may still name.
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  DeviceBuffer<unsigned char> workspace_;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace alphareq::cuda
