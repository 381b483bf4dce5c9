#pragma once
// What both probe backends train on, after validation: float32 features in host memory,
// labels, sizes, and the pieces both must share to agree (initial weights, per-epoch
// shuffles, learning rate).

#include <alphareq/probe.hpp>

#include <cstdint>
#include <vector>

namespace alphareq::detail {

struct ProbeProblem {
  std::int64_t dim = 0;
  std::int64_t classes = 0;
  std::int64_t train_rows = 0;
  std::int64_t test_rows = 0;
  const float* train_features = nullptr;  // train_rows × dim, row-major
  const std::int32_t* train_labels = nullptr;
  const float* test_features = nullptr;
  const std::int32_t* test_labels = nullptr;
};

/// nn.Linear's initialisation: weights and bias uniform in ±1/√D, seeded. Layout: the
/// C × D weights column-major (= row-major D × C), then the C biases.
std::vector<float> initial_parameters(std::int64_t dim, std::int64_t classes, std::uint64_t seed);

/// The order in which epoch `epoch` visits the training samples (Fisher–Yates, seeded by
/// seed and epoch), identical on every backend.
void epoch_permutation(std::uint64_t seed, std::int64_t epoch, std::vector<std::int32_t>& order);

/// The learning rate to use: options.learning_rate, or the optimizer's default.
double resolved_learning_rate(const ProbeOptions& options);

/// Adam's constants (PyTorch's defaults).
constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEpsilon = 1e-8;

}  // namespace alphareq::detail

namespace alphareq::cpu {
ProbeResult train_probe(const detail::ProbeProblem& problem, const ProbeOptions& options);
}
namespace alphareq::cuda {
ProbeResult train_probe(const detail::ProbeProblem& problem, const ProbeOptions& options);
}
