#pragma once
/// @file regression_experiment.hpp
/// The paper's Figure 2 (Sec. 2.2, "Another motivating example"): overparameterised
/// linear regression on Gaussian covariates whose covariance spectrum decays as i^(−α),
/// trained by gradient descent from ψ₀ = 0, for a range of α.
///
/// Model, for each α (D features, n training samples, m test samples):
/// - spectrum λ_j = c · j^(−α), j = 1..D, with c chosen so that tr Σ = Σ_j λ_j = D: the
///   total variance E‖x‖² = D is the same for every α, and α = 0 is the identity;
/// - covariates x = √λ ⊙ z with z ~ N(0, I_D), i.e. x ~ N(0, diag(λ)) as in the paper;
/// - teacher θ* (TeacherModel), targets y = xᵀθ* + ε with ε ~ N(0, σ²);
/// - gradient descent on the training loss (1/2n)‖Xψ − y‖² from ψ₀ = 0 with the constant
///   step η = learning_rate_scale / λ_max, λ_max the largest eigenvalue of the empirical
///   covariance XᵀX/n (computed, with LAPACK, for every α). Each direction of the
///   empirical covariance with eigenvalue s contracts by (1 − ηs) per step: stable for
///   learning_rate_scale < 2, monotone for ≤ 1.
/// The same random numbers (z, the test z, the teacher's g, ε) serve every α, so the rows
/// differ by the spectrum only. All arithmetic is float64.
///
/// Gradient descent from 0 keeps ψ in the row space of X, ψ_t = Xᵀ a_t, so the iteration
/// runs on a ∈ ℝⁿ with the n × n Gram matrix K = XXᵀ: a ← a − (η/n)(K a − y). The iterates
/// ψ_t are exactly those of gradient descent on ψ, at O(n²) per step instead of O(nD).

#include <alphareq/accumulator.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace alphareq {

/// How the teacher θ* is drawn (g ~ N(0, I_D), the same for every α).
enum class TeacherModel {
  /// The task is fixed and the representation varies: y = Σ_j s_j g_j z_j + ε over the
  /// whitened directions z_j = x_j / √λ_j, with s_j² = j^(−β) / Σ_k k^(−β), β = task_decay.
  /// So θ*_j = s_j g_j / √λ_j, the signal variance along direction j is s_j² g_j² whatever
  /// α is, and the total is 1 in expectation. At α = β the teacher is isotropic.
  fixed_task,
  /// θ* = g / √D, the same vector for every α: the signal along direction j, λ_j θ*_j²,
  /// follows the covariance; the total is tr Σ / D = 1 in expectation.
  isotropic,
};

/// "fixed-task" or "isotropic".
std::string to_string(TeacherModel teacher);
/// Parses "fixed-task" / "isotropic"; throws invalid_input otherwise.
TeacherModel parse_teacher_model(const std::string& name);

/// Parameters of the experiment. The defaults run in one to two seconds on two CPU cores.
struct RegressionExperimentOptions {
  std::int64_t features = 2000;     ///< D
  std::int64_t train_samples = 400; ///< n (n < D: overparameterised, as in the paper)
  std::int64_t test_samples = 2000; ///< m fresh samples for the test MSE
  /// The α of each row; any finite values.
  std::vector<double> alphas = {0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5,
                                1.75, 2.0, 2.25, 2.5, 2.75, 3.0};
  double noise = 0.1;  ///< σ, standard deviation of ε
  TeacherModel teacher = TeacherModel::fixed_task;
  double task_decay = 1.0;  ///< β of TeacherModel::fixed_task
  std::int64_t steps = 2000;  ///< T, gradient descent steps
  /// η = learning_rate_scale / λ_max(XᵀX/n); must lie in (0, 2), the stability limit.
  double learning_rate_scale = 1.0;
  /// GradientDescentFit::steps_to_threshold counts the steps until the training MSE is at
  /// most loss_threshold × its value at ψ = 0 (the mean of y²); in (0, 1).
  double loss_threshold = 0.01;
  /// Steps at which the train and test MSE are recorded (each in [0, steps]). Empty: 0, 1,
  /// 10, 100, … below steps. The last step is always recorded.
  std::vector<std::int64_t> checkpoints;
  std::uint64_t seed = 0;
  /// Where the gradient descent iterations run (the data are made and the Gram matrix is
  /// formed on the host): the CPU (OpenBLAS) or, with CUDA, cuBLAS on the GPU.
  Backend backend = Backend::automatic;
};

/// One draw of the problem for one α (row-major float64 matrices).
struct RegressionData {
  double alpha = 0.0;
  double noise = 0.0;
  std::int64_t features = 0, train_samples = 0, test_samples = 0;
  std::vector<double> spectrum;        ///< λ_j, j = 1..D (descending for α > 0)
  std::vector<double> teacher;         ///< θ*
  std::vector<double> train_features;  ///< n × D
  std::vector<double> train_targets;   ///< n
  std::vector<double> test_features;   ///< m × D
  std::vector<double> test_targets;    ///< m
};

/// The problem for one α, from options.seed (the same draws for every α). Throws
/// invalid_input for invalid options.
RegressionData power_law_regression_data(const RegressionExperimentOptions& options, double alpha);

/// Train and test MSE after `step` gradient descent steps.
struct CurvePoint {
  std::int64_t step = 0;
  double train_mse = 0.0;  ///< (1/n)‖Xψ − y‖²
  double test_mse = 0.0;   ///< (1/m)‖X_test ψ − y_test‖² on the fresh samples
};

/// Gradient descent on one problem.
struct GradientDescentFit {
  double alpha = 0.0;
  std::string backend;         ///< "cpu" or "cuda"
  double lambda_max = 0.0;     ///< largest eigenvalue of the empirical covariance XᵀX/n
  double learning_rate = 0.0;  ///< η = learning_rate_scale / lambda_max
  std::vector<double> weights; ///< ψ after `steps` steps
  /// steps + 1 values: the training MSE after t steps, t = 0..steps.
  std::vector<double> train_mse;
  /// At the checkpoints, ascending; the last point is the final step.
  std::vector<CurvePoint> curve;
  /// First t with train_mse[t] ≤ loss_threshold · train_mse[0]; −1 when not reached.
  std::int64_t steps_to_threshold = -1;
  /// Population test MSE of the final ψ, σ² + (ψ − θ*)ᵀ diag(λ) (ψ − θ*): what the test
  /// MSE on fresh samples estimates.
  double population_test_mse = 0.0;

  double final_train_mse() const { return curve.back().train_mse; }
  double final_test_mse() const { return curve.back().test_mse; }
};

/// Runs gradient descent (options.steps, learning_rate_scale, loss_threshold, checkpoints,
/// backend) on `data`. Throws invalid_input for invalid options or inconsistent data,
/// backend_unavailable for Backend::cuda without a device, cuda_error on a CUDA failure.
GradientDescentFit fit_by_gradient_descent(const RegressionData& data,
                                           const RegressionExperimentOptions& options);

/// One gradient descent fit per α of options.alphas, in that order.
struct RegressionExperiment {
  std::string backend;  ///< where the iterations ran
  std::vector<GradientDescentFit> rows;
  double elapsed_ms = 0.0;  ///< wall time of the whole experiment
};

/// The whole experiment. Throws what power_law_regression_data and
/// fit_by_gradient_descent throw.
RegressionExperiment run_regression_experiment(const RegressionExperimentOptions& options);

}  // namespace alphareq
