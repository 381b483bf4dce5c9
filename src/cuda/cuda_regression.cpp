// Gradient descent of the regression experiment on the GPU, mirroring the CPU loop: the
// Gram matrix and the targets live in device memory, each step is a cuBLAS copy, GEMV,
// norm and AXPY on the library's stream, and the host synchronises once, at the end.

#include "core/regression_problem.hpp"
#include "cuda/cublas_handle.hpp"
#include "cuda/cuda_accumulator.hpp"
#include "cuda/device_memory.hpp"

#include <cstddef>
#include <vector>

namespace alphareq::cuda {

detail::GradientDescentTrace gradient_descent(const detail::GradientDescentProblem& problem) {
  const DeviceGuard guard(resolve_device(AccumulatorOptions{}));
  const Stream stream;
  const cudaStream_t s = stream.get();
  const CublasHandle cublas(s, CUBLAS_DEFAULT_MATH);
  // Scalars and norms are read and written in device memory: no host round trip per step.
  ALPHAREQ_CUBLAS_TRY(cublasSetPointerMode(cublas.get(), CUBLAS_POINTER_MODE_DEVICE));

  const int n = static_cast<int>(problem.n);
  const std::size_t size = static_cast<std::size_t>(problem.n);
  const std::size_t records = static_cast<std::size_t>(problem.steps) + 1;
  const DeviceBuffer<double> gram(size * size, "the Gram matrix");
  const DeviceBuffer<double> targets(size, "the targets");
  const DeviceBuffer<double> a(size, "the coefficients");
  const DeviceBuffer<double> residual(size, "the residual");
  const DeviceBuffer<double> norms(records, "the residual norms");
  const DeviceBuffer<double> saved(size * problem.checkpoints.size() + 1, "the checkpoints");
  const double host_scalars[3] = {1.0, -1.0, -problem.step};
  const DeviceBuffer<double> scalars(3, "the scalars");
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(gram.data(), problem.gram, size * size * sizeof(double),
                                    cudaMemcpyHostToDevice, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(targets.data(), problem.targets, size * sizeof(double),
                                    cudaMemcpyHostToDevice, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(scalars.data(), host_scalars, sizeof host_scalars,
                                    cudaMemcpyHostToDevice, s));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(a.data(), 0, size * sizeof(double), s));
  const double* one = scalars.data();
  const double* minus_one = scalars.data() + 1;
  const double* minus_step = scalars.data() + 2;

  std::size_t next_checkpoint = 0;
  for (std::int64_t t = 0; t <= problem.steps; ++t) {
    if (next_checkpoint < problem.checkpoints.size() && problem.checkpoints[next_checkpoint] == t) {
      ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(saved.data() + next_checkpoint * size, a.data(),
                                        size * sizeof(double), cudaMemcpyDeviceToDevice, s));
      ++next_checkpoint;
    }
    ALPHAREQ_CUBLAS_TRY(cublasDcopy(cublas.get(), n, targets.data(), 1, residual.data(), 1));
    ALPHAREQ_CUBLAS_TRY(cublasDgemv(cublas.get(), CUBLAS_OP_N, n, n, one, gram.data(), n, a.data(),
                                    1, minus_one, residual.data(), 1));
    ALPHAREQ_CUBLAS_TRY(cublasDnrm2(cublas.get(), n, residual.data(), 1, norms.data() + t));
    if (t == problem.steps) break;
    ALPHAREQ_CUBLAS_TRY(cublasDaxpy(cublas.get(), n, minus_step, residual.data(), 1, a.data(), 1));
  }

  detail::GradientDescentTrace trace;
  trace.train_mse.resize(records);
  std::vector<double> coefficients(size * problem.checkpoints.size());
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(trace.train_mse.data(), norms.data(), records * sizeof(double),
                                    cudaMemcpyDeviceToHost, s));
  if (!coefficients.empty()) {
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(coefficients.data(), saved.data(),
                                      coefficients.size() * sizeof(double), cudaMemcpyDeviceToHost, s));
  }
  stream.synchronize();
  for (double& value : trace.train_mse) value = value * value / static_cast<double>(problem.n);
  for (std::size_t c = 0; c < problem.checkpoints.size(); ++c) {
    trace.coefficients.emplace_back(coefficients.begin() + static_cast<std::ptrdiff_t>(c * size),
                                    coefficients.begin() + static_cast<std::ptrdiff_t>((c + 1) * size));
  }
  return trace;
}

}  // namespace alphareq::cuda
