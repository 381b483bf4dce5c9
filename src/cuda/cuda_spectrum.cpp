// CudaAccumulator's spectrum: the normalised covariance is formed on the device, cuSOLVER
// computes its eigenvalues, a kernel fits the power law, and the results come back in one
// batch of copies with a single wait.

#include "core/fit_window.hpp"
#include "cuda/cuda_accumulator.hpp"
#include "kernels/covariance_update.cuh"
#include "kernels/power_law_fit.cuh"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace alphareq::cuda {
namespace {

// `scale_exponent` (float32 solver): the covariance goes to the solver times 2^-e, e chosen on
// the device so that its largest diagonal lies in [0.5, 1): a covariance beyond float32's
// range (features beyond ~1e19 or below ~1e-19) neither overflows nor flushes to zero, and
// the solver never depends on scaling of its own; the eigenvalues come back times 2^-e.
// `flags`: the accumulator's NaN/Inf/overflow flags, which zero the matrix when set.
template <typename T>
void queue_spectrum(const double* cross, const double* sums, std::int64_t count, double divisor,
                    std::int64_t dim, SolverWorkspace& solver, cudaStream_t stream,
                    int* scale_exponent, const unsigned long long* flags, int flag_count) {
  if (scale_exponent != nullptr) {
    kernels::launch_choose_float32_solver_scale(cross, sums, count, divisor, dim, scale_exponent, stream);
  }
  kernels::launch_form_covariance<T>(cross, sums, count, divisor, static_cast<T*>(solver.matrix()),
                                     dim, stream, scale_exponent, flags, flag_count);
  solver.solve();
}

// Descending float64 eigenvalues, times 2^scale_exponent (exact).
template <typename T>
std::vector<double> descending(const void* ascending, std::int64_t dim, int scale_exponent) {
  const T* values = static_cast<const T*>(ascending);
  std::vector<double> result(static_cast<std::size_t>(dim));
  for (std::int64_t i = 0; i < dim; ++i) {
    result[i] = std::ldexp(static_cast<double>(values[dim - 1 - i]), scale_exponent);
  }
  return result;
}

}  // namespace

void CudaAccumulator::run_spectrum(double divisor, const FitOptions* fit, AlphaReport& report) const {
  if (fit != nullptr) detail::check_fit_options(*fit);
  const DeviceGuard guard(device_);
  const cudaStream_t s = stream();
  const bool float64 = solver_->precision() == SolverPrecision::float64;
  const std::size_t eigen_bytes = static_cast<std::size_t>(dim_) * (float64 ? sizeof(double) : sizeof(float));
  const Event start(true), solved(true), fitted(true);

  start.record(s);
  if (float64) {
    queue_spectrum<double>(cross_.data(), sums_.data(), count_, divisor, dim_, *solver_, s, nullptr,
                           first_bad_.data(), kFlagCount);
  } else {
    queue_spectrum<float>(cross_.data(), sums_.data(), count_, divisor, dim_, *solver_, s,
                          solver_scale_.data(), first_bad_.data(), kFlagCount);
  }
  solved.record(s);
  // float32/TF32 products or a float32 solver: float32's ε in the rank threshold.
  const double epsilon = rank_epsilon();
  if (fit != nullptr) {
    const int method = fit->method == FitMethod::weighted ? 0 : 1;
    if (float64) {
      kernels::launch_power_law_fit(static_cast<const double*>(solver_->eigenvalues()), dim_, count_,
                                    fit->first_rank, fit->last_rank, epsilon, method, residuals_.data(),
                                    fit_result_.data(), s);
    } else {
      kernels::launch_power_law_fit(static_cast<const float*>(solver_->eigenvalues()), dim_, count_,
                                    fit->first_rank, fit->last_rank, epsilon, method, residuals_.data(),
                                    fit_result_.data(), s);
    }
  }
  fitted.record(s);
  ResultLanding& landing = *landing_;
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.flags.data(), first_bad_.data(),
                                    kFlagCount * sizeof(unsigned long long), cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.info.data(), solver_->info(), sizeof(int),
                                    cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.eigenvalues.data(), solver_->eigenvalues(), eigen_bytes,
                                    cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.solver_scale.data(), solver_scale_.data(), sizeof(int),
                                    cudaMemcpyDeviceToHost, s));
  if (fit != nullptr) {
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.fit.data(), fit_result_.data(),
                                      sizeof(kernels::DeviceFitResult), cudaMemcpyDeviceToHost, s));
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.residuals.data(), residuals_.data(),
                                      static_cast<std::size_t>(dim_) * sizeof(double),
                                      cudaMemcpyDeviceToHost, s));
  }
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(s));

  throw_if_bad(landing.flags.data());
  check_syevd_info(*landing.info.data());
  report.timings.eigenvalues_ms = elapsed_ms(start, solved);
  // 0 for the float64 solver (never set).
  const int scale_exponent = *landing.solver_scale.data();
  report.eigenvalues = float64 ? descending<double>(landing.eigenvalues.data(), dim_, 0)
                               : descending<float>(landing.eigenvalues.data(), dim_, scale_exponent);
  if (fit == nullptr) return;
  report.timings.fit_ms = elapsed_ms(solved, fitted);
  // The kernel trusts its input; a NaN from the solver would count as rank there. Refused
  // here as the CPU fit refuses it.
  detail::check_sorted_descending(report.eigenvalues);

  const kernels::DeviceFitResult& device_fit = *landing.fit.data();
  // The same planning as the CPU fit: identical clipping, reasons and errors.
  // The device fit saw the scaled eigenvalues: α, R², residuals and the ranks do not depend
  // on the scale; the intercept (log λ at rank 1) and the zero threshold do.
  const detail::FitWindow window = detail::plan_fit_window(
      *fit, dim_, count_, device_fit.positive_count, std::ldexp(device_fit.zero_threshold, scale_exponent),
      epsilon);
  if (window.last_rank != device_fit.last_rank || !device_fit.fitted) {
    throw std::logic_error("CUDA fit window " + std::to_string(device_fit.last_rank) +
                           " disagrees with the host's " + std::to_string(window.last_rank));
  }
  const int method = fit->method == FitMethod::weighted ? 0 : 1;
  PowerLawFit& result = report.fit;
  result.method = fit->method;
  result.alpha = device_fit.alpha[method];
  result.intercept = device_fit.intercept[method] + scale_exponent * std::log(2.0);
  result.r2 = device_fit.r2[method];
  result.first_rank = window.first_rank;
  result.last_rank = window.last_rank;
  result.requested_first_rank = fit->first_rank;
  result.requested_last_rank = fit->last_rank;
  result.rank_limit = window.rank_limit;
  result.clipped = window.clipped;
  result.clip_reason = window.clip_reason;
  const double* residuals = landing.residuals.data();
  result.residuals.assign(residuals, residuals + (window.last_rank - window.first_rank + 1));
}

}  // namespace alphareq::cuda
