#pragma once
// RAII owner of a cuBLAS handle bound to one stream.

#include "cuda/cuda_check.hpp"

namespace alphareq::cuda {

class CublasHandle {
 public:
  CublasHandle(cudaStream_t stream, cublasMath_t math) {
    ALPHAREQ_CUBLAS_TRY(cublasCreate(&handle_));
    try {
      ALPHAREQ_CUBLAS_TRY(cublasSetStream(handle_, stream));
      ALPHAREQ_CUBLAS_TRY(cublasSetMathMode(handle_, math));
    } catch (...) {
      cublasDestroy(handle_);
      throw;
    }
  }
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

}  // namespace alphareq::cuda
