// alphareq._alphareq.Accumulator: the streaming accumulator behind the Python
// alphareq.Accumulator. Batches arrive as raw views (pointer, dtype, shape, row stride,
// memory space, stream) that the Python layer read from DLPack or an array interface.

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <alphareq/error.hpp>
#include <alphareq/matrix_view.hpp>
#include <mutex>
#include <utility>

#include "bindings.hpp"

#ifdef ALPHAREQ_HAS_CUDA
#include <cuda_runtime_api.h>
#endif

namespace nb = nanobind;

namespace alphareq::python {

MatrixView make_view(std::uintptr_t data, const std::string& dtype, std::int64_t rows,
                     std::int64_t cols, std::int64_t row_stride, bool on_device,
                     std::uintptr_t stream) {
  MatrixView view;
  view.data = reinterpret_cast<const void*>(data);
  view.rows = rows;
  view.cols = cols;
  view.row_stride = row_stride;
  if (dtype == "float16") {
    view.dtype = DType::float16;
  } else if (dtype == "bfloat16") {
    view.dtype = DType::bfloat16;
  } else if (dtype == "float32") {
    view.dtype = DType::float32;
  } else if (dtype == "float64") {
    view.dtype = DType::float64;
  } else {
    throw invalid_input("unsupported dtype '" + dtype +
                        "' (expected float16, bfloat16, float32 or float64)");
  }
  view.space = on_device ? MemorySpace::device : MemorySpace::host;
  view.stream = reinterpret_cast<void*>(stream);
  return view;
}

namespace {

// The device a CUDA accumulator lives on: the one asked for, else the current one.
int resolve_cuda_device(int requested) {
#ifdef ALPHAREQ_HAS_CUDA
  if (requested >= 0) return requested;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return device;
#else
  return requested;
#endif
}

// One accumulator, serialised: the GIL is released during the numerical work, so two
// Python threads could otherwise use the same C++ object at once. The GIL is released
// around every call that can wait long (allocating and zeroing D x D, waiting for the GPU
// or for another thread's call on the same accumulator), or every Python thread waits too
// (a LayerMonitor's counts() stalled the others for a whole report). Not in the destructor,
// though a CUDA one waits for its queued work there: a daemon thread that gives up the GIL
// while the interpreter exits is ended on taking it back (a forced unwind, which a
// destructor turns into std::terminate), and a destructor runs wherever an object goes.
class Accumulator {
 public:
  Accumulator(std::int64_t dim, const std::string& backend, const std::string& precision,
              const std::string& solver, int device, bool deterministic)
      : impl_(make_impl(dim, make_options(backend, precision, solver, device, deterministic))) {
    device_ = impl_.backend() == Backend::cuda ? resolve_cuda_device(device) : -1;
  }

  Accumulator(const Accumulator& other) : impl_(other.locked_copy()), device_(other.device_) {}


  void add(std::uintptr_t data, const std::string& dtype, std::int64_t rows, std::int64_t cols,
           std::int64_t row_stride, bool on_device, std::uintptr_t stream) {
    const MatrixView view = make_view(data, dtype, rows, cols, row_stride, on_device, stream);
    nb::gil_scoped_release unlocked;
    const std::lock_guard<std::mutex> lock(mutex_);
    impl_.add_batch(view);
  }

  void merge(const Accumulator& other) {
    if (&other == this) {
      // Merging with itself: a snapshot keeps the read and the write apart.
      const CovarianceAccumulator snapshot = locked_copy();
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      impl_.merge(snapshot);
      return;
    }
    nb::gil_scoped_release unlocked;
    const std::scoped_lock lock(mutex_, other.mutex_);
    impl_.merge(other.impl_);
  }

  nb::dict report(std::int64_t first_rank, std::int64_t last_rank, const std::string& method,
                  const std::string& normalization) const {
    const FitOptions fit = make_fit_options(first_rank, last_rank, method);
    const Normalization norm = parse_normalization(normalization);
    AlphaReport result;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      result = impl_.report(fit, norm);
    }
    return report_to_dict(std::move(result), norm);
  }

  nb::ndarray<nb::numpy, double> eigenvalues(const std::string& normalization) const {
    const Normalization norm = parse_normalization(normalization);
    std::vector<double> values;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      values = impl_.eigenvalues(norm);
    }
    const std::size_t d = values.size();
    return to_numpy(std::move(values), {d});
  }

  nb::ndarray<nb::numpy, double> mean() const {
    std::vector<double> values;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      values = impl_.mean();
    }
    const std::size_t d = values.size();
    return to_numpy(std::move(values), {d});
  }

  nb::ndarray<nb::numpy, double> covariance(const std::string& normalization) const {
    const Normalization norm = parse_normalization(normalization);
    std::vector<double> values;
    std::size_t d = 0;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      values = impl_.covariance(norm);
      d = static_cast<std::size_t>(impl_.dim());
    }
    return to_numpy(std::move(values), {d, d});
  }

  // The float64 state for pickling: count, mean, the second moment's column-major D × D
  // buffer as a C-ordered (D, D) array (its "upper triangle" is NumPy's lower one; only
  // round trips through merge_state read it) and whether it carries float32 rounding
  // (AccumulatorState::float32_rounded). merge_state adds such a state.
  nb::tuple state() const {
    AccumulatorState state;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard<std::mutex> lock(mutex_);
      state = impl_.state();
    }
    const std::size_t d = static_cast<std::size_t>(state.dim);
    return nb::make_tuple(state.count, to_numpy(std::move(state.mean), {d}),
                          to_numpy(std::move(state.m2_upper), {d, d}), state.float32_rounded);
  }

  void merge_state(std::int64_t count,
                   nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu> mean,
                   nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu> m2,
                   bool float32_rounded) {
    const std::int64_t d = impl_.dim();
    if (m2.shape(0) != m2.shape(1)) throw invalid_input("merge_state: the second moment is not square");
    // The arguments keep their buffers alive until the call returns: copying D x D of them
    // needs no GIL.
    nb::gil_scoped_release unlocked;
    AccumulatorState state;
    state.dim = d;
    state.count = count;
    state.mean.assign(mean.data(), mean.data() + mean.size());
    state.m2_upper.assign(m2.data(), m2.data() + m2.size());
    state.float32_rounded = float32_rounded;
    const std::lock_guard<std::mutex> lock(mutex_);
    impl_.merge_state(state);
  }

  std::int64_t dim() const { return impl_.dim(); }
  std::int64_t count() const {
    nb::gil_scoped_release unlocked;  // another thread's report may hold the mutex for seconds
    const std::lock_guard<std::mutex> lock(mutex_);
    return impl_.count();
  }
  std::string backend() const { return to_string(impl_.backend()); }
  int device() const { return device_; }

 private:
  static AccumulatorOptions make_options(const std::string& backend, const std::string& precision,
                                         const std::string& solver, int device, bool deterministic) {
    AccumulatorOptions options;
    options.backend = parse_backend(backend);
    options.precision = parse_precision(precision);
    options.solver = parse_solver(solver);
    options.device = device;
    options.deterministic = deterministic;
    return options;
  }

  static CovarianceAccumulator make_impl(std::int64_t dim, const AccumulatorOptions& options) {
    nb::gil_scoped_release unlocked;
    return CovarianceAccumulator(dim, options);
  }

  CovarianceAccumulator locked_copy() const {
    nb::gil_scoped_release unlocked;
    const std::lock_guard<std::mutex> lock(mutex_);
    return impl_;
  }

  mutable std::mutex mutex_;
  CovarianceAccumulator impl_;
  int device_ = -1;
};

}  // namespace

void bind_accumulator(nb::module_& module) {
  nb::class_<Accumulator>(module, "Accumulator", "Streaming covariance accumulator (internal).")
      .def(
          nb::init<std::int64_t, const std::string&, const std::string&, const std::string&, int,
                   bool>(),
          nb::arg("dim"), nb::arg("backend"), nb::arg("precision"), nb::arg("solver"),
          nb::arg("device"), nb::arg("deterministic") = false)
      .def("copy", [](const Accumulator& self) { return new Accumulator(self); })
      .def("add", &Accumulator::add, nb::arg("data"), nb::arg("dtype"), nb::arg("rows"),
           nb::arg("cols"), nb::arg("row_stride"), nb::arg("on_device"), nb::arg("stream"))
      .def("merge", &Accumulator::merge, nb::arg("other"))
      .def("report", &Accumulator::report, nb::arg("first_rank"), nb::arg("last_rank"),
           nb::arg("method"), nb::arg("normalization"))
      .def("eigenvalues", &Accumulator::eigenvalues, nb::arg("normalization"))
      .def("mean", &Accumulator::mean)
      .def("covariance", &Accumulator::covariance, nb::arg("normalization"))
      .def("state", &Accumulator::state)
      .def("merge_state", &Accumulator::merge_state, nb::arg("count"), nb::arg("mean"), nb::arg("m2"),
           nb::arg("float32_rounded"))
      .def_prop_ro("dim", &Accumulator::dim)
      .def_prop_ro("count", &Accumulator::count)
      .def_prop_ro("backend", &Accumulator::backend)
      .def_prop_ro("device", &Accumulator::device);
}

}  // namespace alphareq::python
