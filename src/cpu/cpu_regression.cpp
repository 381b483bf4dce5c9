// Gradient descent of the regression experiment on the CPU: one OpenBLAS matrix-vector
// product with the Gram matrix per step.

#include "core/regression_problem.hpp"
#include "cpu/blas_lapack.hpp"

#include <algorithm>
#include <cstddef>

namespace alphareq::cpu {

detail::GradientDescentTrace gradient_descent(const detail::GradientDescentProblem& problem) {
  const std::int64_t n = problem.n;
  const std::size_t size = static_cast<std::size_t>(n);
  detail::GradientDescentTrace trace;
  trace.train_mse.resize(static_cast<std::size_t>(problem.steps) + 1);
  std::vector<double> a(size, 0.0), residual(size);
  std::size_t next_checkpoint = 0;
  for (std::int64_t t = 0; t <= problem.steps; ++t) {
    if (next_checkpoint < problem.checkpoints.size() && problem.checkpoints[next_checkpoint] == t) {
      trace.coefficients.push_back(a);
      ++next_checkpoint;
    }
    // residual = K a − y (the gradient with respect to ψ is Xᵀ residual / n).
    std::copy_n(problem.targets, size, residual.begin());
    gemm(false, false, n, 1, n, 1.0, problem.gram, n, a.data(), n, -1.0, residual.data(), n);
    double sum = 0.0;
    for (double r : residual) sum += r * r;
    trace.train_mse[static_cast<std::size_t>(t)] = sum / static_cast<double>(n);
    if (t == problem.steps) break;
    for (std::size_t i = 0; i < size; ++i) a[i] -= problem.step * residual[i];
  }
  return trace;
}

}  // namespace alphareq::cpu
