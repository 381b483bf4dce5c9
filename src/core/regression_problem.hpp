#pragma once
// What both gradient descent backends of the regression experiment run: the dual
// iteration a ← a − step · (K a − y) on the n × n Gram matrix K = XXᵀ (ψ = Xᵀ a), from
// a = 0, recording the training MSE at every step and a at the checkpoints.

#include <cstdint>
#include <vector>

namespace alphareq::detail {

struct GradientDescentProblem {
  std::int64_t n = 0;
  const double* gram = nullptr;     // n × n, symmetric (so row- and column-major alike)
  const double* targets = nullptr;  // y, n values
  double step = 0.0;                // η / n
  std::int64_t steps = 0;
  std::vector<std::int64_t> checkpoints;  // ascending, each in [0, steps]
};

struct GradientDescentTrace {
  std::vector<double> train_mse;  // steps + 1 values: (1/n)‖K a_t − y‖², t = 0..steps
  std::vector<std::vector<double>> coefficients;  // a_t at each checkpoint
};

}  // namespace alphareq::detail

namespace alphareq::cpu {
detail::GradientDescentTrace gradient_descent(const detail::GradientDescentProblem& problem);
}
namespace alphareq::cuda {
detail::GradientDescentTrace gradient_descent(const detail::GradientDescentProblem& problem);
}
