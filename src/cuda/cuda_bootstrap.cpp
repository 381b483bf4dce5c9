#include "cuda/cuda_bootstrap.hpp"

#include "core/fit_window.hpp"
#include "core/host_memory.hpp"
#include "cuda/caller_stream_order.hpp"
#include "cuda/cuda_accumulator.hpp"
#include "kernels/batch_conversion.cuh"
#include "kernels/bootstrap_weights.cuh"
#include "kernels/power_law_fit.cuh"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <limits>
#include <string>
#include <type_traits>

namespace alphareq::cuda {
namespace {

// Rows converted per sub-chunk, as the accumulator's chunks: the float32 products of at
// most this many rows are summed in float32 before they reach the float64 masters.
constexpr double kConvertScratchBytes = 32.0 * (1 << 20);
constexpr std::int64_t kMinChunkRows = 256;
// The weighted copies of one block of rows for all replicates: the product's k dimension
// is the block's rows, so a larger budget runs the batched GEMM closer to peak.
constexpr double kCopiesBytes = 256.0 * (1 << 20);
// Kept back from the free memory when sizing groups: the eigensolver's and cuBLAS's
// workspaces, unknown until the buffers exist.
constexpr double kWorkspaceReserve = 0.1;

bool single_precision(AccumulationPrecision precision) {
  return precision != AccumulationPrecision::float64;
}

double free_device_bytes(double* total = nullptr) {
  std::size_t free_bytes = 0, total_bytes = 0;
  ALPHAREQ_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (total != nullptr) *total = static_cast<double>(total_bytes);
  return static_cast<double>(free_bytes);
}

std::int64_t replicates_fitting_in(double available, std::int64_t dim,
                                   const AlphaOptions& options) {
  const std::int64_t most = std::max<std::int64_t>(1, options.bootstrap.resamples);
  if (plan_bootstrap(dim, options, 1).device_bytes > available) return 0;
  std::int64_t low = 1, high = most;  // plan(low) fits; find the largest that does
  while (low < high) {
    const std::int64_t middle = low + (high - low + 1) / 2;
    if (plan_bootstrap(dim, options, middle).device_bytes <= available) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

// NaN/Inf as the accumulator words it (the flags hold flat indices row · D + column).
void throw_if_bad(const unsigned long long* first_bad, std::int64_t dim) {
  const unsigned long long first = std::min(first_bad[0], first_bad[1]);
  if (first == kernels::kNoBadElement) return;
  const unsigned long long d = static_cast<unsigned long long>(dim);
  throw invalid_input(std::string(first == first_bad[0] ? "NaN" : "Inf") +
                      " in the features at row " + std::to_string(first / d) + ", column " +
                      std::to_string(first % d) +
                      " (0-based; found on the device by the bootstrap)");
}

}  // namespace

BootstrapPlan plan_bootstrap(std::int64_t dim, const AlphaOptions& options,
                             std::int64_t replicates) {
  const bool single = single_precision(options.accumulator.precision);
  const bool solver32 = options.accumulator.solver == SolverPrecision::float32;
  const double element = single ? sizeof(float) : sizeof(double);
  const double d = static_cast<double>(dim), g = static_cast<double>(replicates);
  BootstrapPlan plan;
  plan.chunk_rows = std::max<std::int64_t>(
      kMinChunkRows, static_cast<std::int64_t>(kConvertScratchBytes / (d * element)));
  plan.block_rows = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(kCopiesBytes / (g * d * element)), 1, plan.chunk_rows);
  const double rows = static_cast<double>(plan.block_rows);
  double per_replicate =
      d * d * sizeof(double) + d * sizeof(double) + sizeof(unsigned long long)  // state
      + d * (solver32 ? sizeof(float) : sizeof(double)) + sizeof(int)           // solver output
      + sizeof(int) + sizeof(kernels::DeviceFitResult)                          // status, fit
      + rows * d * element + rows * element;                                    // copies, weights
  if (single) per_replicate += d * d * sizeof(float) + d * sizeof(float);  // a chunk's products
  if (solver32) per_replicate += d * d * sizeof(float) + sizeof(int);  // the solver's copy, scale
  double fixed = static_cast<double>(plan.chunk_rows) * d * element    // converted rows
                 + 2.0 * static_cast<double>(plan.chunk_rows) * d * sizeof(double)  // staging
                 + d * sizeof(double) + 2 * sizeof(unsigned long long);             // shift, flags
  if (single) fixed += d * sizeof(int);  // the sub-chunk's column exponents
  plan.device_bytes = fixed + g * per_replicate;
  return plan;
}

std::int64_t bootstrap_replicates_fitting(std::int64_t dim, const AlphaOptions& options) {
  const DeviceGuard guard(resolve_device(options.accumulator));
  return replicates_fitting_in(free_device_bytes() * (1.0 - kWorkspaceReserve), dim, options);
}

CudaBootstrap::CudaBootstrap(std::int64_t dim, const AlphaOptions& options,
                             std::int64_t first_replicate, std::int64_t replicates)
    : dim_(dim),
      options_(options),
      first_replicate_(first_replicate),
      replicates_(replicates),
      device_(resolve_device(options.accumulator)),
      plan_(plan_bootstrap(dim, options, replicates)),
      single_precision_(single_precision(options.accumulator.precision)) {
  detail::check_bootstrap_options(options.bootstrap);
  if (dim < 1 || replicates < 1) {
    throw invalid_input("bootstrap: needs D >= 1 and at least one replicate");
  }
  options_.accumulator.device = device_;
  const DeviceGuard guard(device_);
  double total = 0.0;
  const double free_bytes = free_device_bytes(&total);
  const std::string what =
      "the bootstrap's " + std::to_string(replicates) + " replicates of D = " + std::to_string(dim);
  const std::int64_t fitting =
      replicates_fitting_in(free_bytes * (1.0 - kWorkspaceReserve), dim, options);
  const std::string advice =
      fitting == 0 ? "not even one replicate fits: use the CPU backend for this width"
                   : "use fewer resamples (about " + std::to_string(fitting) +
                         " fit now), or give compute_alpha the features in memory, which runs "
                         "the replicates in groups of what fits";
  if (plan_.device_bytes > free_bytes) {
    throw out_of_memory("CUDA device " + std::to_string(device_) + ": " + what + " need " +
                        detail::format_bytes(plan_.device_bytes) +
                        " of device memory (a float64 D x D accumulator per replicate, plus "
                        "scratch), but only " +
                        detail::format_bytes(free_bytes) + " of " + detail::format_bytes(total) +
                        " are free; " + advice);
  }

  const std::size_t d = static_cast<std::size_t>(dim), g = static_cast<std::size_t>(replicates);
  const std::size_t chunk = static_cast<std::size_t>(plan_.chunk_rows);
  const std::size_t block = static_cast<std::size_t>(plan_.block_rows);
  try {
    if (options.accumulator.stream != nullptr) {
      stream_handle_ = static_cast<cudaStream_t>(options.accumulator.stream);
      require_stream_on_device(stream_handle_, device_, "AccumulatorOptions::stream");
    } else {
      stream_ = std::make_unique<Stream>();
      stream_handle_ = stream_->get();
    }
    // TF32 is asked for by the product call's compute type alone: a TF32 math mode on the
    // handle would also round the inputs of the column sums' SGEMM to TF32 (the accumulator
    // sums with SGEMV, which the mode does not reach).
    cublas_ = std::make_unique<CublasHandle>(stream(), CUBLAS_DEFAULT_MATH,
                                             options.accumulator.deterministic);
    caller_ready_ = std::make_unique<Event>();
    batch_done_ = std::make_unique<Event>();

    cross_ = DeviceBuffer<double>(g * d * d, "the float64 D x D accumulators of " + what);
    sums_ = DeviceBuffer<double>(g * d, "the replicates' column sums");
    counts_ = DeviceBuffer<unsigned long long>(g, "the replicates' sample counts");
    shift_ = DeviceBuffer<double>(d, "the shift");
    first_bad_ = DeviceBuffer<unsigned long long>(2, "the NaN/Inf flags");
    ALPHAREQ_CUDA_TRY(cudaMemsetAsync(cross_.data(), 0, g * d * d * sizeof(double), stream()));
    ALPHAREQ_CUDA_TRY(cudaMemsetAsync(sums_.data(), 0, g * d * sizeof(double), stream()));
    ALPHAREQ_CUDA_TRY(cudaMemsetAsync(counts_.data(), 0, g * sizeof(unsigned long long), stream()));
    ALPHAREQ_CUDA_TRY(cudaMemsetAsync(shift_.data(), 0, d * sizeof(double), stream()));
    ALPHAREQ_CUDA_TRY(
        cudaMemsetAsync(first_bad_.data(), 0xFF, 2 * sizeof(unsigned long long), stream()));
    if (single_precision_) {
      shifted32_ = DeviceBuffer<float>(chunk * d, "the bootstrap's converted rows");
      weights32_ = DeviceBuffer<float>(g * block, "the bootstrap weights");
      copies32_ = DeviceBuffer<float>(g * block * d, "the weighted copies of " + what);
      product32_ = DeviceBuffer<float>(g * d * d, "the float32 products of " + what);
      sums32_ = DeviceBuffer<float>(g * d, "the replicates' float32 column sums");
      largest_exponent_ = DeviceBuffer<int>(d, "the bootstrap's column exponents");
    } else {
      shifted64_ = DeviceBuffer<double>(chunk * d, "the bootstrap's converted rows");
      weights64_ = DeviceBuffer<double>(g * block, "the bootstrap weights");
      copies64_ = DeviceBuffer<double>(g * block * d, "the weighted copies of " + what);
    }
    void* matrices = cross_.data();  // float64 solver: the covariances replace P_b in place
    if (options.accumulator.solver == SolverPrecision::float32) {
      matrices32_ = DeviceBuffer<float>(g * d * d, "the float32 covariances of " + what);
      // Only upper triangles are ever written; defined contents everywhere for the solver.
      ALPHAREQ_CUDA_TRY(
          cudaMemsetAsync(matrices32_.data(), 0, g * d * d * sizeof(float), stream()));
      matrices = matrices32_.data();
      solver_scales_ = DeviceBuffer<int>(g, "the replicates' solver scales");
      ALPHAREQ_CUDA_TRY(cudaMemsetAsync(solver_scales_.data(), 0, g * sizeof(int), stream()));
    }
    status_ = DeviceBuffer<int>(g, "the replicates' statuses");
    solver_ =
        std::make_unique<BatchedEigensolver>(dim, replicates, options.accumulator.solver, matrices,
                                             stream(), options.accumulator.deterministic);
    fit_results_ = DeviceBuffer<kernels::DeviceFitResult>(g, "the replicates' fit results");
    ALPHAREQ_CUDA_TRY(
        cudaMemsetAsync(fit_results_.data(), 0, g * sizeof(kernels::DeviceFitResult), stream()));
  } catch (const out_of_memory& e) {
    release();
    throw out_of_memory(std::string(e.what()) + " (" + what + "); " + advice);
  } catch (...) {
    release();
    throw;
  }
}

void CudaBootstrap::release() noexcept {
  // With the bootstrap's device current (the caller's may differ), after the work still
  // queued on the stream, which reads these buffers, has finished.
  try {
    const DeviceGuard guard(device_);
    if (stream_handle_ != nullptr) cudaStreamSynchronize(stream_handle_);
    fit_results_ = {};
    solver_.reset();
    status_ = {};
    solver_scales_ = {};
    matrices32_ = {};
    largest_exponent_ = {};
    product32_ = {};
    sums32_ = {};
    shifted32_ = {};
    weights32_ = {};
    copies32_ = {};
    shifted64_ = {};
    weights64_ = {};
    copies64_ = {};
    first_bad_ = {};
    counts_ = {};
    sums_ = {};
    cross_ = {};
    shift_ = {};
    stager_.reset();
    batch_done_.reset();
    caller_ready_.reset();
    cublas_.reset();
    stream_.reset();
  } catch (...) {
    // Nothing may escape; what is left is released by the members' destructors.
  }
}

CudaBootstrap::~CudaBootstrap() { release(); }

void CudaBootstrap::add_chunk(const MatrixView& chunk, std::int64_t first_sample) {
  if (consumed_) throw std::logic_error("CudaBootstrap::add_chunk after replicate_alphas");
  check_view_shape(chunk, "bootstrap chunk");
  if (chunk.cols != dim_) {
    throw invalid_input("bootstrap: chunk has " + std::to_string(chunk.cols) +
                        " columns, expected " + std::to_string(dim_));
  }
  if (chunk.space == MemorySpace::host && chunk.dtype != DType::float32 &&
      chunk.dtype != DType::float64) {
    throw invalid_input("bootstrap: host chunks must be float32 or float64, got " +
                        to_string(chunk.dtype));
  }
  const DeviceGuard guard(device_);
  const auto accumulate = [&](const void* data, std::int64_t rows, std::int64_t row_stride,
                              std::int64_t first) {
    if (single_precision_) {
      accumulate_rows<float>(data, chunk.dtype, rows, row_stride, first);
    } else {
      accumulate_rows<double>(data, chunk.dtype, rows, row_stride, first);
    }
  };
  const std::int64_t step = plan_.chunk_rows;
  if (chunk.space == MemorySpace::device) {
    const auto* base = static_cast<const unsigned char*>(chunk.data);
    const std::size_t row_bytes = static_cast<std::size_t>(chunk.row_stride) * size_of(chunk.dtype);
    read_in_callers_order(*caller_ready_, *batch_done_, static_cast<cudaStream_t>(chunk.stream),
                          stream(), [&] {
                            for (std::int64_t first = 0; first < chunk.rows; first += step) {
                              accumulate(base + first * row_bytes, std::min(step, chunk.rows - first),
                                         chunk.row_stride, first_sample + first);
                            }
                          });
  } else {
    if (!stager_) {
      stager_ =
          std::make_unique<HostStager>(static_cast<std::size_t>(step * dim_) * sizeof(double));
    }
    stager_->for_each_chunk(chunk, step, stream(),
                            [&](const void* staged, std::int64_t first, std::int64_t rows) {
                              accumulate(staged, rows, dim_, first_sample + first);
                            });
  }
}

template <typename T>
void CudaBootstrap::accumulate_rows(const void* data, DType dtype, std::int64_t rows,
                                    std::int64_t row_stride, std::int64_t first_sample) {
  T *shifted, *weights, *copies;
  if constexpr (std::is_same_v<T, double>) {
    shifted = shifted64_.data();
    weights = weights64_.data();
    copies = copies64_.data();
  } else {
    shifted = shifted32_.data();
    weights = weights32_.data();
    copies = copies32_.data();
  }
  const cudaStream_t s = stream();
  if (!shift_set_) {
    kernels::launch_shift_from_column_means(data, dtype, rows, dim_, row_stride, shift_.data(), s);
    shift_set_ = true;
  }
  int* exponents = nullptr;
  // TF32 products get TF32 inputs: the block's values reach the sums below as the tensor
  // cores multiply them (core/tf32_rounding.hpp). The weighted copies w·y are rounded once
  // more (a weight of 3 needs two more bits), to nearest even: unbiased, but the sums,
  // Y·W, keep w·y exact. Emulated with a first chunk of one sample 20 spreads out (the
  // worst shift), that leaves the replicates' covariances up to ~3e-3 of their largest
  // variance off, far inside the interval's own spread; with the first chunk's mean as
  // the shift, as usual, little of it.
  const kernels::Float32Rounding rounding =
      kernels::float32_rounding_for(options_.accumulator.precision);
  if constexpr (std::is_same_v<T, double>) {
    kernels::launch_shift_and_convert<double>(data, dtype, rows, dim_, row_stride, shift_.data(),
                                              shifted, first_bad_.data(), first_sample, s);
  } else {
    // Columns whose centred values would overflow float32 products or sink into subnormals
    // are scaled by a power of two for the whole sub-chunk (kernels/float32_scaling.cuh); the
    // others keep their bits. Its blocks' products are summed in float32 at that scale and
    // scaled back when they reach the float64 masters.
    exponents = largest_exponent_.data();
    ALPHAREQ_CUDA_TRY(
        cudaMemsetAsync(exponents, 0x80, static_cast<std::size_t>(dim_) * sizeof(int), s));
    kernels::launch_shift_and_convert<float>(data, dtype, rows, dim_, row_stride, shift_.data(),
                                             shifted, first_bad_.data(), first_sample, s,
                                             exponents, rounding);
    kernels::launch_rescale_float32_columns(data, dtype, rows, dim_, row_stride, shift_.data(),
                                            exponents, shifted, s, rounding);
  }
  const int n = static_cast<int>(dim_), g = static_cast<int>(replicates_);
  const long long square = static_cast<long long>(dim_) * dim_;
  for (std::int64_t first = 0; first < rows; first += plan_.block_rows) {
    const std::int64_t block_rows = std::min(plan_.block_rows, rows - first);
    const int m = static_cast<int>(block_rows);
    const T* block = shifted + first * dim_;
    kernels::launch_bootstrap_weights<T>(options_.bootstrap.seed, first_replicate_, replicates_,
                                         first_sample + first, block_rows, weights, counts_.data(),
                                         s);
    kernels::launch_weighted_copies<T>(block, block_rows, dim_, weights, replicates_, copies, s,
                                       rounding);
    const long long copy_stride = static_cast<long long>(dim_) * block_rows;
    // Column-major, the block is Y (D × m), replicate b's copy Y diag(w_b) and the weights
    // W (m × B): P_b += (Y diag(w_b)) Yᵀ for all b in one call, Y shared (stride 0), and
    // S += Y W for all column sums at once.
    if constexpr (std::is_same_v<T, double>) {
      const double one = 1.0;
      ALPHAREQ_CUBLAS_TRY(cublasDgemmStridedBatched(cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_T, n, n,
                                                    m, &one, copies, n, copy_stride, block, n, 0,
                                                    &one, cross_.data(), n, square, g));
      ALPHAREQ_CUBLAS_TRY(cublasDgemm(cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_N, n, g, m, &one,
                                      block, n, weights, m, &one, sums_.data(), n));
    } else {
      // float32 sums over this sub-chunk's blocks, added to the float64 masters below.
      const float one = 1.0f, beta = first == 0 ? 0.0f : 1.0f;
      const cublasComputeType_t compute =
          options_.accumulator.precision == AccumulationPrecision::tf32
              ? CUBLAS_COMPUTE_32F_FAST_TF32
              : CUBLAS_COMPUTE_32F;
      ALPHAREQ_CUBLAS_TRY(cublasGemmStridedBatchedEx(
          cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_T, n, n, m, &one, copies, CUDA_R_32F, n,
          copy_stride, block, CUDA_R_32F, n, 0, &beta, product32_.data(), CUDA_R_32F, n, square, g,
          compute, CUBLAS_GEMM_DEFAULT));
      ALPHAREQ_CUBLAS_TRY(cublasSgemm(cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_N, n, g, m, &one,
                                      block, n, weights, m, &beta, sums32_.data(), n));
    }
  }
  if constexpr (!std::is_same_v<T, double>) {
    kernels::launch_add_float32_replicates(product32_.data(), sums32_.data(), cross_.data(),
                                           sums_.data(), dim_, replicates_, s, exponents);
  }
}

std::vector<double> CudaBootstrap::replicate_alphas() {
  if (consumed_) throw std::logic_error("CudaBootstrap::replicate_alphas called twice");
  consumed_ = true;
  detail::check_fit_options(options_.fit);
  const DeviceGuard guard(device_);
  const cudaStream_t s = stream();
  const std::size_t g = static_cast<std::size_t>(replicates_);

  const bool by_n = options_.normalization == Normalization::by_n;
  const bool float64_solver = options_.accumulator.solver == SolverPrecision::float64;
  // Replicates with fewer than 2 samples or an overflowed covariance (and all of them after
  // NaN/Inf features) reach the solver as zeros; the host reports them below. The float32
  // solver gets each covariance times 2^-e_b, so that one beyond float32's range (features
  // beyond ~1e19 or below ~1e-19) neither overflows nor flushes to zero.
  int* scales = float64_solver ? nullptr : solver_scales_.data();
  kernels::launch_screen_replicates(cross_.data(), sums_.data(), counts_.data(), by_n, dim_,
                                    replicates_, status_.data(), scales, s);
  if (float64_solver) {
    kernels::launch_form_replicate_covariances<double>(
        cross_.data(), sums_.data(), counts_.data(), by_n, cross_.data(), dim_, replicates_,
        status_.data(), nullptr, first_bad_.data(), 2, s);
  } else {
    kernels::launch_form_replicate_covariances<float>(
        cross_.data(), sums_.data(), counts_.data(), by_n, matrices32_.data(), dim_, replicates_,
        status_.data(), scales, first_bad_.data(), 2, s);
  }
  solver_->solve();
  const FitOptions& fit = options_.fit;
  // The threshold of the accumulator's own fit (cuda_spectrum.cpp): float32's ε for
  // float32/TF32 products or a float32 solver.
  const double epsilon = detail::rank_epsilon(options_.accumulator.precision, options_.accumulator.solver, false);
  if (float64_solver) {
    kernels::launch_power_law_fit_batched(static_cast<const double*>(solver_->eigenvalues()), dim_,
                                          replicates_, counts_.data(), fit.first_rank,
                                          fit.last_rank, epsilon, fit_results_.data(), s);
  } else {
    kernels::launch_power_law_fit_batched(static_cast<const float*>(solver_->eigenvalues()), dim_,
                                          replicates_, counts_.data(), fit.first_rank,
                                          fit.last_rank, epsilon, fit_results_.data(), s);
  }

  // One wait for everything: flags, counts, statuses, scales, solver statuses, fit results.
  PinnedBuffer<unsigned long long> flags(2, "the NaN/Inf flags");
  PinnedBuffer<unsigned long long> counts(g, "the replicates' sample counts");
  PinnedBuffer<int> status(g, "the replicates' statuses");
  PinnedBuffer<int> scale_exponents(g, "the replicates' solver scales");
  PinnedBuffer<int> info(g, "the replicates' eigensolver statuses");
  PinnedBuffer<kernels::DeviceFitResult> results(g, "the replicates' fit results");
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(flags.data(), first_bad_.data(), 2 * sizeof(unsigned long long),
                                    cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(counts.data(), counts_.data(), g * sizeof(unsigned long long),
                                    cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(
      cudaMemcpyAsync(status.data(), status_.data(), g * sizeof(int), cudaMemcpyDeviceToHost, s));
  if (scales != nullptr) {
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(scale_exponents.data(), scales, g * sizeof(int),
                                      cudaMemcpyDeviceToHost, s));
  } else {
    std::fill(scale_exponents.data(), scale_exponents.data() + g, 0);
  }
  ALPHAREQ_CUDA_TRY(
      cudaMemcpyAsync(info.data(), solver_->info(), g * sizeof(int), cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(results.data(), fit_results_.data(),
                                    g * sizeof(kernels::DeviceFitResult), cudaMemcpyDeviceToHost,
                                    s));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(s));

  // In order of cause: bad features, then replicates too small for a covariance, then
  // overflowed ones (both solved as zeros, so their solver status means nothing), then the
  // solver.
  throw_if_bad(flags.data(), dim_);
  for (std::size_t b = 0; b < g; ++b) {
    if (status.data()[b] == kernels::kReplicateTooFewSamples) {
      throw invalid_input(
          "bootstrap: replicate " +
          std::to_string(first_replicate_ + static_cast<std::int64_t>(b)) + " drew " +
          std::to_string(counts.data()[b]) +
          " samples, fewer than the 2 a covariance needs (too few samples to resample)");
    }
  }
  for (std::size_t b = 0; b < g; ++b) {
    if (status.data()[b] == kernels::kReplicateOverflowed) {
      throw invalid_input(
          "bootstrap: features too large: the covariance of replicate " +
          std::to_string(first_replicate_ + static_cast<std::int64_t>(b)) +
          " overflows float64 (values or means beyond about 1e150); scale them down, alpha "
          "does not depend on the scale");
    }
  }
  check_batched_eigen_info(info.data(), replicates_, solver_->route(), first_replicate_);

  const int method = fit.method == FitMethod::weighted ? 0 : 1;
  std::vector<double> alphas(g);
  for (std::size_t b = 0; b < g; ++b) {
    const kernels::DeviceFitResult& result = results.data()[b];
    const std::int64_t count = static_cast<std::int64_t>(counts.data()[b]);
    // The same planning as every fit: a replicate whose window is too short fails with
    // the CPU fit's message. The device fit saw the float32 solver's scaled eigenvalues: α
    // and the ranks do not depend on the scale, the zero threshold does (as in
    // cuda_spectrum.cpp); 0 for the float64 solver.
    const detail::FitWindow window =
        detail::plan_fit_window(fit, dim_, count, result.positive_count,
                                std::ldexp(result.zero_threshold, scale_exponents.data()[b]), epsilon);
    if (window.last_rank != result.last_rank || !result.fitted) {
      throw std::logic_error("CUDA bootstrap fit window " + std::to_string(result.last_rank) +
                             " disagrees with the host's " + std::to_string(window.last_rank));
    }
    alphas[b] = result.alpha[method];
  }
  return alphas;
}

}  // namespace alphareq::cuda
