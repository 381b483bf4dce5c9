// CudaAccumulator's spectrum: the normalised covariance is formed on the device, cuSOLVER
// computes its eigenvalues, a kernel fits the power law, and the results come back in one
// batch of copies with a single wait.

#include "core/fit_window.hpp"
#include "cuda/cuda_accumulator.hpp"
#include "kernels/covariance_update.cuh"
#include "kernels/power_law_fit.cuh"

#include <alphareq/error.hpp>

#include <algorithm>
#include <stdexcept>

namespace alphareq::cuda {
namespace {

template <typename T>
void queue_spectrum(const double* cross, const double* sums, std::int64_t count, double divisor,
                    std::int64_t dim, SolverWorkspace& solver, cudaStream_t stream) {
  kernels::launch_form_covariance<T>(cross, sums, count, divisor, static_cast<T*>(solver.matrix()),
                                     dim, stream);
  solver.solve();
}

template <typename T>
std::vector<double> descending(const void* ascending, std::int64_t dim) {
  const T* values = static_cast<const T*>(ascending);
  std::vector<double> result(static_cast<std::size_t>(dim));
  for (std::int64_t i = 0; i < dim; ++i) result[i] = static_cast<double>(values[dim - 1 - i]);
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
    queue_spectrum<double>(cross_.data(), sums_.data(), count_, divisor, dim_, *solver_, s);
  } else {
    queue_spectrum<float>(cross_.data(), sums_.data(), count_, divisor, dim_, *solver_, s);
  }
  solved.record(s);
  if (fit != nullptr) {
    const int method = fit->method == FitMethod::weighted ? 0 : 1;
    if (float64) {
      kernels::launch_power_law_fit(static_cast<const double*>(solver_->eigenvalues()), dim_, count_,
                                    fit->first_rank, fit->last_rank, method, residuals_.data(),
                                    fit_result_.data(), s);
    } else {
      kernels::launch_power_law_fit(static_cast<const float*>(solver_->eigenvalues()), dim_, count_,
                                    fit->first_rank, fit->last_rank, method, residuals_.data(),
                                    fit_result_.data(), s);
    }
  }
  fitted.record(s);
  ResultLanding& landing = *landing_;
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.flags.data(), first_bad_.data(),
                                    2 * sizeof(unsigned long long), cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.info.data(), solver_->info(), sizeof(int),
                                    cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(landing.eigenvalues.data(), solver_->eigenvalues(), eigen_bytes,
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
  report.eigenvalues = float64 ? descending<double>(landing.eigenvalues.data(), dim_)
                               : descending<float>(landing.eigenvalues.data(), dim_);
  if (fit == nullptr) return;
  report.timings.fit_ms = elapsed_ms(solved, fitted);

  const kernels::DeviceFitResult& device_fit = *landing.fit.data();
  // The same planning as the CPU fit: identical clipping, reasons and errors.
  const detail::FitWindow window = detail::plan_fit_window(
      *fit, dim_, count_, device_fit.positive_count, device_fit.zero_threshold);
  if (window.last_rank != device_fit.last_rank || !device_fit.fitted) {
    throw std::logic_error("CUDA fit window " + std::to_string(device_fit.last_rank) +
                           " disagrees with the host's " + std::to_string(window.last_rank));
  }
  const int method = fit->method == FitMethod::weighted ? 0 : 1;
  PowerLawFit& result = report.fit;
  result.method = fit->method;
  result.alpha = device_fit.alpha[method];
  result.intercept = device_fit.intercept[method];
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
