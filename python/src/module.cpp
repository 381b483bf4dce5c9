// The extension module alphareq._alphareq: exception mapping, report conversion and the
// one-call entry points. The public Python API is in python/alphareq/.

#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/version.hpp>
#include <cstring>
#include <exception>
#include <utility>

#include "bindings.hpp"
#include "core/fit_window.hpp"
#include "dlpack_tensor.hpp"

#ifdef ALPHAREQ_HAS_CUDA
#include <cuda_runtime_api.h>
#endif

namespace nb = nanobind;

namespace alphareq::python {

nb::ndarray<nb::numpy, double> to_numpy(std::vector<double>&& values,
                                        std::initializer_list<std::size_t> shape) {
  auto* owned = new std::vector<double>(std::move(values));
  nb::capsule owner(
      owned, [](void* pointer) noexcept { delete static_cast<std::vector<double>*>(pointer); });
  return nb::ndarray<nb::numpy, double>(owned->data(), shape, owner);
}

AccumulationPrecision parse_precision(const std::string& name) {
  if (name == "float64") return AccumulationPrecision::float64;
  if (name == "float32") return AccumulationPrecision::float32;
  if (name == "tf32") return AccumulationPrecision::tf32;
  throw invalid_input("unknown precision '" + name + "' (expected float64, float32 or tf32)");
}

SolverPrecision parse_solver(const std::string& name) {
  if (name == "float64") return SolverPrecision::float64;
  if (name == "float32") return SolverPrecision::float32;
  throw invalid_input("unknown solver precision '" + name + "' (expected float64 or float32)");
}

Normalization parse_normalization(const std::string& name) {
  if (name == "n") return Normalization::by_n;
  if (name == "n-1") return Normalization::by_n_minus_one;
  throw invalid_input("unknown normalization '" + name + "' (expected 'n' or 'n-1')");
}

FitOptions make_fit_options(std::int64_t first_rank, std::int64_t last_rank,
                            const std::string& method) {
  FitOptions fit;
  fit.method = parse_fit_method(method);
  fit.first_rank = first_rank;
  fit.last_rank = last_rank;
  return fit;
}

nb::dict report_to_dict(AlphaReport&& report, Normalization normalization) {
  nb::dict result;
  const PowerLawFit& fit = report.fit;
  result["alpha"] = fit.alpha;
  result["intercept"] = fit.intercept;
  result["r2"] = fit.r2;
  result["method"] = to_string(fit.method);
  result["first_rank"] = fit.first_rank;
  result["last_rank"] = fit.last_rank;
  result["requested_first_rank"] = fit.requested_first_rank;
  result["requested_last_rank"] = fit.requested_last_rank;
  result["rank_limit"] = fit.rank_limit;
  result["clipped"] = fit.clipped;
  result["clip_reason"] = fit.clipped ? nb::cast(fit.clip_reason) : nb::none();
  result["n"] = report.n;
  result["d"] = report.d;
  result["backend"] = report.backend;
  result["normalization"] = normalization == Normalization::by_n ? "n" : "n-1";
  nb::dict timings;
  timings["accumulate_ms"] = report.timings.accumulate_ms;
  timings["eigenvalues_ms"] = report.timings.eigenvalues_ms;
  timings["fit_ms"] = report.timings.fit_ms;
  timings["total_ms"] = report.timings.total_ms;
  result["timings"] = timings;
  nb::dict metrics;
  metrics["effective_rank"] = report.metrics.effective_rank;
  metrics["participation_ratio"] = report.metrics.participation_ratio;
  metrics["stable_rank"] = report.metrics.stable_rank;
  metrics["numerical_rank"] = report.metrics.numerical_rank;
  metrics["tail_rank"] = report.metrics.tail_rank;
  metrics["tail_ratio"] = report.metrics.tail_ratio;
  result["metrics"] = metrics;
  const FitDiagnostics& fit_checks = report.diagnostics;
  nb::dict diagnostics;
  diagnostics["robust_alpha"] = fit_checks.robust_alpha;
  diagnostics["robust_subwindow"] = fit_checks.robust_subwindow;
  diagnostics["subwindow"] = fit_checks.subwindow;
  diagnostics["suggested_first_rank"] = fit_checks.suggested_first_rank;
  diagnostics["suggested_last_rank"] = fit_checks.suggested_last_rank;
  diagnostics["suggested_alpha"] = fit_checks.suggested_alpha;
  diagnostics["stability"] = fit_checks.stability;
  if (fit_checks.bootstrap_resamples > 0) {
    diagnostics["bootstrap_resamples"] = fit_checks.bootstrap_resamples;
    diagnostics["bootstrap_confidence"] = fit_checks.bootstrap_confidence;
    diagnostics["alpha_interval_low"] = fit_checks.alpha_interval_low;
    diagnostics["alpha_interval_high"] = fit_checks.alpha_interval_high;
    diagnostics["alpha_standard_error"] = fit_checks.alpha_standard_error;
    diagnostics["bootstrap_bias"] = fit_checks.bootstrap_bias;
  }
  result["diagnostics"] = diagnostics;
  const std::size_t d = report.eigenvalues.size();
  const std::size_t window = report.fit.residuals.size();
  result["eigenvalues"] = nb::cast(to_numpy(std::move(report.eigenvalues), {d}));
  result["residuals"] = nb::cast(to_numpy(std::move(report.fit.residuals), {window}));
  return result;
}

namespace {

PyObject* file_error_type = nullptr;
PyObject* backend_unavailable_type = nullptr;

// Messages may hold a file name's bytes, which need not be UTF-8 (PyErr_SetString would
// raise UnicodeDecodeError in place of the error): undecodable bytes are shown as \xff.
void set_error(PyObject* type, const char* what) {
  PyObject* message = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)),
                                           "backslashreplace");
  if (message == nullptr) return;  // the decoding's own error (memory) stays set
  PyErr_SetObject(type, message);
  Py_DECREF(message);
}

void translate_exception(const std::exception_ptr& pointer, void*) {
  try {
    std::rethrow_exception(pointer);
  } catch (const file_error& e) {
    set_error(file_error_type, e.what());
  } catch (const invalid_input& e) {
    set_error(PyExc_ValueError, e.what());
  } catch (const backend_unavailable& e) {
    set_error(backend_unavailable_type, e.what());
  } catch (const out_of_memory& e) {
    set_error(PyExc_MemoryError, e.what());
  } catch (const error& e) {  // cuda_error, numerical_error
    set_error(PyExc_RuntimeError, e.what());
  }
}

// The options of a one-call computation (alpha_npy, and alpha of an array with a bootstrap).
AlphaOptions make_alpha_options(const std::string& backend, const std::string& precision,
                                const std::string& solver, int device, std::int64_t first_rank,
                                std::int64_t last_rank, const std::string& method,
                                const std::string& normalization, bool deterministic,
                                std::int64_t resamples, std::uint64_t seed, double confidence) {
  AlphaOptions options;
  options.accumulator.backend = parse_backend(backend);
  options.accumulator.precision = parse_precision(precision);
  options.accumulator.solver = parse_solver(solver);
  options.accumulator.device = device;
  options.accumulator.deterministic = deterministic;
  options.fit = make_fit_options(first_rank, last_rank, method);
  options.normalization = parse_normalization(normalization);
  options.bootstrap.resamples = resamples;
  options.bootstrap.seed = seed;
  options.bootstrap.confidence = confidence;
  return options;
}

// Runs `compute` (a one-call pipeline) with the GIL released; the report as a dict.
template <typename Compute>
nb::dict one_call(const AlphaOptions& options, Compute&& compute) {
  AlphaReport report;
  {
    nb::gil_scoped_release unlocked;
    report = compute();
  }
  return report_to_dict(std::move(report), options.normalization);
}

// The path as the file system's bytes (os.fsencode): a str path with undecodable bytes
// (os.fsdecode's surrogates) or a bytes path is a file name as good as any.
nb::dict compute_alpha_npy_binding(const nb::bytes& path_bytes, const std::string& backend,
                                   const std::string& precision, const std::string& solver,
                                   int device, std::int64_t first_rank, std::int64_t last_rank,
                                   const std::string& method, const std::string& normalization,
                                   bool deterministic, std::int64_t resamples, std::uint64_t seed,
                                   double confidence) {
  const std::string path(path_bytes.c_str(), path_bytes.size());
  const AlphaOptions options =
      make_alpha_options(backend, precision, solver, device, first_rank, last_rank, method,
                         normalization, deterministic, resamples, seed, confidence);
  return one_call(options, [&] { return compute_alpha_npy(path, options); });
}

// alpha() of an array with a bootstrap: the resamples read the features again, so the
// one-call pipeline takes the view (the plain alpha() streams it into an Accumulator).
nb::dict compute_alpha_view_binding(std::uintptr_t data, const std::string& dtype,
                                    std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                    bool on_device, std::uintptr_t stream,
                                    const std::string& backend, const std::string& precision,
                                    const std::string& solver, int device,
                                    std::int64_t first_rank, std::int64_t last_rank,
                                    const std::string& method, const std::string& normalization,
                                    bool deterministic, std::int64_t resamples, std::uint64_t seed,
                                    double confidence) {
  const MatrixView view = make_view(data, dtype, rows, cols, row_stride, on_device, stream);
  const AlphaOptions options =
      make_alpha_options(backend, precision, solver, device, first_rank, last_rank, method,
                         normalization, deterministic, resamples, seed, confidence);
  return one_call(options, [&] { return compute_alpha(view, options); });
}

// Every option an accumulator and its report take, checked without building one: for
// LayerMonitor, whose accumulators are made in the first forward pass (their width is known
// only then), so that a typo fails at construction, not in the middle of an evaluation.
void check_options_binding(const std::string& backend, const std::string& precision,
                           const std::string& solver, std::int64_t first_rank, std::int64_t last_rank,
                           const std::string& method, const std::string& normalization) {
  parse_backend(backend);
  parse_precision(precision);
  parse_solver(solver);
  parse_normalization(normalization);
  detail::check_fit_options(make_fit_options(first_rank, last_rank, method));
}

std::tuple<bool, std::string> cuda_available_binding() {
  std::string why;
  const bool available = cuda_available(&why);
  return {available, why};
}

int current_cuda_device() {
#ifdef ALPHAREQ_HAS_CUDA
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error state of the failed query
    return -1;
  }
  return device;
#else
  return -1;
#endif
}

}  // namespace
}  // namespace alphareq::python

NB_MODULE(_alphareq, m) {
  using namespace alphareq::python;
  m.doc() = "alphareq extension module (internal; use the alphareq package)";

  nb::object os_error = nb::borrow(PyExc_OSError);
  nb::object value_error = nb::borrow(PyExc_ValueError);
  file_error_type = PyErr_NewExceptionWithDoc("alphareq.FileError",
                                              "A features file could not be read or is not a valid "
                                              ".npy file (an OSError and a ValueError).",
                                              nb::make_tuple(os_error, value_error).ptr(), nullptr);
  backend_unavailable_type = PyErr_NewExceptionWithDoc(
      "alphareq.BackendUnavailableError",
      "The CUDA backend was asked for where this build or machine has none (a RuntimeError).",
      PyExc_RuntimeError, nullptr);
  m.attr("FileError") = nb::borrow(file_error_type);
  m.attr("BackendUnavailableError") = nb::borrow(backend_unavailable_type);
  nb::register_exception_translator(translate_exception);

  bind_accumulator(m);
  bind_dlpack_tensor(m);
  bind_stream_order(m);

  m.def("compute_alpha_npy", &compute_alpha_npy_binding, nb::arg("path"), nb::arg("backend"),
        nb::arg("precision"), nb::arg("solver"), nb::arg("device"), nb::arg("first_rank"),
        nb::arg("last_rank"), nb::arg("method"), nb::arg("normalization"),
        nb::arg("deterministic"), nb::arg("resamples"), nb::arg("seed"), nb::arg("confidence"));
  m.def("compute_alpha_view", &compute_alpha_view_binding, nb::arg("data"), nb::arg("dtype"),
        nb::arg("rows"), nb::arg("cols"), nb::arg("row_stride"), nb::arg("on_device"),
        nb::arg("stream"), nb::arg("backend"), nb::arg("precision"), nb::arg("solver"),
        nb::arg("device"), nb::arg("first_rank"), nb::arg("last_rank"), nb::arg("method"),
        nb::arg("normalization"), nb::arg("deterministic"), nb::arg("resamples"), nb::arg("seed"),
        nb::arg("confidence"));
  m.def("check_options", &check_options_binding, nb::arg("backend"), nb::arg("precision"),
        nb::arg("solver"), nb::arg("first_rank"), nb::arg("last_rank"), nb::arg("method"),
        nb::arg("normalization"),
        "Raises ValueError for an option an accumulator or its report would refuse.");
  m.def("cuda_available", &cuda_available_binding,
        "(available, reason): whether the CUDA backend is built and a device can be used.");
  m.def("current_cuda_device", &current_cuda_device,
        "The calling thread's current CUDA device, or -1 without CUDA.");
  m.def("version", [] { return std::string(alphareq::version()); });
#ifdef ALPHAREQ_HAS_CUDA
  m.attr("built_with_cuda") = true;
#else
  m.attr("built_with_cuda") = false;
#endif
}
