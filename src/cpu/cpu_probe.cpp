// The linear probe on the CPU: OpenBLAS SGEMM for the forward and backward products, one
// pass per batch for softmax, loss and the logits' gradient. The CPU baseline of Table 1.

#include "core/probe_problem.hpp"
#include "core/stopwatch.hpp"
#include "cpu/blas_lapack.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace alphareq::cpu {
namespace {

// logits (rows × C, row-major) = X W + b for `rows` contiguous samples.
void forward(const float* x, std::int64_t rows, std::int64_t dim, std::int64_t classes,
             const std::vector<float>& parameters, std::vector<float>& logits) {
  // Column-major: logitsᵀ (C × rows) = Wᵀ-storage (C × D) · Xᵀ-storage (D × rows).
  gemm(false, false, classes, rows, dim, 1.0f, parameters.data(), classes, x, dim, 0.0f,
       logits.data(), classes);
  const float* bias = parameters.data() + classes * dim;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < classes; ++c) logits[r * classes + c] += bias[c];
}

// Turns logits into the gradient of the mean cross-entropy, in place; returns the mean loss.
double softmax_cross_entropy(std::vector<float>& logits, const std::int32_t* labels,
                             std::int64_t rows, std::int64_t classes) {
  double loss = 0.0;
  const float scale = 1.0f / static_cast<float>(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    float* z = logits.data() + r * classes;
    const float top = *std::max_element(z, z + classes);
    double sum = 0.0;
    for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c] - top));
    loss += std::log(sum) - static_cast<double>(z[labels[r]] - top);
    for (std::int64_t c = 0; c < classes; ++c) {
      const double p = std::exp(static_cast<double>(z[c] - top)) / sum;
      z[c] = static_cast<float>(p) * scale;
    }
    z[labels[r]] -= scale;
  }
  return loss / static_cast<double>(rows);
}

double accuracy(const float* x, const std::int32_t* labels, std::int64_t rows, std::int64_t dim,
                std::int64_t classes, const std::vector<float>& parameters) {
  constexpr std::int64_t kChunk = 4096;
  std::vector<float> logits(static_cast<std::size_t>(std::min(kChunk, rows) * classes));
  std::int64_t correct = 0;
  for (std::int64_t first = 0; first < rows; first += kChunk) {
    const std::int64_t count = std::min(kChunk, rows - first);
    forward(x + first * dim, count, dim, classes, parameters, logits);
    for (std::int64_t r = 0; r < count; ++r) {
      const float* z = logits.data() + r * classes;
      correct += (std::max_element(z, z + classes) - z) == labels[first + r];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(rows);
}

// One optimizer step on all parameters; weight decay applies to the weights only.
class Optimizer {
 public:
  Optimizer(const ProbeOptions& options, std::size_t size, std::size_t weights)
      : options_(options), rate_(detail::resolved_learning_rate(options)), weights_(weights),
        first_(size), second_(size) {}

  void step(std::vector<float>& parameters, std::vector<float>& gradient) {
    ++steps_;
    const float decay = static_cast<float>(options_.weight_decay);
    for (std::size_t i = 0; i < weights_; ++i) gradient[i] += decay * parameters[i];
    if (options_.optimizer == alphareq::Optimizer::sgd) {
      const float momentum = static_cast<float>(options_.momentum), rate = static_cast<float>(rate_);
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        first_[i] = momentum * first_[i] + gradient[i];
        parameters[i] -= rate * first_[i];
      }
      return;
    }
    const double correction1 = 1.0 - std::pow(detail::kAdamBeta1, static_cast<double>(steps_));
    const double correction2 = 1.0 - std::pow(detail::kAdamBeta2, static_cast<double>(steps_));
    const float step_size = static_cast<float>(rate_ / correction1);
    const float root_correction2 = static_cast<float>(std::sqrt(correction2));
    const float beta1 = static_cast<float>(detail::kAdamBeta1), beta2 = static_cast<float>(detail::kAdamBeta2);
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      first_[i] = beta1 * first_[i] + (1.0f - beta1) * gradient[i];
      second_[i] = beta2 * second_[i] + (1.0f - beta2) * gradient[i] * gradient[i];
      const float denominator = std::sqrt(second_[i]) / root_correction2 + static_cast<float>(detail::kAdamEpsilon);
      parameters[i] -= step_size * first_[i] / denominator;
    }
  }

 private:
  const ProbeOptions& options_;
  double rate_;
  std::size_t weights_;
  std::vector<float> first_;   // SGD velocity, or Adam's first moment
  std::vector<float> second_;  // Adam's second moment
  std::int64_t steps_ = 0;
};

}  // namespace

ProbeResult train_probe(const detail::ProbeProblem& problem, const ProbeOptions& options) {
  const std::int64_t d = problem.dim, classes = problem.classes, n = problem.train_rows;
  const std::int64_t batch = std::min(options.batch_size, n);
  std::vector<float> parameters = detail::initial_parameters(d, classes, options.seed);
  std::vector<float> gradient(parameters.size());
  Optimizer optimizer(options, parameters.size(), static_cast<std::size_t>(classes * d));
  std::vector<float> batch_x(static_cast<std::size_t>(batch * d));
  std::vector<std::int32_t> batch_y(static_cast<std::size_t>(batch));
  std::vector<float> logits(static_cast<std::size_t>(batch * classes));
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));

  ProbeResult result;
  result.backend = "cpu";
  result.classes = classes;
  result.epochs = options.epochs;
  const detail::Stopwatch training;
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const detail::Stopwatch epoch_watch;
    detail::epoch_permutation(options.seed, epoch, order);
    double loss_sum = 0.0;
    std::int64_t batches = 0;
    for (std::int64_t first = 0; first < n; first += batch) {
      const std::int64_t rows = std::min(batch, n - first);
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t sample = order[first + r];
        std::copy_n(problem.train_features + sample * d, d, batch_x.data() + r * d);
        batch_y[r] = problem.train_labels[sample];
      }
      forward(batch_x.data(), rows, d, classes, parameters, logits);
      loss_sum += softmax_cross_entropy(logits, batch_y.data(), rows, classes);
      // Weight gradient (C × D column-major) = G (C × rows) · X (rows × D).
      gemm(false, true, classes, d, rows, 1.0f, logits.data(), classes, batch_x.data(), d, 0.0f,
           gradient.data(), classes);
      float* bias_gradient = gradient.data() + classes * d;
      std::fill_n(bias_gradient, classes, 0.0f);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < classes; ++c) bias_gradient[c] += logits[r * classes + c];
      optimizer.step(parameters, gradient);
      ++batches;
    }
    result.final_loss = loss_sum / static_cast<double>(batches);
    result.epoch_ms.push_back(epoch_watch.elapsed_ms());
  }
  result.train_ms = training.elapsed_ms();
  const detail::Stopwatch evaluation;
  result.train_accuracy = accuracy(problem.train_features, problem.train_labels, n, d, classes, parameters);
  result.test_accuracy = accuracy(problem.test_features, problem.test_labels, problem.test_rows, d,
                                  classes, parameters);
  result.evaluate_ms = evaluation.elapsed_ms();
  return result;
}

}  // namespace alphareq::cpu
