#pragma once
// Shared by the CUDA hardening tests (cuda_hostile_numerics_test.cpp and
// cuda_concurrency_test.cpp): accumulators with the options under test, the inputs, and
// batches added from host or device memory.

#include <gtest/gtest.h>

#include <algorithm>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/synthetic.hpp>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gpu_test_support.hpp"
#include "hardening/hardening_helpers.hpp"

namespace alphareq::cuda_hardening {

using test::DeviceBuffer;
using test::expect_invalid_input;
using test::expect_report_finite;
using test::expect_same_report_bits;
using test::power_law_features;
using test::random_matrix;
using test::reference_eigenvalues;
using test::reference_fit;
using test::relative_error;
using test::same_bits;
using test::ScaledFloat32;
using test::scaled_float32_features;
using test::two_pass_covariance;
using test::zero_threshold;

constexpr AccumulationPrecision kF64 = AccumulationPrecision::float64;
constexpr AccumulationPrecision kF32 = AccumulationPrecision::float32;
constexpr AccumulationPrecision kTF32 = AccumulationPrecision::tf32;
constexpr double kFloat32Tolerance = 1e-4;  // see cuda_hostile_numerics_test.cpp

inline CovarianceAccumulator cuda_accumulator(std::int64_t d,
                                              AccumulationPrecision precision = kF64,
                                              bool deterministic = false, void* stream = nullptr,
                                              SolverPrecision solver = SolverPrecision::float64) {
  AccumulatorOptions options{Backend::cuda, precision, solver};
  options.deterministic = deterministic;
  options.stream = stream;
  return CovarianceAccumulator(d, options);
}

inline const char* name_of(AccumulationPrecision precision) {
  return precision == kF64   ? "float64 products"
         : precision == kF32 ? "float32 products"
                             : "TF32 products";
}

inline const char* name_of(MemorySpace space) {
  return space == MemorySpace::host ? "host batches" : "device batches";
}

// Adds the row-major n × d values `x` (exactly representable in `dtype`) in batches of
// `sizes` rows: from host memory (float32 or float64) or from a device buffer of `dtype`
// (`uploaded`, or a temporary copy), read on the legacy default stream.
inline void add_batches(CovarianceAccumulator& acc, const std::vector<double>& x, std::int64_t d,
                        DType dtype, MemorySpace space, const std::vector<std::int64_t>& sizes,
                        const DeviceBuffer* uploaded = nullptr) {
  std::optional<DeviceBuffer> temporary;
  if (space == MemorySpace::device && uploaded == nullptr) {
    temporary.emplace(test::upload(x, dtype));
    uploaded = &*temporary;
  }
  const std::vector<float> x32 = dtype == DType::float32 ? test::to_float(x) : std::vector<float>();
  std::int64_t first = 0;
  for (std::int64_t rows : sizes) {
    if (space == MemorySpace::device) {
      acc.add_batch(test::device_view(*uploaded, dtype, first, rows, d, d));
    } else if (dtype == DType::float32) {
      acc.add_batch(host_matrix(x32.data() + first * d, rows, d));
    } else {
      acc.add_batch(host_matrix(x.data() + first * d, rows, d));
    }
    first += rows;
  }
  // The accumulator has read the batches once the legacy stream passes them (it waits for
  // that); the temporary copy may go then.
  if (temporary) ALPHAREQ_TEST_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

}  // namespace alphareq::cuda_hardening
