// The C API (include/alphareq/alphareq.h): handles around the C++ accumulator and report,
// with every exception turned into a status code and a per-thread message.

#include <alphareq/alphareq.h>

#include <alphareq/accumulator.hpp>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/version.hpp>
#include <algorithm>
#include <exception>
#if defined(__GLIBCXX__)
#include <cxxabi.h>  // abi::__forced_unwind
#endif
#include <new>
#include <string>
#include <vector>
#include <utility>

struct alphareq_accumulator {
  alphareq::CovarianceAccumulator impl;
};

struct alphareq_report {
  alphareq::AlphaReport impl;
};

namespace {

thread_local std::string last_error_message;
// Set instead of the message when storing it failed (no memory), cleared by each message
// stored: without it alphareq_last_error() kept the previous failure's message, which
// describes another call, after the one that ran out of memory.
thread_local const char* last_error_fallback = nullptr;

// Static text for a failure whose message could not be stored: the status's meaning.
const char* message_without_memory(alphareq_status status) noexcept {
  switch (status) {
    case ALPHAREQ_ERROR_INVALID_INPUT:
      return "invalid input (no memory was left to store this failure's message)";
    case ALPHAREQ_ERROR_FILE:
      return "file error (no memory was left to store this failure's message)";
    case ALPHAREQ_ERROR_BACKEND_UNAVAILABLE:
      return "backend unavailable (no memory was left to store this failure's message)";
    case ALPHAREQ_ERROR_OUT_OF_MEMORY:
      return "out of memory (no memory was left to store this failure's message)";
    case ALPHAREQ_ERROR_CUDA:
      return "CUDA error (no memory was left to store this failure's message)";
    case ALPHAREQ_ERROR_NUMERICAL:
      return "numerical error (no memory was left to store this failure's message)";
    default:
      return "internal error (no memory was left to store this failure's message)";
  }
}

alphareq_status fail(alphareq_status status, const char* message) noexcept {
  try {
    last_error_message = message;
    last_error_fallback = nullptr;
  } catch (...) {
    last_error_fallback = message_without_memory(status);
  }
  return status;
}

// Runs `body`, mapping each exception to its status. The most derived types come first.
// Not noexcept, for one thing that must pass: with glibc, pthread_cancel (and pthread_exit)
// unwind the thread with abi::__forced_unwind, which must reach the thread's start.
// Swallowed by catch (...), glibc aborts the process ("FATAL: exception not rethrown");
// through a noexcept function, std::terminate does. A call blocked at a cancellation point
// (alphareq_compute_alpha_npy opening a FIFO, say) must be cancellable like any libc call.
// The forced unwind is a foreign exception, so the reference its handler binds is null and
// UBSan's null check reports the binding (nothing reads it): that check is off here alone
// (GCC inlines no function of other sanitizer settings into this one, so `body` keeps it).
template <class Body>
#if defined(__GLIBCXX__)
__attribute__((no_sanitize("null")))
#endif
alphareq_status guarded(Body&& body) {
  try {
    body();
    return ALPHAREQ_OK;
#if defined(__GLIBCXX__)
  } catch (abi::__forced_unwind&) {
    throw;
#endif
  } catch (const alphareq::file_error& e) {
    return fail(ALPHAREQ_ERROR_FILE, e.what());
  } catch (const alphareq::invalid_input& e) {
    return fail(ALPHAREQ_ERROR_INVALID_INPUT, e.what());
  } catch (const alphareq::backend_unavailable& e) {
    return fail(ALPHAREQ_ERROR_BACKEND_UNAVAILABLE, e.what());
  } catch (const alphareq::out_of_memory& e) {
    return fail(ALPHAREQ_ERROR_OUT_OF_MEMORY, e.what());
  } catch (const alphareq::cuda_error& e) {
    return fail(ALPHAREQ_ERROR_CUDA, e.what());
  } catch (const alphareq::numerical_error& e) {
    return fail(ALPHAREQ_ERROR_NUMERICAL, e.what());
  } catch (const std::bad_alloc&) {
    return fail(ALPHAREQ_ERROR_OUT_OF_MEMORY, "out of host memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    return fail(ALPHAREQ_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(ALPHAREQ_ERROR_INTERNAL, "unknown exception");
  }
}

template <class T>
void require(const T* pointer, const char* what) {
  if (pointer == nullptr) throw alphareq::invalid_input(std::string(what) + " is NULL");
}

alphareq::Backend to_backend(std::int32_t value) {
  switch (value) {
    case ALPHAREQ_BACKEND_AUTO:
      return alphareq::Backend::automatic;
    case ALPHAREQ_BACKEND_CPU:
      return alphareq::Backend::cpu;
    case ALPHAREQ_BACKEND_CUDA:
      return alphareq::Backend::cuda;
  }
  throw alphareq::invalid_input("options.backend: unknown value " + std::to_string(value));
}

alphareq::AccumulatorOptions to_options(const alphareq_accumulator_options* options) {
  alphareq::AccumulatorOptions result;
  if (options == nullptr) return result;
  result.backend = to_backend(options->backend);
  switch (options->precision) {
    case ALPHAREQ_PRECISION_FLOAT64:
      result.precision = alphareq::AccumulationPrecision::float64;
      break;
    case ALPHAREQ_PRECISION_FLOAT32:
      result.precision = alphareq::AccumulationPrecision::float32;
      break;
    case ALPHAREQ_PRECISION_TF32:
      result.precision = alphareq::AccumulationPrecision::tf32;
      break;
    default:
      throw alphareq::invalid_input("options.precision: unknown value " +
                                    std::to_string(options->precision));
  }
  switch (options->solver) {
    case ALPHAREQ_SOLVER_FLOAT64:
      result.solver = alphareq::SolverPrecision::float64;
      break;
    case ALPHAREQ_SOLVER_FLOAT32:
      result.solver = alphareq::SolverPrecision::float32;
      break;
    default:
      throw alphareq::invalid_input("options.solver: unknown value " +
                                    std::to_string(options->solver));
  }
  result.device = options->device;
  if (options->deterministic != 0 && options->deterministic != 1) {
    throw alphareq::invalid_input("options.deterministic: expected 0 or 1, got " +
                                  std::to_string(options->deterministic));
  }
  result.deterministic = options->deterministic == 1;
  return result;
}

alphareq::FitOptions to_fit(const alphareq_fit_options* fit) {
  alphareq::FitOptions result;
  if (fit == nullptr) return result;
  switch (fit->method) {
    case ALPHAREQ_FIT_WEIGHTED:
      result.method = alphareq::FitMethod::weighted;
      break;
    case ALPHAREQ_FIT_OLS:
      result.method = alphareq::FitMethod::ols;
      break;
    default:
      throw alphareq::invalid_input("fit.method: unknown value " + std::to_string(fit->method));
  }
  result.first_rank = fit->first_rank;
  result.last_rank = fit->last_rank;
  return result;
}

alphareq::Normalization to_normalization(alphareq_normalization value) {
  switch (value) {
    case ALPHAREQ_NORMALIZE_BY_N:
      return alphareq::Normalization::by_n;
    case ALPHAREQ_NORMALIZE_BY_N_MINUS_ONE:
      return alphareq::Normalization::by_n_minus_one;
    case ALPHAREQ_NORMALIZE_MAX_ENUM:
      break;
  }
  throw alphareq::invalid_input("normalization: unknown value " +
                                std::to_string(static_cast<int>(value)));
}

alphareq::MatrixView to_view(const void* data, alphareq_dtype dtype, std::int64_t rows,
                             std::int64_t cols, std::int64_t row_stride,
                             alphareq_memory_space space, void* stream) {
  alphareq::MatrixView view;
  view.data = data;
  view.rows = rows;
  view.cols = cols;
  view.row_stride = row_stride == 0 ? cols : row_stride;
  switch (dtype) {
    case ALPHAREQ_DTYPE_FLOAT16:
      view.dtype = alphareq::DType::float16;
      break;
    case ALPHAREQ_DTYPE_BFLOAT16:
      view.dtype = alphareq::DType::bfloat16;
      break;
    case ALPHAREQ_DTYPE_FLOAT32:
      view.dtype = alphareq::DType::float32;
      break;
    case ALPHAREQ_DTYPE_FLOAT64:
      view.dtype = alphareq::DType::float64;
      break;
    default:
      throw alphareq::invalid_input("batch: unknown dtype value " +
                                    std::to_string(static_cast<int>(dtype)));
  }
  switch (space) {
    case ALPHAREQ_MEMORY_HOST:
      view.space = alphareq::MemorySpace::host;
      break;
    case ALPHAREQ_MEMORY_DEVICE:
      view.space = alphareq::MemorySpace::device;
      break;
    default:
      throw alphareq::invalid_input("batch: unknown memory space value " +
                                    std::to_string(static_cast<int>(space)));
  }
  view.stream = stream;
  alphareq::check_view_shape(view);
  return view;
}

alphareq_status give_report(alphareq::AlphaReport&& report, alphareq_report** out) {
  *out = new alphareq_report{std::move(report)};
  return ALPHAREQ_OK;
}

}  // namespace

extern "C" {

const char* alphareq_last_error(void) {
  return last_error_fallback != nullptr ? last_error_fallback : last_error_message.c_str();
}

const char* alphareq_status_name(alphareq_status status) {
  switch (status) {
    case ALPHAREQ_OK:
      return "ALPHAREQ_OK";
    case ALPHAREQ_ERROR_INVALID_INPUT:
      return "ALPHAREQ_ERROR_INVALID_INPUT";
    case ALPHAREQ_ERROR_FILE:
      return "ALPHAREQ_ERROR_FILE";
    case ALPHAREQ_ERROR_BACKEND_UNAVAILABLE:
      return "ALPHAREQ_ERROR_BACKEND_UNAVAILABLE";
    case ALPHAREQ_ERROR_OUT_OF_MEMORY:
      return "ALPHAREQ_ERROR_OUT_OF_MEMORY";
    case ALPHAREQ_ERROR_CUDA:
      return "ALPHAREQ_ERROR_CUDA";
    case ALPHAREQ_ERROR_NUMERICAL:
      return "ALPHAREQ_ERROR_NUMERICAL";
    case ALPHAREQ_ERROR_INTERNAL:
      return "ALPHAREQ_ERROR_INTERNAL";
    case ALPHAREQ_STATUS_MAX_ENUM:
      break;
  }
  return "unknown status";
}

const char* alphareq_version(void) { return alphareq::version(); }

alphareq_status alphareq_cuda_available(int* available) {
  return guarded([&] {
    require(available, "available");
    *available = alphareq::cuda_available() ? 1 : 0;
  });
}

alphareq_accumulator_options alphareq_accumulator_options_default(void) {
  return alphareq_accumulator_options{ALPHAREQ_BACKEND_AUTO, ALPHAREQ_PRECISION_FLOAT64,
                                      ALPHAREQ_SOLVER_FLOAT64, -1, 0};
}

alphareq_fit_options alphareq_fit_options_default(void) {
  const alphareq::FitOptions defaults;
  return alphareq_fit_options{ALPHAREQ_FIT_WEIGHTED, defaults.first_rank, defaults.last_rank};
}

alphareq_status alphareq_accumulator_create(int64_t dim,
                                            const alphareq_accumulator_options* options,
                                            alphareq_accumulator** out) {
  return guarded([&] {
    require(out, "out");
    alphareq::CovarianceAccumulator accumulator(dim, to_options(options));
    *out = new alphareq_accumulator{std::move(accumulator)};
  });
}

alphareq_status alphareq_accumulator_free(alphareq_accumulator* accumulator) {
  return guarded([&] { delete accumulator; });
}

alphareq_status alphareq_accumulator_add_batch(alphareq_accumulator* accumulator, const void* data,
                                               alphareq_dtype dtype, int64_t rows, int64_t cols,
                                               int64_t row_stride, alphareq_memory_space space,
                                               void* stream) {
  return guarded([&] {
    require(accumulator, "accumulator");
    accumulator->impl.add_batch(to_view(data, dtype, rows, cols, row_stride, space, stream));
  });
}

alphareq_status alphareq_accumulator_merge(alphareq_accumulator* into,
                                           const alphareq_accumulator* other) {
  return guarded([&] {
    require(into, "into");
    require(other, "other");
    into->impl.merge(other->impl);
  });
}

alphareq_status alphareq_accumulator_state(const alphareq_accumulator* accumulator, int64_t dim,
                                           int64_t* count, double* mean, double* m2,
                                           int* float32_rounded) {
  return guarded([&] {
    require(accumulator, "accumulator");
    // The caller's arrays hold dim and dim * dim doubles: another width would write past
    // them (as merge_state would read past them).
    if (dim != accumulator->impl.dim()) {
      throw alphareq::invalid_input("state: the arrays are for " + std::to_string(dim) +
                                    " features (dim), the accumulator has " +
                                    std::to_string(accumulator->impl.dim()));
    }
    require(count, "count");
    require(mean, "mean");
    require(m2, "m2");
    require(float32_rounded, "float32_rounded");
    const alphareq::AccumulatorState state = accumulator->impl.state();
    std::copy(state.mean.begin(), state.mean.end(), mean);
    std::copy(state.m2_upper.begin(), state.m2_upper.end(), m2);
    *count = state.count;
    *float32_rounded = state.float32_rounded ? 1 : 0;
  });
}

alphareq_status alphareq_accumulator_merge_state(alphareq_accumulator* into, int64_t dim,
                                                 int64_t count, const double* mean,
                                                 const double* m2, int float32_rounded) {
  return guarded([&] {
    require(into, "into");
    // The arrays' length is known from `dim` only: checked before a value is read, since
    // another width would read past a narrower state's arrays or scramble a wider one's m2.
    if (dim != into->impl.dim()) {
      throw alphareq::invalid_input("merge_state: the state has " + std::to_string(dim) +
                                    " features (dim), the accumulator " +
                                    std::to_string(into->impl.dim()));
    }
    require(mean, "mean");
    require(m2, "m2");
    if (float32_rounded != 0 && float32_rounded != 1) {
      throw alphareq::invalid_input("float32_rounded must be 0 or 1, got " +
                                    std::to_string(float32_rounded));
    }
    const std::size_t d = static_cast<std::size_t>(dim);
    into->impl.merge_state(alphareq::AccumulatorState{static_cast<std::int64_t>(d), count,
                                                      std::vector<double>(mean, mean + d),
                                                      std::vector<double>(m2, m2 + d * d),
                                                      float32_rounded == 1});
  });
}

alphareq_status alphareq_accumulator_dim(const alphareq_accumulator* accumulator, int64_t* out) {
  return guarded([&] {
    require(accumulator, "accumulator");
    require(out, "out");
    *out = accumulator->impl.dim();
  });
}

alphareq_status alphareq_accumulator_count(const alphareq_accumulator* accumulator, int64_t* out) {
  return guarded([&] {
    require(accumulator, "accumulator");
    require(out, "out");
    *out = accumulator->impl.count();
  });
}

alphareq_status alphareq_accumulator_backend(const alphareq_accumulator* accumulator,
                                             alphareq_backend* out) {
  return guarded([&] {
    require(accumulator, "accumulator");
    require(out, "out");
    *out = accumulator->impl.backend() == alphareq::Backend::cuda ? ALPHAREQ_BACKEND_CUDA
                                                                  : ALPHAREQ_BACKEND_CPU;
  });
}

alphareq_status alphareq_accumulator_report(const alphareq_accumulator* accumulator,
                                            const alphareq_fit_options* fit,
                                            alphareq_normalization normalization,
                                            alphareq_report** out) {
  return guarded([&] {
    require(accumulator, "accumulator");
    require(out, "out");
    give_report(accumulator->impl.report(to_fit(fit), to_normalization(normalization)), out);
  });
}

alphareq_status alphareq_compute_alpha(
    const void* data, alphareq_dtype dtype, int64_t rows, int64_t cols, int64_t row_stride,
    alphareq_memory_space space, void* stream, const alphareq_accumulator_options* options,
    const alphareq_fit_options* fit, alphareq_normalization normalization, alphareq_report** out) {
  return guarded([&] {
    require(out, "out");
    alphareq::AlphaOptions all;
    all.accumulator = to_options(options);
    all.fit = to_fit(fit);
    all.normalization = to_normalization(normalization);
    give_report(
        alphareq::compute_alpha(to_view(data, dtype, rows, cols, row_stride, space, stream), all),
        out);
  });
}

alphareq_status alphareq_compute_alpha_npy(const char* path,
                                           const alphareq_accumulator_options* options,
                                           const alphareq_fit_options* fit,
                                           alphareq_normalization normalization,
                                           alphareq_report** out) {
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    alphareq::AlphaOptions all;
    all.accumulator = to_options(options);
    all.fit = to_fit(fit);
    all.normalization = to_normalization(normalization);
    give_report(alphareq::compute_alpha_npy(path, all), out);
  });
}

alphareq_status alphareq_report_free(alphareq_report* report) {
  return guarded([&] { delete report; });
}

alphareq_status alphareq_report_get_values(const alphareq_report* report,
                                           alphareq_report_values* out) {
  return guarded([&] {
    require(report, "report");
    require(out, "out");
    const alphareq::AlphaReport& r = report->impl;
    alphareq_report_values values{};
    values.n = r.n;
    values.d = r.d;
    values.alpha = r.fit.alpha;
    values.intercept = r.fit.intercept;
    values.r2 = r.fit.r2;
    values.method =
        r.fit.method == alphareq::FitMethod::ols ? ALPHAREQ_FIT_OLS : ALPHAREQ_FIT_WEIGHTED;
    values.clipped = r.fit.clipped ? 1 : 0;
    values.first_rank = r.fit.first_rank;
    values.last_rank = r.fit.last_rank;
    values.requested_first_rank = r.fit.requested_first_rank;
    values.requested_last_rank = r.fit.requested_last_rank;
    values.rank_limit = r.fit.rank_limit;
    values.accumulate_ms = r.timings.accumulate_ms;
    values.eigenvalues_ms = r.timings.eigenvalues_ms;
    values.fit_ms = r.timings.fit_ms;
    values.total_ms = r.timings.total_ms;
    *out = values;
  });
}

alphareq_status alphareq_report_eigenvalues(const alphareq_report* report, const double** values,
                                            int64_t* count) {
  return guarded([&] {
    require(report, "report");
    require(values, "values");
    require(count, "count");
    *values = report->impl.eigenvalues.data();
    *count = static_cast<int64_t>(report->impl.eigenvalues.size());
  });
}

alphareq_status alphareq_report_residuals(const alphareq_report* report, const double** values,
                                          int64_t* count) {
  return guarded([&] {
    require(report, "report");
    require(values, "values");
    require(count, "count");
    *values = report->impl.fit.residuals.data();
    *count = static_cast<int64_t>(report->impl.fit.residuals.size());
  });
}

alphareq_status alphareq_report_backend(const alphareq_report* report, const char** name) {
  return guarded([&] {
    require(report, "report");
    require(name, "name");
    *name = report->impl.backend.c_str();
  });
}

alphareq_status alphareq_report_clip_reason(const alphareq_report* report, const char** reason) {
  return guarded([&] {
    require(report, "report");
    require(reason, "reason");
    *reason = report->impl.fit.clip_reason.c_str();
  });
}

}  // extern "C"
