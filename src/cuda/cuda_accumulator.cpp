#include "cuda/cuda_accumulator.hpp"

#include "core/fit_window.hpp"
#include "core/host_memory.hpp"
#include "cuda/caller_stream_order.hpp"
#include "kernels/batch_conversion.cuh"
#include "kernels/covariance_update.cuh"

#include <alphareq/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace alphareq::cuda {
namespace {

// Rows shifted and multiplied per cuBLAS call: a product of rank this large runs near peak,
// and the scratch stays in the tens of MiB for any width.
constexpr std::int64_t kScratchBytes = std::int64_t{32} << 20;
constexpr std::int64_t kMinChunkRows = 256;

bool single_precision(AccumulationPrecision precision) {
  return precision != AccumulationPrecision::float64;
}

std::size_t compute_element_size(AccumulationPrecision precision) {
  return single_precision(precision) ? sizeof(float) : sizeof(double);
}

std::size_t solver_element_size(SolverPrecision precision) {
  return precision == SolverPrecision::float64 ? sizeof(double) : sizeof(float);
}

// The buffers' bytes; `host_batches`: with the host batches' device staging (made on first use).
double device_bytes_needed(std::int64_t dim, const AccumulatorOptions& options, std::int64_t chunk_rows,
                           bool host_batches) {
  const double square = static_cast<double>(dim) * static_cast<double>(dim);
  const double chunk = static_cast<double>(chunk_rows) * static_cast<double>(dim);
  double bytes = square * sizeof(double)                            // float64 master
                 + square * solver_element_size(options.solver)     // the solver's copy
                 + chunk * compute_element_size(options.precision);  // the batch scratch
  if (host_batches) bytes += 2 * chunk * sizeof(double);
  if (single_precision(options.precision)) bytes += square * sizeof(float);  // batch product
  if (options.deterministic) bytes += static_cast<double>(deterministic_cublas_workspace_bytes());
  return bytes;
}

std::string device_buffers_named(const AccumulatorOptions& options, bool host_batches) {
  return std::string("the float64 D x D accumulator, the eigensolver's copy, the batch scratch") +
         (host_batches ? " and the host batches' staging" : "") +
         (options.deterministic ? ", and the deterministic cuBLAS workspace" : "");
}

// Throws out_of_memory unless `bytes` fit in the current device's free memory. `who_needs`
// says what needs them, verb included ("D = 512 needs"), `made_of` what they are made of.
void require_free_device_bytes(double bytes, int device, const std::string& who_needs,
                               const std::string& made_of) {
  std::size_t free_bytes = 0, total_bytes = 0;
  ALPHAREQ_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (bytes > static_cast<double>(free_bytes)) {
    throw out_of_memory("CUDA device " + std::to_string(device) + ": " + who_needs + " " +
                        detail::format_bytes(bytes) + " of device memory (" + made_of +
                        "), but only " + detail::format_bytes(static_cast<double>(free_bytes)) +
                        " of " + detail::format_bytes(static_cast<double>(total_bytes)) + " are free");
  }
}

// The width, checked before anything divides by it.
std::int64_t checked_width(std::int64_t dim) {
  if (dim < 1) throw invalid_input("accumulator: the number of features must be >= 1");
  return dim;
}

std::int64_t chunk_rows_for(std::int64_t dim, AccumulationPrecision precision) {
  const std::int64_t by_bytes =
      kScratchBytes / (dim * static_cast<std::int64_t>(compute_element_size(precision)));
  return std::max(kMinChunkRows, by_bytes);
}

}  // namespace

ProductRoutine choose_product_routine(AccumulationPrecision precision, bool deterministic) {
  // SYRK and GEMM round differently: an environment variable must not change the bits of a
  // deterministic accumulator.
  const char* forced = deterministic ? nullptr : std::getenv("ALPHAREQ_CUDA_PRODUCT");
  if (forced != nullptr) {
    if (std::strcmp(forced, "syrk") == 0) return ProductRoutine::syrk;
    if (std::strcmp(forced, "gemm") == 0) return ProductRoutine::gemm;
    throw invalid_input(std::string("ALPHAREQ_CUDA_PRODUCT must be syrk or gemm, got '") + forced + "'");
  }
  // Tensor cores (TF32) are reached through GEMM; SYRK does half the work otherwise.
  return precision == AccumulationPrecision::tf32 ? ProductRoutine::gemm : ProductRoutine::syrk;
}

void require_device_memory_for_layers(const std::vector<std::int64_t>& dims,
                                      const AccumulatorOptions& options, bool host_batches) {
  const int device = resolve_device(options);
  const DeviceGuard guard(device);
  double bytes = 0.0;
  std::string widths;
  for (const std::int64_t dim : dims) {
    bytes += device_bytes_needed(checked_width(dim), options, chunk_rows_for(dim, options.precision),
                                 host_batches);
    widths += (widths.empty() ? "" : ", ") + std::to_string(dim);
  }
  const std::string layers = dims.size() == 1 ? "1 layer (D = " + widths + ") needs"
                                              : std::to_string(dims.size()) + " layers (D = " + widths + ") need";
  require_free_device_bytes(bytes, device, layers,
                            "for each layer " + device_buffers_named(options, host_batches));
}

int resolve_device(const AccumulatorOptions& options) {
  int count = 0;
  ALPHAREQ_CUDA_TRY(cudaGetDeviceCount(&count));
  int device = options.device;
  if (device < 0) ALPHAREQ_CUDA_TRY(cudaGetDevice(&device));
  if (device >= count) {
    throw invalid_input("CUDA device " + std::to_string(device) + " does not exist (this machine has " +
                        std::to_string(count) + ")");
  }
  return device;
}

CudaAccumulator::CudaAccumulator(std::int64_t dim, const AccumulatorOptions& options)
    : dim_(checked_width(dim)),
      options_(options),
      device_(resolve_device(options)),
      product_(choose_product_routine(options.precision, options.deterministic)),
      chunk_rows_(chunk_rows_for(dim, options.precision)) {
  options_.device = device_;
  const DeviceGuard guard(device_);
  require_free_device_bytes(device_bytes_needed(dim, options_, chunk_rows_, true), device_,
                            "D = " + std::to_string(dim) + " needs", device_buffers_named(options_, true));
  if (options.stream != nullptr) {
    stream_handle_ = static_cast<cudaStream_t>(options.stream);  // the caller's, not owned
    require_stream_on_device(stream_handle_, device_, "AccumulatorOptions::stream");
  } else {
    stream_ = std::make_unique<Stream>();
    stream_handle_ = stream_->get();
  }
  cublas_ = std::make_unique<CublasHandle>(stream(),
                                           options.precision == AccumulationPrecision::tf32
                                               ? CUBLAS_TF32_TENSOR_OP_MATH
                                               : CUBLAS_DEFAULT_MATH,
                                           options.deterministic);
  caller_ready_ = std::make_unique<Event>();
  batch_done_ = std::make_unique<Event>();
  accumulate_timer_ = std::make_unique<StageTimer>();

  const std::size_t d = static_cast<std::size_t>(dim);
  const std::string width = " (D = " + std::to_string(dim) + ")";
  cross_ = DeviceBuffer<double>(d * d, "the float64 D x D accumulator" + width);
  // The solver's workspace is sized now, so a width cuSOLVER cannot handle fails here,
  // before any data is streamed.
  solver_ = std::make_unique<SolverWorkspace>(dim, options.solver, stream(), options.deterministic);
  shift_ = DeviceBuffer<double>(d, "the shift");
  sums_ = DeviceBuffer<double>(d, "the column sums");
  first_bad_ = DeviceBuffer<unsigned long long>(kFlagCount, "the NaN/Inf and overflow flags");
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(cross_.data(), 0, d * d * sizeof(double), stream()));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(sums_.data(), 0, d * sizeof(double), stream()));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(shift_.data(), 0, d * sizeof(double), stream()));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(first_bad_.data(), 0xFF, kFlagCount * sizeof(unsigned long long),
                                    stream()));

  const std::size_t rows = static_cast<std::size_t>(chunk_rows_);
  if (single_precision(options.precision)) {
    centred32_ = DeviceBuffer<float>(rows * d, "the batch scratch");
    ones32_ = DeviceBuffer<float>(rows, "the ones vector");
    product32_ = DeviceBuffer<float>(d * d, "the float32 batch product" + width);
    sums32_ = DeviceBuffer<float>(d, "the batch column sums");
    largest_exponent_ = DeviceBuffer<int>(d, "the batch column exponents");
    kernels::launch_fill(ones32_.data(), chunk_rows_, 1.0f, stream());
  } else {
    centred64_ = DeviceBuffer<double>(rows * d, "the batch scratch");
    ones64_ = DeviceBuffer<double>(rows, "the ones vector");
    kernels::launch_fill(ones64_.data(), chunk_rows_, 1.0, stream());
  }
  fit_result_ = DeviceBuffer<kernels::DeviceFitResult>(1, "the fit result");
  residuals_ = DeviceBuffer<double>(d, "the fit residuals");
  solver_scale_ = DeviceBuffer<int>(1, "the solver scale");
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(solver_scale_.data(), 0, sizeof(int), stream()));
  // Copied back whole although the fit writes only part of them: defined contents keep
  // compute-sanitizer's initcheck quiet and the host from reading garbage.
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(residuals_.data(), 0, d * sizeof(double), stream()));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(fit_result_.data(), 0, sizeof(kernels::DeviceFitResult), stream()));
  landing_ = std::make_unique<ResultLanding>(d);
}

CudaAccumulator::~CudaAccumulator() {
  // Release everything with the accumulator's device current (the caller's may differ),
  // after the work still queued on the stream, which reads these buffers, has finished.
  try {
    const DeviceGuard guard(device_);
    cudaStreamSynchronize(stream_handle_);
    landing_.reset();
    stager_.reset();
    solver_.reset();
    cublas_.reset();
    accumulate_timer_.reset();
    caller_ready_.reset();
    batch_done_.reset();
    shift_ = {};
    sums_ = {};
    cross_ = {};
    first_bad_ = {};
    centred64_ = {};
    ones64_ = {};
    centred32_ = {};
    ones32_ = {};
    product32_ = {};
    sums32_ = {};
    largest_exponent_ = {};
    fit_result_ = {};
    residuals_ = {};
    solver_scale_ = {};
    stream_.reset();
  } catch (...) {
    // A destructor must not throw; what is left is released by the members' destructors.
  }
}

std::unique_ptr<detail::AccumulatorBackend> CudaAccumulator::clone() const {
  const DeviceGuard guard(device_);
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream()));
  auto copy = std::make_unique<CudaAccumulator>(dim_, options_);
  const std::size_t d = static_cast<std::size_t>(dim_);
  const cudaStream_t target = copy->stream();
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(copy->cross_.data(), cross_.data(), d * d * sizeof(double),
                                    cudaMemcpyDeviceToDevice, target));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(copy->sums_.data(), sums_.data(), d * sizeof(double),
                                    cudaMemcpyDeviceToDevice, target));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(copy->shift_.data(), shift_.data(), d * sizeof(double),
                                    cudaMemcpyDeviceToDevice, target));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(copy->first_bad_.data(), first_bad_.data(),
                                    kFlagCount * sizeof(unsigned long long), cudaMemcpyDeviceToDevice,
                                    target));
  copy->count_ = count_;
  copy->shift_set_ = shift_set_;
  copy->merged_float32_rounded_ = merged_float32_rounded_;
  copy->accumulate_timer_ = std::make_unique<StageTimer>(accumulate_timer_->total_ms());
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(copy->stream()));
  return copy;
}

void CudaAccumulator::check_batch(const MatrixView& batch) const {
  check_view_shape(batch);
  if (batch.cols != dim_) {
    throw invalid_input("batch: has " + std::to_string(batch.cols) +
                        " columns but the accumulator has " + std::to_string(dim_) + " features");
  }
  cudaPointerAttributes attributes{};
  ALPHAREQ_CUDA_TRY(cudaPointerGetAttributes(&attributes, batch.data));
  const bool on_device =
      attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
  if (batch.space == MemorySpace::device) {
    if (!on_device) {
      throw invalid_input("batch: marked as device memory, but the pointer is host memory");
    }
    if (attributes.type == cudaMemoryTypeDevice && attributes.device != device_) {
      throw invalid_input("batch: lives on CUDA device " + std::to_string(attributes.device) +
                          " but the accumulator is on device " + std::to_string(device_) +
                          " (give the accumulator, or compute_alpha, that device in its options, "
                          "or accumulate per device and merge the accumulators)");
    }
  } else {
    if (attributes.type == cudaMemoryTypeDevice) {
      throw invalid_input("batch: marked as host memory, but the pointer is device memory "
                          "(mark it as device memory: MemorySpace::device, in C "
                          "ALPHAREQ_MEMORY_DEVICE)");
    }
    if (batch.dtype != DType::float32 && batch.dtype != DType::float64) {
      throw invalid_input("batch: host batches must be float32 or float64, got " +
                          to_string(batch.dtype) + " (float16/bfloat16 are accepted in device memory)");
    }
  }
}

void CudaAccumulator::accumulate_chunk(const void* data, DType dtype, std::int64_t rows,
                                       std::int64_t row_stride) {
  const cudaStream_t s = stream();
  const int n = static_cast<int>(dim_), k = static_cast<int>(rows);
  if (!shift_set_) {
    kernels::launch_shift_from_column_means(data, dtype, rows, dim_, row_stride, shift_.data(), s);
    shift_set_ = true;
  }
  if (!single_precision(options_.precision)) {
    double* y = centred64_.data();
    kernels::launch_shift_and_convert<double>(data, dtype, rows, dim_, row_stride, shift_.data(), y,
                                              first_bad_.data(), count_, s);
    const double one = 1.0;
    // Row-major rows × D is column-major D × rows: the product Y Yᵀ is Σ y yᵀ.
    if (product_ == ProductRoutine::syrk) {
      ALPHAREQ_CUBLAS_TRY(cublasDsyrk(cublas_->get(), CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, n, k,
                                      &one, y, n, &one, cross_.data(), n));
    } else {
      ALPHAREQ_CUBLAS_TRY(cublasDgemm(cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_T, n, n, k, &one, y, n,
                                      y, n, &one, cross_.data(), n));
    }
    ALPHAREQ_CUBLAS_TRY(cublasDgemv(cublas_->get(), CUBLAS_OP_N, n, k, &one, y, n,
                                    ones64_.data(), 1, &one, sums_.data(), 1));
  } else {
    float* y = centred32_.data();
    // Columns whose centred values would overflow float32 products or sink into subnormals
    // are scaled by a power of two (kernels/float32_scaling.cuh); the others keep their bits.
    // For TF32 products the values are rounded to TF32 here, so that the column sums below
    // see what the tensor cores multiply (core/tf32_rounding.hpp).
    const kernels::Float32Rounding rounding = kernels::float32_rounding_for(options_.precision);
    int* exponents = largest_exponent_.data();
    ALPHAREQ_CUDA_TRY(cudaMemsetAsync(exponents, 0x80, static_cast<std::size_t>(dim_) * sizeof(int), s));
    kernels::launch_shift_and_convert<float>(data, dtype, rows, dim_, row_stride, shift_.data(), y,
                                             first_bad_.data(), count_, s, exponents, rounding);
    kernels::launch_rescale_float32_columns(data, dtype, rows, dim_, row_stride, shift_.data(),
                                            exponents, y, s, rounding);
    const float one = 1.0f, zero = 0.0f;
    if (product_ == ProductRoutine::syrk) {
      ALPHAREQ_CUBLAS_TRY(cublasSsyrk(cublas_->get(), CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, n, k,
                                      &one, y, n, &zero, product32_.data(), n));
    } else {
      const cublasComputeType_t compute = options_.precision == AccumulationPrecision::tf32
                                              ? CUBLAS_COMPUTE_32F_FAST_TF32
                                              : CUBLAS_COMPUTE_32F;
      ALPHAREQ_CUBLAS_TRY(cublasGemmEx(cublas_->get(), CUBLAS_OP_N, CUBLAS_OP_T, n, n, k, &one, y,
                                       CUDA_R_32F, n, y, CUDA_R_32F, n, &zero, product32_.data(),
                                       CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT));
    }
    ALPHAREQ_CUBLAS_TRY(cublasSgemv(cublas_->get(), CUBLAS_OP_N, n, k, &one, y, n, ones32_.data(),
                                    1, &zero, sums32_.data(), 1));
    // Each batch's product is float32; the sum over batches is float64.
    kernels::launch_add_float32_batch(product32_.data(), sums32_.data(), cross_.data(),
                                      sums_.data(), dim_, s, exponents);
  }
  // The CPU refuses such a batch at once; here it is found on the device and reported by
  // the next call that returns results, as NaN/Inf are.
  kernels::launch_flag_trace_overflow(cross_.data(), dim_, first_bad_.data() + 2, count_, s);
  count_ += rows;
}

void CudaAccumulator::add_batch(const MatrixView& batch) {
  // The accumulator's device first: checking a pointer on the caller's current device could
  // create a context there.
  const DeviceGuard guard(device_);
  check_batch(batch);
  if (batch.space == MemorySpace::device) {
    const auto* base = static_cast<const unsigned char*>(batch.data);
    const std::size_t row_bytes = static_cast<std::size_t>(batch.row_stride) * size_of(batch.dtype);
    read_in_callers_order(*caller_ready_, *batch_done_, static_cast<cudaStream_t>(batch.stream),
                          stream(), [&] {
                            // Timed once the caller's earlier work is done: that wait is not ours.
                            accumulate_timer_->begin(stream());
                            for (std::int64_t first = 0; first < batch.rows; first += chunk_rows_) {
                              accumulate_chunk(base + first * row_bytes, batch.dtype,
                                               std::min(chunk_rows_, batch.rows - first),
                                               batch.row_stride);
                            }
                            accumulate_timer_->end(stream());
                          });
  } else {
    if (!stager_) {
      stager_ = std::make_unique<HostStager>(static_cast<std::size_t>(chunk_rows_ * dim_) * sizeof(double));
    }
    accumulate_timer_->begin(stream());
    stager_->for_each_chunk(batch, chunk_rows_, stream(),
                            [&](const void* staged, std::int64_t, std::int64_t rows) {
                              accumulate_chunk(staged, batch.dtype, rows, dim_);
                            });
    accumulate_timer_->end(stream());
  }
}

void CudaAccumulator::check_merge_fits(const detail::Moments& other) const {
  // The trace of cross after the merge: Σ cross_ii + Σ m2_ii + count · Σ (mean_i − K_i)².
  // It bounds every entry and eigenvalue (as in the CPU backend's merge check).
  const std::size_t d = static_cast<std::size_t>(dim_);
  std::vector<double> shift(d, 0.0), diagonal(d, 0.0);
  if (shift_set_) {
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(shift.data(), shift_.data(), d * sizeof(double),
                                      cudaMemcpyDeviceToHost, stream()));
    ALPHAREQ_CUDA_TRY(cudaMemcpy2DAsync(diagonal.data(), sizeof(double), cross_.data(),
                                        (d + 1) * sizeof(double), sizeof(double), d,
                                        cudaMemcpyDeviceToHost, stream()));
  }
  unsigned long long flags[kFlagCount];
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(flags, first_bad_.data(), sizeof flags, cudaMemcpyDeviceToHost, stream()));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream()));
  // An accumulator that already holds NaN/Inf or an overflow gives no results whatever is
  // merged; its next result call says why.
  for (unsigned long long flag : flags) {
    if (flag != kernels::kNoBadElement) return;
  }
  const double count = static_cast<double>(other.count);
  double trace = 0.0;
  for (std::size_t i = 0; i < d; ++i) {
    const double delta = shift_set_ ? other.mean[i] - shift[i] : 0.0;
    trace += diagonal[i] + other.m2_upper[i * d + i] + count * delta * delta;
  }
  if (!std::isfinite(trace)) {
    throw invalid_input("merge: features too large: the merged covariance would overflow "
                        "float64 (values or means beyond about 1e150); scale them down, alpha "
                        "does not depend on the scale");
  }
}

double* CudaAccumulator::moments_scratch(DeviceBuffer<double>& fallback,
                                         const std::string& what) const {
  if (solver_->precision() == SolverPrecision::float64) return static_cast<double*>(solver_->matrix());
  const std::size_t d = static_cast<std::size_t>(dim_);
  fallback = DeviceBuffer<double>(d * d, what);
  return fallback.data();
}

void CudaAccumulator::merge_moments(const detail::Moments& other) {
  if (other.count == 0) return;
  const DeviceGuard guard(device_);
  check_merge_fits(other);
  const std::size_t d = static_cast<std::size_t>(dim_);
  DeviceBuffer<double> mean(d, "the merged mean");
  DeviceBuffer<double> m2_buffer;
  double* m2 = moments_scratch(m2_buffer, "the merged D x D second moment");
  accumulate_timer_->begin(stream());
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(mean.data(), other.mean.data(), d * sizeof(double),
                                    cudaMemcpyHostToDevice, stream()));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(m2, other.m2_upper.data(), d * d * sizeof(double),
                                    cudaMemcpyHostToDevice, stream()));
  if (!shift_set_) {
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(shift_.data(), mean.data(), d * sizeof(double),
                                      cudaMemcpyDeviceToDevice, stream()));
    shift_set_ = true;
  }
  kernels::launch_merge_moments(mean.data(), m2, other.count, shift_.data(), cross_.data(),
                                sums_.data(), dim_, stream());
  accumulate_timer_->end(stream());
  count_ += other.count;
  merged_float32_rounded_ = merged_float32_rounded_ || other.float32_rounded;
  // The temporaries are freed on return, and the host vectors may go with the caller.
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream()));
}

void CudaAccumulator::throw_if_bad(const unsigned long long* first_bad_host) const {
  const unsigned long long first = std::min(first_bad_host[0], first_bad_host[1]);
  if (first == kernels::kNoBadElement) {
    if (first_bad_host[2] == kernels::kNoBadElement) return;
    throw invalid_input("features too large: their covariance would overflow float64 (values "
                        "or means beyond about 1e150; found on the device in the rows from " +
                        std::to_string(first_bad_host[2]) +
                        " on, after they were queued, so this accumulator holds them and can "
                        "give no results); scale them down, alpha does not depend on the scale");
  }
  const unsigned long long d = static_cast<unsigned long long>(dim_);
  throw invalid_input(std::string(first == first_bad_host[0] ? "NaN" : "Inf") +
                      " in the features at row " + std::to_string(first / d) + ", column " +
                      std::to_string(first % d) +
                      " (0-based; found on the device after the batch was queued, so this "
                      "accumulator holds it and can give no results)");
}

void CudaAccumulator::synchronize_and_check() const {
  const DeviceGuard guard(device_);
  unsigned long long flags[kFlagCount];
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(flags, first_bad_.data(), sizeof flags, cudaMemcpyDeviceToHost, stream()));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream()));
  throw_if_bad(flags);
}

detail::Moments CudaAccumulator::moments() const {
  synchronize_and_check();
  const std::size_t d = static_cast<std::size_t>(dim_);
  detail::Moments result{dim_, count_, std::vector<double>(d, 0.0), std::vector<double>(d * d, 0.0),
                         single_precision(options_.precision) || merged_float32_rounded_};
  if (count_ == 0) return result;
  const DeviceGuard guard(device_);
  DeviceBuffer<double> mean(d, "the exported mean");
  DeviceBuffer<double> m2_buffer;
  double* m2 = moments_scratch(m2_buffer, "the exported D x D second moment");
  // Only the upper triangle is formed; the rest goes to the host too, so it must be defined.
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(m2, 0, d * d * sizeof(double), stream()));
  kernels::launch_export_moments(cross_.data(), sums_.data(), shift_.data(), count_, mean.data(),
                                 m2, dim_, stream());
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(result.mean.data(), mean.data(), d * sizeof(double),
                                    cudaMemcpyDeviceToHost, stream()));
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(result.m2_upper.data(), m2, d * d * sizeof(double),
                                    cudaMemcpyDeviceToHost, stream()));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream()));
  return result;
}

double CudaAccumulator::rank_epsilon() const {
  return detail::rank_epsilon(options_.precision, solver_->precision(), merged_float32_rounded_);
}

double CudaAccumulator::accumulate_ms() const {
  const DeviceGuard guard(device_);
  return accumulate_timer_->total_ms();
}

std::vector<double> CudaAccumulator::eigenvalues(double divisor) const {
  AlphaReport report;
  run_spectrum(divisor, nullptr, report);
  return report.eigenvalues;
}

void CudaAccumulator::spectrum_and_fit(double divisor, const FitOptions& fit,
                                       AlphaReport& report) const {
  run_spectrum(divisor, &fit, report);
}

}  // namespace alphareq::cuda
