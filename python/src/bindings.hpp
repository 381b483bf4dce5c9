#pragma once
// Shared helpers of the extension module alphareq._alphareq.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace alphareq::python {

/// A float64 NumPy array that takes over `values` (no copy).
nanobind::ndarray<nanobind::numpy, double> to_numpy(std::vector<double>&& values,
                                                    std::initializer_list<std::size_t> shape);

/// Every field of the report, as a dict of Python values (eigenvalues and residuals as
/// NumPy arrays); the Python layer wraps it in alphareq.Report.
nanobind::dict report_to_dict(AlphaReport&& report, Normalization normalization);

AccumulationPrecision parse_precision(const std::string& name);
SolverPrecision parse_solver(const std::string& name);
Normalization parse_normalization(const std::string& name);
FitOptions make_fit_options(std::int64_t first_rank, std::int64_t last_rank,
                            const std::string& method);
/// The view the Python layer's BatchView describes (dtype by name; stream a cudaStream_t).
MatrixView make_view(std::uintptr_t data, const std::string& dtype, std::int64_t rows,
                     std::int64_t cols, std::int64_t row_stride, bool on_device,
                     std::uintptr_t stream);

void bind_accumulator(nanobind::module_& module);
void bind_stream_order(nanobind::module_& module);

}  // namespace alphareq::python
