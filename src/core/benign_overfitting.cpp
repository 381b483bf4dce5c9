// The paper's Figure 2: overparameterised linear regression on power-law covariates,
// trained by gradient descent from zero. Data, Gram matrix, step size and evaluation here;
// the iterations in cpu/cpu_regression.cpp or cuda/cuda_regression.cpp.

#include "core/enum_check.hpp"
#include "core/host_memory.hpp"
#include "core/regression_problem.hpp"
#include "core/stopwatch.hpp"
#include "cpu/blas_lapack.hpp"

#include <alphareq/error.hpp>
#include <alphareq/regression_experiment.hpp>
#include <alphareq/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace alphareq {

std::string to_string(TeacherModel teacher) {
  return teacher == TeacherModel::fixed_task ? "fixed-task" : "isotropic";
}

TeacherModel parse_teacher_model(const std::string& name) {
  if (name == "fixed-task") return TeacherModel::fixed_task;
  if (name == "isotropic") return TeacherModel::isotropic;
  throw invalid_input("unknown teacher '" + name + "' (expected fixed-task or isotropic)");
}

namespace {

void check_options(const RegressionExperimentOptions& o) {
  detail::require_known_value(o.teacher, TeacherModel::isotropic, "regression: teacher");
  const std::int64_t max_samples = std::numeric_limits<int>::max();
  if (o.features < 1) throw invalid_input("regression: the number of features must be >= 1");
  if (o.train_samples < 1 || o.train_samples > max_samples) {
    throw invalid_input("regression: the number of training samples must be in [1, 2^31 - 1]");
  }
  if (o.test_samples < 1) throw invalid_input("regression: the number of test samples must be >= 1");
  if (o.steps < 1) throw invalid_input("regression: the number of steps must be >= 1");
  if (!(o.noise >= 0.0) || !std::isfinite(o.noise)) {
    throw invalid_input("regression: the noise must be a finite number >= 0");
  }
  if (!std::isfinite(o.task_decay)) throw invalid_input("regression: the task decay must be finite");
  if (!(o.learning_rate_scale > 0.0 && o.learning_rate_scale < 2.0)) {
    throw invalid_input("regression: the learning-rate scale must lie in (0, 2), the stability "
                        "limit of gradient descent in units of 1/lambda_max");
  }
  if (!(o.loss_threshold > 0.0 && o.loss_threshold < 1.0)) {
    throw invalid_input("regression: the loss threshold must lie in (0, 1)");
  }
  for (double alpha : o.alphas) {
    if (!std::isfinite(alpha)) throw invalid_input("regression: every alpha must be finite");
  }
  for (std::int64_t step : o.checkpoints) {
    if (step < 0 || step > o.steps) {
      throw invalid_input("regression: checkpoint " + std::to_string(step) + " is outside [0, " +
                          std::to_string(o.steps) + "]");
    }
  }
  // What one α holds at once, refused before anything is allocated (a bare bad_alloc or the
  // OOM killer otherwise): the shared draws and one problem's data, each (n + m) x D; the
  // n x n Gram matrix and the smaller of the two squares for lambda_max; the training
  // loss of every step; the coefficients at each checkpoint (at most 20 unless given).
  const double n = static_cast<double>(o.train_samples), m = static_cast<double>(o.test_samples),
               d = static_cast<double>(o.features);
  const double checkpoints = o.checkpoints.empty() ? 21.0 : static_cast<double>(o.checkpoints.size() + 1);
  const double doubles = 2.0 * ((n + m) * d + 2.0 * d + n + m) + n * n + std::min(n, d) * std::min(n, d) +
                         static_cast<double>(o.steps) + 1.0 + checkpoints * n;
  detail::require_host_memory(8.0 * doubles, "the regression experiment (n = " + std::to_string(o.train_samples) +
                                                 ", m = " + std::to_string(o.test_samples) + ", D = " +
                                                 std::to_string(o.features) + ", " + std::to_string(o.steps) +
                                                 " steps)");
}

// The standard normal draws shared by every α. Each part has its own stream, so changing
// one size (the test set, say) leaves the other draws as they were.
struct Latents {
  std::vector<double> train, test, teacher, noise, test_noise;
};

std::vector<double> normals(std::uint64_t seed, std::uint64_t stream, std::size_t count) {
  NormalGenerator random(seed * 0x9E3779B97F4A7C15ULL + stream * 0xD1B54A32D192ED03ULL + 0x2545F491ULL);
  std::vector<double> out(count);
  for (double& x : out) x = random.next();
  return out;
}

Latents draw_latents(const RegressionExperimentOptions& o) {
  const auto d = static_cast<std::size_t>(o.features);
  Latents z;
  z.train = normals(o.seed, 1, static_cast<std::size_t>(o.train_samples) * d);
  z.test = normals(o.seed, 2, static_cast<std::size_t>(o.test_samples) * d);
  z.teacher = normals(o.seed, 3, d);
  z.noise = normals(o.seed, 4, static_cast<std::size_t>(o.train_samples));
  z.test_noise = normals(o.seed, 5, static_cast<std::size_t>(o.test_samples));
  return z;
}

// λ_j = c j^(−α) with Σ λ_j = D.
std::vector<double> normalised_spectrum(std::int64_t d, double alpha) {
  std::vector<double> lambda(static_cast<std::size_t>(d));
  double sum = 0.0;
  for (std::int64_t j = 0; j < d; ++j) sum += lambda[j] = std::pow(static_cast<double>(j + 1), -alpha);
  for (double& l : lambda) {
    l *= static_cast<double>(d) / sum;
    // Far beyond the paper's range (|α| of tens) the spectrum under- or overflows.
    if (!std::isnormal(l)) {
      throw invalid_input("regression: alpha = " + std::to_string(alpha) + " makes the spectrum "
                          "underflow or overflow in float64 for D = " + std::to_string(d));
    }
  }
  return lambda;
}

RegressionData make_data(const RegressionExperimentOptions& o, const Latents& z, double alpha) {
  const std::int64_t d = o.features;
  RegressionData data;
  data.alpha = alpha;
  data.noise = o.noise;
  data.features = d;
  data.train_samples = o.train_samples;
  data.test_samples = o.test_samples;
  data.spectrum = normalised_spectrum(d, alpha);
  data.teacher.resize(static_cast<std::size_t>(d));
  if (o.teacher == TeacherModel::isotropic) {
    for (std::int64_t j = 0; j < d; ++j) data.teacher[j] = z.teacher[j] / std::sqrt(static_cast<double>(d));
  } else {
    double total = 0.0;
    for (std::int64_t j = 0; j < d; ++j) total += std::pow(static_cast<double>(j + 1), -o.task_decay);
    for (std::int64_t j = 0; j < d; ++j) {
      const double share = std::pow(static_cast<double>(j + 1), -o.task_decay) / total;
      data.teacher[j] = z.teacher[j] * std::sqrt(share / data.spectrum[j]);
    }
  }
  auto make = [&](const std::vector<double>& latent, const std::vector<double>& noise,
                  std::int64_t rows, std::vector<double>& x, std::vector<double>& y) {
    x.resize(latent.size());
    y.resize(static_cast<std::size_t>(rows));
    std::vector<double> scale(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) scale[j] = std::sqrt(data.spectrum[j]);
    for (std::int64_t i = 0; i < rows; ++i) {
      double signal = 0.0;
      for (std::int64_t j = 0; j < d; ++j) {
        const double value = latent[i * d + j] * scale[j];
        x[i * d + j] = value;
        signal += value * data.teacher[j];
      }
      y[i] = signal + o.noise * noise[i];
    }
  };
  make(z.train, z.noise, o.train_samples, data.train_features, data.train_targets);
  make(z.test, z.test_noise, o.test_samples, data.test_features, data.test_targets);
  return data;
}

void check_data(const RegressionData& data) {
  const auto d = static_cast<std::size_t>(data.features);
  const auto n = static_cast<std::size_t>(data.train_samples);
  const auto m = static_cast<std::size_t>(data.test_samples);
  if (data.features < 1 || data.train_samples < 1 || data.test_samples < 1 ||
      data.spectrum.size() != d || data.teacher.size() != d || data.train_features.size() != n * d ||
      data.train_targets.size() != n || data.test_features.size() != m * d ||
      data.test_targets.size() != m) {
    throw invalid_input("regression: the data's arrays do not match its sizes");
  }
  if (data.train_samples > std::numeric_limits<int>::max()) {
    throw invalid_input("regression: too many training samples (at most 2^31 - 1)");
  }
  // A NaN target made every loss NaN, silently (steps_to_threshold -1); a NaN feature failed
  // in LAPACK, naming no array.
  const std::pair<const std::vector<double>*, const char*> arrays[] = {
      {&data.spectrum, "spectrum"},          {&data.teacher, "teacher"},
      {&data.train_features, "training features"}, {&data.train_targets, "training targets"},
      {&data.test_features, "test features"}, {&data.test_targets, "test targets"}};
  for (const auto& [values, name] : arrays) {
    const auto bad = std::find_if(values->begin(), values->end(), [](double x) { return !std::isfinite(x); });
    if (bad != values->end()) {
      throw invalid_input(std::string("regression: the ") + name + " hold " + (std::isnan(*bad) ? "NaN" : "Inf") +
                          " at index " + std::to_string(bad - values->begin()));
    }
  }
  if (std::any_of(data.spectrum.begin(), data.spectrum.end(), [](double x) { return x < 0.0; })) {
    throw invalid_input("regression: the spectrum holds a negative variance");
  }
  if (!(std::isfinite(data.noise) && data.noise >= 0.0)) {
    throw invalid_input("regression: the noise must be a finite number >= 0");
  }
}

std::vector<std::int64_t> checkpoint_steps(const RegressionExperimentOptions& o) {
  std::vector<std::int64_t> steps = o.checkpoints;
  if (steps.empty()) {
    steps.push_back(0);
    // 1, 10, 100, ... below the last step; the check before *= 10 keeps it from overflowing.
    for (std::int64_t s = 1; s < o.steps; s *= 10) {
      steps.push_back(s);
      if (s > o.steps / 10) break;
    }
  }
  steps.push_back(o.steps);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

// The largest eigenvalue of XᵀX/n, from the smaller of XᵀX (D × D) and XXᵀ (n × n).
double empirical_lambda_max(const RegressionData& data, const std::vector<double>& gram) {
  const std::int64_t n = data.train_samples, d = data.features;
  const std::int64_t size = std::min(n, d);
  std::vector<double> square(static_cast<std::size_t>(size * size));
  if (n <= d) {
    square = gram;
  } else {
    // Row-major X (n × D) is column-major Xᵀ (D × n): XᵀX = Xᵀ-storage · (Xᵀ-storage)ᵀ.
    cpu::gemm(false, true, d, d, n, 1.0, data.train_features.data(), d,
              data.train_features.data(), d, 0.0, square.data(), d);
  }
  std::vector<double> eigenvalues(static_cast<std::size_t>(size));
  cpu::symmetric_eigenvalues(cpu::Triangle::lower, size, square.data(), size, eigenvalues.data());
  return eigenvalues.back() / static_cast<double>(n);
}

double mean_squared_error(const std::vector<double>& prediction, const std::vector<double>& target) {
  double sum = 0.0;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const double r = prediction[i] - target[i];
    sum += r * r;
  }
  return sum / static_cast<double>(target.size());
}

}  // namespace

RegressionData power_law_regression_data(const RegressionExperimentOptions& options, double alpha) {
  check_options(options);
  if (!std::isfinite(alpha)) throw invalid_input("regression: alpha must be finite");
  return make_data(options, draw_latents(options), alpha);
}

GradientDescentFit fit_by_gradient_descent(const RegressionData& data,
                                           const RegressionExperimentOptions& options) {
  check_options(options);
  check_data(data);
  const std::int64_t n = data.train_samples, d = data.features, m = data.test_samples;
  const Backend backend = resolve_backend(options.backend);

  // K = XXᵀ (n × n): row-major X is column-major Xᵀ, so K = (Xᵀ-storage)ᵀ · Xᵀ-storage.
  std::vector<double> gram(static_cast<std::size_t>(n * n));
  cpu::gemm(true, false, n, n, d, 1.0, data.train_features.data(), d, data.train_features.data(),
            d, 0.0, gram.data(), n);

  GradientDescentFit fit;
  fit.alpha = data.alpha;
  fit.backend = to_string(backend);
  fit.lambda_max = empirical_lambda_max(data, gram);
  if (!(fit.lambda_max > 0.0)) throw invalid_input("regression: the training features are all zero");
  fit.learning_rate = options.learning_rate_scale / fit.lambda_max;

  detail::GradientDescentProblem problem;
  problem.n = n;
  problem.gram = gram.data();
  problem.targets = data.train_targets.data();
  problem.step = fit.learning_rate / static_cast<double>(n);
  problem.steps = options.steps;
  problem.checkpoints = checkpoint_steps(options);
#ifdef ALPHAREQ_HAS_CUDA
  detail::GradientDescentTrace trace = backend == Backend::cuda ? cuda::gradient_descent(problem)
                                                                : cpu::gradient_descent(problem);
#else
  detail::GradientDescentTrace trace = cpu::gradient_descent(problem);
#endif
  fit.train_mse = std::move(trace.train_mse);

  std::vector<double> weights(static_cast<std::size_t>(d)), prediction(static_cast<std::size_t>(m));
  for (std::size_t c = 0; c < problem.checkpoints.size(); ++c) {
    // ψ = Xᵀ a (D), then the test predictions X_test ψ (m).
    cpu::gemm(false, false, d, 1, n, 1.0, data.train_features.data(), d, trace.coefficients[c].data(),
              n, 0.0, weights.data(), d);
    cpu::gemm(true, false, m, 1, d, 1.0, data.test_features.data(), d, weights.data(), d, 0.0,
              prediction.data(), m);
    const std::int64_t step = problem.checkpoints[c];
    fit.curve.push_back({step, fit.train_mse[static_cast<std::size_t>(step)],
                         mean_squared_error(prediction, data.test_targets)});
  }
  fit.weights = std::move(weights);  // the last checkpoint is the final step

  const double target = options.loss_threshold * fit.train_mse.front();
  for (std::size_t t = 0; t < fit.train_mse.size(); ++t) {
    if (fit.train_mse[t] <= target) {
      fit.steps_to_threshold = static_cast<std::int64_t>(t);
      break;
    }
  }
  fit.population_test_mse = data.noise * data.noise;
  for (std::int64_t j = 0; j < d; ++j) {
    const double error = fit.weights[j] - data.teacher[j];
    fit.population_test_mse += data.spectrum[j] * error * error;
  }
  return fit;
}

RegressionExperiment run_regression_experiment(const RegressionExperimentOptions& options) {
  const detail::Stopwatch wall;
  check_options(options);
  if (options.alphas.empty()) throw invalid_input("regression: no alpha to run");
  const Latents latents = draw_latents(options);
  RegressionExperiment experiment;
  experiment.backend = to_string(resolve_backend(options.backend));
  for (double alpha : options.alphas) {
    experiment.rows.push_back(fit_by_gradient_descent(make_data(options, latents, alpha), options));
  }
  experiment.elapsed_ms = wall.elapsed_ms();
  return experiment;
}

}  // namespace alphareq
