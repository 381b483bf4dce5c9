// The CUDA backend's streaming accumulator against the long-double two-pass reference and
// the CPU backend: device and host batches of every dtype, strided views, large offsets,
// the accumulation precisions, merges (across backends and devices), stream ordering, and
// NaN/Inf reporting. Every case that needs a GPU skips with a reason where there is none.

#include "float32_noise_case.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/solver_workspace.hpp"
#include "gpu_test_support.hpp"
#include "reference.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/error.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace alphareq {
namespace {

using test::DeviceBuffer;
using test::device_view;
using test::random_matrix;
using test::relative_error;
using test::rounded_to;
using test::two_pass_covariance;
using test::two_pass_mean;
using test::upload;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

CovarianceAccumulator cuda_accumulator(std::int64_t d,
                                       AccumulationPrecision precision = AccumulationPrecision::float64,
                                       int device = -1) {
  return CovarianceAccumulator(d, AccumulatorOptions{Backend::cuda, precision,
                                                     SolverPrecision::float64, device});
}

CovarianceAccumulator cpu_accumulator(std::int64_t d) {
  return CovarianceAccumulator(d, AccumulatorOptions{Backend::cpu});
}

double divisor_of(std::int64_t n, Normalization normalization) {
  return static_cast<double>(normalization == Normalization::by_n ? n : n - 1);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

using test::invalid_input_of;

// The n × d row-major `x` placed at column `first_column` of rows of `stride` elements whose
// other columns hold NaN: reading outside the view, or misplacing a row, shows.
std::vector<double> nan_padded(const std::vector<double>& x, std::int64_t n, std::int64_t d,
                               std::int64_t stride, std::int64_t first_column) {
  std::vector<double> wide(static_cast<std::size_t>(n * stride), kNaN);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c) wide[r * stride + first_column + c] = x[r * d + c];
  return wide;
}

// Adds rows [first, first + rows) of the row-major n × d host matrix `x` as a host batch
// of `dtype` (float32 or float64) from a scratch copy, and scribbles NaN over the scratch
// as soon as add_batch returns: host batches may be reused at once, so that must not
// change the result.
void add_host_batch_then_reuse_buffer(CovarianceAccumulator& acc, const std::vector<double>& x,
                                      std::int64_t d, std::int64_t first, std::int64_t rows,
                                      DType dtype) {
  const auto begin = x.begin() + first * d, end = begin + rows * d;
  if (dtype == DType::float32) {
    std::vector<float> scratch(begin, end);
    acc.add_batch(host_matrix(scratch.data(), rows, d));
    std::fill(scratch.begin(), scratch.end(), std::numeric_limits<float>::quiet_NaN());
  } else {
    std::vector<double> scratch(begin, end);
    acc.add_batch(host_matrix(scratch.data(), rows, d));
    std::fill(scratch.begin(), scratch.end(), kNaN);
  }
}

std::string split_name(const std::vector<std::int64_t>& sizes) {
  if (sizes.size() == 1) return "whole";
  if (sizes.size() > 10) return "many_small";
  return sizes.front() == 1 && sizes[1] == 1 ? "single_rows_then_rest" : "uneven";
}

// ---- availability: these run on every machine ----------------------------------------

TEST(CudaAvailability, CudaAvailableAgreesWithCudaGetDeviceCount) {
  std::string why_test;
  const bool device_present = test::cuda_device_count(&why_test) > 0;
  std::string why;
  EXPECT_EQ(cuda_available(&why), device_present) << why << " / " << why_test;
  if (!device_present) {
    EXPECT_FALSE(why.empty()) << "cuda_available() must say what is missing";
  }
  EXPECT_EQ(cuda_available(), device_present);  // `why` is optional
}

TEST(CudaAvailability, AutomaticBackendPicksCudaExactlyWhenADeviceIsPresent) {
  const bool device_present = test::cuda_device_count() > 0;
  const Backend expected = device_present ? Backend::cuda : Backend::cpu;
  std::string notice;
  EXPECT_EQ(resolve_backend(Backend::automatic, &notice), expected);
  if (!device_present) {
    EXPECT_FALSE(notice.empty()) << "falling back to the CPU must be explained";
  }
  EXPECT_EQ(CovarianceAccumulator(4, AccumulatorOptions{Backend::automatic}).backend(), expected);
  EXPECT_EQ(CovarianceAccumulator(4, AccumulatorOptions{Backend::cpu}).backend(), Backend::cpu);
}

TEST(CudaAvailability, CudaBackendWithoutDeviceThrowsBackendUnavailable) {
  std::string why;
  if (test::cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  try {
    CovarianceAccumulator acc(4, AccumulatorOptions{Backend::cuda});
    FAIL() << "no backend_unavailable thrown (" << why << ")";
  } catch (const backend_unavailable& e) {
    EXPECT_NE(lower(e.what()).find("cuda"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_backend(Backend::cuda), backend_unavailable);
}

TEST(CudaAvailability, DeviceOrdinalOutOfRangeIsRefused) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const int count = test::cuda_device_count();
  EXPECT_THROW(CovarianceAccumulator(4, AccumulatorOptions{Backend::cuda, AccumulationPrecision::float64,
                                                           SolverPrecision::float64, count}),
               alphareq::error);
}

// ---- device batches of float32/float64: uneven splits, strides, both normalisations ----

using DeviceBatchCase = std::tuple<DType, std::vector<std::int64_t>, Normalization, bool>;

class CudaDeviceBatches : public ::testing::TestWithParam<DeviceBatchCase> {};

// A strided view starts 3 columns into rows of 41 elements (so its rows are not aligned to
// more than one element) and the columns outside it hold NaN: reading any of them, or
// misplacing a row, shows.
TEST_P(CudaDeviceBatches, MatchReferenceAndCpuBackendForAnySplitStrideAndNormalisation) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto& [dtype, sizes, normalization, strided] = GetParam();
  constexpr std::int64_t n = 1000, d = 37;
  const std::int64_t stride = strided ? 41 : d, first_column = strided ? 3 : 0;
  const auto x = rounded_to(random_matrix(n, d, 11, 3.0, 2.0), dtype);
  const std::vector<double> wide = nan_padded(x, n, d, stride, first_column);
  const DeviceBuffer buffer = upload(wide, dtype);

  auto gpu = cuda_accumulator(d);
  auto cpu = cpu_accumulator(d);
  std::int64_t first = 0;
  for (std::int64_t rows : sizes) {
    gpu.add_batch(device_view(buffer, dtype, first, rows, d, stride, first_column));
    cpu.add_batch(host_matrix(x.data() + first * d, rows, d));
    first += rows;
  }
  ASSERT_EQ(first, n);
  EXPECT_EQ(gpu.count(), n);
  EXPECT_EQ(gpu.dim(), d);
  EXPECT_EQ(gpu.backend(), Backend::cuda);
  const auto covariance = gpu.covariance(normalization);
  EXPECT_LT(relative_error(covariance, two_pass_covariance(x, n, d, divisor_of(n, normalization))),
            1e-12);
  EXPECT_LT(relative_error(covariance, cpu.covariance(normalization)), 1e-12);
  EXPECT_LT(relative_error(gpu.mean(), two_pass_mean(x, n, d)), 1e-13);
  EXPECT_LT(relative_error(gpu.eigenvalues(normalization), cpu.eigenvalues(normalization)), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    DtypesSplitsNormalisationsLayouts, CudaDeviceBatches,
    ::testing::Combine(::testing::Values(DType::float32, DType::float64),
                       ::testing::Values(std::vector<std::int64_t>{1000},
                                         std::vector<std::int64_t>{1, 7, 300, 692},
                                         std::vector<std::int64_t>{1, 1, 1, 997},
                                         std::vector<std::int64_t>(40, 25)),
                       ::testing::Values(Normalization::by_n, Normalization::by_n_minus_one),
                       ::testing::Bool()),
    [](const auto& info) {
      return to_string(std::get<0>(info.param)) + "_" + split_name(std::get<1>(info.param)) +
             (std::get<2>(info.param) == Normalization::by_n ? "_by_n" : "_by_n_minus_one") +
             (std::get<3>(info.param) ? "_strided" : "_contiguous");
    });

// ---- float16 / bfloat16 device batches -------------------------------------------------

class CudaHalfPrecisionInput : public ::testing::TestWithParam<std::tuple<DType, bool>> {};

// Half-precision values are exact in float64, so with float64 accumulation the result must
// match the reference computed on the same rounded values as closely as float64 input does.
TEST_P(CudaHalfPrecisionInput, MatchesReferenceOnTheSameRoundedValues) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto [dtype, strided] = GetParam();
  constexpr std::int64_t n = 1000, d = 37;
  const std::int64_t stride = strided ? 45 : d, first_column = strided ? 5 : 0;
  const auto x = rounded_to(random_matrix(n, d, 19, 3.0, 2.0), dtype);
  const std::vector<double> wide = nan_padded(x, n, d, stride, first_column);
  const DeviceBuffer buffer = upload(wide, dtype);

  auto gpu = cuda_accumulator(d);
  auto cpu = cpu_accumulator(d);
  std::int64_t first = 0;
  for (std::int64_t rows : {1, 7, 300, 692}) {
    gpu.add_batch(device_view(buffer, dtype, first, rows, d, stride, first_column));
    cpu.add_batch(host_matrix(x.data() + first * d, rows, d));
    first += rows;
  }
  EXPECT_EQ(gpu.count(), n);
  EXPECT_LT(relative_error(gpu.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
  EXPECT_LT(relative_error(gpu.covariance(), cpu.covariance()), 1e-12);
  EXPECT_LT(relative_error(gpu.mean(), two_pass_mean(x, n, d)), 1e-13);
}

INSTANTIATE_TEST_SUITE_P(HalfDtypes, CudaHalfPrecisionInput,
                         ::testing::Combine(::testing::Values(DType::float16, DType::bfloat16),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return to_string(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_strided" : "_contiguous");
                         });

// ---- a mean far above the spread ------------------------------------------------------

struct OffsetCase {
  const char* name;
  DType dtype;
  double offset;  // the mean; the spread is 1
  MemorySpace space;
  AccumulationPrecision precision;
  double tolerance;
};

class CudaLargeOffset : public ::testing::TestWithParam<OffsetCase> {};

// Mean 1e3 × the spread in float32, 1e6 × in float64: E[x²] − E[x]² would lose most
// digits; centring in float64 keeps float64 accumulation at float64 rounding of the data
// (float32 products: float32 rounding only). Batches of 250 rows keep the rounding of the
// float32 batch products and sums (growing like eps32 · √rows, times up to (1 + z²) when
// the values are centred on a shift z standard deviations from the mean) below the stated
// 3e-5: a CPU emulation of this arithmetic (same data, 400 summation orders) gave at most
// 5.1e-6 for the float64 input rounded to float32 (median 1.3e-6), 2.6e-6 for float32 input.
TEST_P(CudaLargeOffset, CovarianceStaysRight) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const OffsetCase& c = GetParam();
  constexpr std::int64_t n = 4000, d = 20, batch = 250;
  const auto x = rounded_to(random_matrix(n, d, 9, c.offset, 1.0), c.dtype);
  const auto reference = two_pass_covariance(x, n, d, n);
  auto gpu = cuda_accumulator(d, c.precision);
  const DeviceBuffer buffer = upload(x, c.dtype);
  for (std::int64_t first = 0; first < n; first += batch) {
    if (c.space == MemorySpace::device) {
      gpu.add_batch(device_view(buffer, c.dtype, first, batch, d, d));
    } else {
      add_host_batch_then_reuse_buffer(gpu, x, d, first, batch, c.dtype);
    }
  }
  EXPECT_LT(relative_error(gpu.covariance(), reference), c.tolerance);
  EXPECT_LT(relative_error(gpu.mean(), two_pass_mean(x, n, d)), c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    OffsetsAndPrecisions, CudaLargeOffset,
    ::testing::Values(
        OffsetCase{"float32_1e3_device", DType::float32, 1e3, MemorySpace::device,
                   AccumulationPrecision::float64, 1e-12},
        OffsetCase{"float32_1e3_host", DType::float32, 1e3, MemorySpace::host,
                   AccumulationPrecision::float64, 1e-12},
        OffsetCase{"float32_1e3_device_float32_products", DType::float32, 1e3, MemorySpace::device,
                   AccumulationPrecision::float32, 3e-5},
        OffsetCase{"float64_1e6_device", DType::float64, 1e6, MemorySpace::device,
                   AccumulationPrecision::float64, 1e-9},
        OffsetCase{"float64_1e6_host", DType::float64, 1e6, MemorySpace::host,
                   AccumulationPrecision::float64, 1e-9},
        OffsetCase{"float64_1e6_device_float32_products", DType::float64, 1e6, MemorySpace::device,
                   AccumulationPrecision::float32, 3e-5}),
    [](const auto& info) { return std::string(info.param.name); });

// The fixed shift is the first chunk's mean, not its first sample: a first sample 50
// standard deviations out (an outlier, as heavy-tailed activations give) would multiply the
// float32 products' rounding by about 1 + 50² through the cancellation of Σ y yᵀ − S Sᵀ / n.
// A CPU emulation of this arithmetic (float32 products and sums accumulated sequentially,
// 20 seeds) gave at most 6.0e-4 with the first sample as the shift and 8.6e-7 with the
// first batch's mean; 2e-5 tells them apart with a margin of 20 and more.
TEST(CudaAccumulator, Float32ProductsStayAccurateWhenTheFirstSampleIsAnOutlier) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 20, batch = 250;
  auto x = random_matrix(n, d, 23, 1e3, 1.0);
  for (std::int64_t c = 0; c < d; ++c) x[c] = 1e3 + 50.0;
  x = rounded_to(x, DType::float32);
  const auto reference = two_pass_covariance(x, n, d, n);
  const DeviceBuffer buffer = upload(x, DType::float32);
  for (const MemorySpace space : {MemorySpace::device, MemorySpace::host}) {
    SCOPED_TRACE(space == MemorySpace::device ? "device" : "host");
    auto gpu = cuda_accumulator(d, AccumulationPrecision::float32);
    for (std::int64_t first = 0; first < n; first += batch) {
      if (space == MemorySpace::device) {
        gpu.add_batch(device_view(buffer, DType::float32, first, batch, d, d));
      } else {
        add_host_batch_then_reuse_buffer(gpu, x, d, first, batch, DType::float32);
      }
    }
    EXPECT_LT(relative_error(gpu.covariance(), reference), 2e-5);
  }
}

// ---- host batches through the staging buffers -----------------------------------------

class CudaHostBatches
    : public ::testing::TestWithParam<std::tuple<DType, std::tuple<std::int64_t, std::int64_t>>> {};

// Batches from within one staging chunk (32 MiB) to several (the larger shapes hold over
// 100 MB of float64: four chunks, so both slots are reused); the host buffer is overwritten
// with NaN as soon as each add_batch returns. Tolerances: both sides are float64, but a
// column sum over 50,000–200,000 rows in one sequential order (as a GEMV may run) differs
// from the CPU's by up to ~1e-13 of the mean (emulated: 9.7e-14), the covariance by up to
// 3.4e-13; 5e-13 and 3e-12 leave a margin of 5–9 for any summation order.
TEST_P(CudaHostBatches, SpanningSeveralStagingChunksMatchCpuBackend) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto [dtype, shape] = GetParam();
  const auto [n, d] = shape;
  const auto x = rounded_to(random_matrix(n, d, 61, 1.0, 2.0), dtype);
  auto gpu = cuda_accumulator(d);
  auto cpu = cpu_accumulator(d);
  // A 7-row batch, then one big batch, then the remaining 1000 rows.
  const std::int64_t big = n - 7 - 1000;
  add_host_batch_then_reuse_buffer(gpu, x, d, 0, 7, dtype);
  add_host_batch_then_reuse_buffer(gpu, x, d, 7, big, dtype);
  add_host_batch_then_reuse_buffer(gpu, x, d, 7 + big, 1000, dtype);
  cpu.add_batch(host_matrix(x.data(), n, d));
  EXPECT_EQ(gpu.count(), n);
  EXPECT_LT(relative_error(gpu.covariance(), cpu.covariance()), 3e-12);
  EXPECT_LT(relative_error(gpu.mean(), cpu.mean()), 5e-13);
}

INSTANTIATE_TEST_SUITE_P(
    DtypesAndShapes, CudaHostBatches,
    ::testing::Combine(::testing::Values(DType::float32, DType::float64),
                       ::testing::Values(std::make_tuple(std::int64_t{50000}, std::int64_t{64}),
                                         std::make_tuple(std::int64_t{3000}, std::int64_t{700}),
                                         std::make_tuple(std::int64_t{200000}, std::int64_t{64}),
                                         std::make_tuple(std::int64_t{20000}, std::int64_t{700}))),
    [](const auto& info) {
      return to_string(std::get<0>(info.param)) + "_n" +
             std::to_string(std::get<0>(std::get<1>(info.param))) + "_d" +
             std::to_string(std::get<1>(std::get<1>(info.param)));
    });

// Page-locked host batches skip the packing and are copied straight from the caller's
// memory: contiguous and strided (NaN padding around the view), over four staging chunks
// (of 32 MiB / (8 · 96) = 43690 rows) so that both device slots are reused, and the memory
// scribbled over with NaN as soon as add_batch returns.
TEST(CudaHostBatches, PageLockedBatchesAreCopiedDirectlyAndMayBeReusedOnReturn) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 140000, d = 96, stride = 101, first_column = 3;
  const auto x = random_matrix(n, d, 67, 2.0, 1.5);
  const auto wide = nan_padded(x, n, d, stride, first_column);
  test::PinnedBuffer contiguous(x.size() * sizeof(double)), strided(wide.size() * sizeof(double));
  auto* contiguous_data = static_cast<double*>(contiguous.get());
  auto* strided_data = static_cast<double*>(strided.get());
  std::copy(x.begin(), x.end(), contiguous_data);
  std::copy(wide.begin(), wide.end(), strided_data);

  auto from_contiguous = cuda_accumulator(d);
  from_contiguous.add_batch(host_matrix(contiguous_data, n, d));
  std::fill(contiguous_data, contiguous_data + x.size(), kNaN);
  auto from_strided = cuda_accumulator(d);
  from_strided.add_batch(host_matrix(strided_data + first_column, n, d, stride));
  std::fill(strided_data, strided_data + wide.size(), kNaN);
  auto cpu = cpu_accumulator(d);
  cpu.add_batch(host_matrix(x.data(), n, d));

  for (const CovarianceAccumulator* gpu : {&from_contiguous, &from_strided}) {
    EXPECT_EQ(gpu->count(), n);
    EXPECT_LT(relative_error(gpu->covariance(), cpu.covariance()), 1e-12);
    EXPECT_LT(relative_error(gpu->mean(), cpu.mean()), 1e-13);
  }
}

// One device batch of 150000 strided rows (over 40 MB): more rows than one pass of any
// reasonable scratch buffer, so the batch is consumed in pieces; the padding holds NaN.
// Summation order over 150,000 rows: covariance emulated at up to 3.0e-13 from the CPU's,
// the mean 2.7e-14 (the tolerances as for CudaHostBatches).
TEST(CudaAccumulator, DeviceBatchLargerThanTheScratchMatchesCpuBackend) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 150000, d = 64, stride = 67, first_column = 2;
  const auto x = rounded_to(random_matrix(n, d, 103, 0.5, 1.5), DType::float32);
  const std::vector<double> wide = nan_padded(x, n, d, stride, first_column);
  const DeviceBuffer buffer = upload(wide, DType::float32);
  auto gpu = cuda_accumulator(d);
  gpu.add_batch(device_view(buffer, DType::float32, 0, n, d, stride, first_column));
  auto cpu = cpu_accumulator(d);
  cpu.add_batch(host_matrix(x.data(), n, d));
  EXPECT_EQ(gpu.count(), n);
  EXPECT_LT(relative_error(gpu.covariance(), cpu.covariance()), 3e-12);
  EXPECT_LT(relative_error(gpu.mean(), cpu.mean()), 5e-13);
}

TEST(CudaAccumulator, MixedHostAndDeviceBatchesMatchReference) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1000, d = 29;
  // float32-representable values, so that every dtype carries them exactly.
  const auto x = rounded_to(random_matrix(n, d, 67, -2.0, 3.0), DType::float32);
  const DeviceBuffer as_float = upload(x, DType::float32);
  const DeviceBuffer as_double = upload(x, DType::float64);
  auto gpu = cuda_accumulator(d);
  add_host_batch_then_reuse_buffer(gpu, x, d, 0, 10, DType::float64);
  gpu.add_batch(device_view(as_float, DType::float32, 10, 490, d, d));
  add_host_batch_then_reuse_buffer(gpu, x, d, 500, 1, DType::float32);
  gpu.add_batch(device_view(as_double, DType::float64, 501, 499, d, d));
  EXPECT_EQ(gpu.count(), n);
  EXPECT_LT(relative_error(gpu.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
}

// ---- accumulation precision: float32 and TF32 products --------------------------------

class CudaAccumulationPrecision
    : public ::testing::TestWithParam<std::tuple<AccumulationPrecision, MemorySpace>> {};

// float32 products: float32 rounding of the centred values and of each 250-row product,
// summed into float64: stated as 3e-5 relative (a CPU emulation over 400 summation orders
// gave at most 3.4e-6, median 7.8e-7). TF32: each centred value is rounded to TF32 (10
// mantissa bits, to nearest) before the product and the column sums alike; an emulation of
// this shape (the 'tf32' mode of bench/emulate_tf32_products.py, 50 seeds) gave at most
// 4.4e-5; stated as 1e-3, about TF32's 2^-10 per product term. The mean is held to the
// same stated tolerance (the contract gives one per precision mode, not a separate one for
// the mean).
TEST_P(CudaAccumulationPrecision, StaysWithinItsStatedTolerance) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const auto [precision, space] = GetParam();
  constexpr std::int64_t n = 4000, d = 32, batch = 250;
  const auto x = rounded_to(random_matrix(n, d, 71, 3.0, 2.0), DType::float32);
  const DeviceBuffer buffer = upload(x, DType::float32);
  auto gpu = cuda_accumulator(d, precision);
  for (std::int64_t first = 0; first < n; first += batch) {
    if (space == MemorySpace::device) {
      gpu.add_batch(device_view(buffer, DType::float32, first, batch, d, d));
    } else {
      add_host_batch_then_reuse_buffer(gpu, x, d, first, batch, DType::float32);
    }
  }
  const double tolerance = precision == AccumulationPrecision::tf32 ? 1e-3 : 3e-5;
  EXPECT_LT(relative_error(gpu.covariance(), two_pass_covariance(x, n, d, n)), tolerance);
  EXPECT_LT(relative_error(gpu.mean(), two_pass_mean(x, n, d)), tolerance);
  EXPECT_EQ(gpu.count(), n);
}

INSTANTIATE_TEST_SUITE_P(
    Precisions, CudaAccumulationPrecision,
    ::testing::Combine(::testing::Values(AccumulationPrecision::float32, AccumulationPrecision::tf32),
                       ::testing::Values(MemorySpace::device, MemorySpace::host)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == AccumulationPrecision::tf32 ? "tf32" : "float32") +
             (std::get<1>(info.param) == MemorySpace::device ? "_device" : "_host");
    });

// TF32 rounds each centred value to 10 mantissa bits, but the product is still the Gram
// matrix of the rounded data: a direction the data lacks gets only the rounding's own
// variance (2^-22 of the spread), and each eigenvalue moves by at most ~2^-10 of itself.
// So TF32's floor lies far below the float32 threshold λ_1 · D · ε32 the fit counts rank
// with. 96 rank-1.5 power-law features plus 160 exact linear combinations of them (rank 96
// in D 256): emulated on the CPU (bench/emulate_tf32_products.py, 5 seeds), the 97th
// eigenvalue was at most 1.9e-8 λ_1 with TF32 products, against the threshold's 3.1e-5 λ_1,
// and α moved by ≤ 1e-5. Expectation: the numerical rank is 96 for float32 and TF32 products, and their α
// agrees with the float64 products' within 1e-3.
TEST(CudaTf32Products, RoundingStaysBelowTheRankThreshold) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, rank = 96, d = 256;
  const std::vector<double> basis = test::offset_power_law_features(n, rank, 1.5, 37, 3.0);
  const std::vector<double> mixing = random_matrix(rank, d - rank, 38, 0.0, 0.1);
  std::vector<double> x(static_cast<std::size_t>(n * d), 0.0);
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < rank; ++c) x[r * d + c] = basis[r * rank + c];
    for (std::int64_t c = rank; c < d; ++c)
      for (std::int64_t k = 0; k < rank; ++k) x[r * d + c] += basis[r * rank + k] * mixing[k * (d - rank) + (c - rank)];
  }
  const DeviceBuffer buffer = upload(x, DType::float32);
  FitOptions window;
  window.last_rank = 90;
  const auto report_of = [&](AccumulationPrecision precision) {
    auto acc = cuda_accumulator(d, precision);
    for (std::int64_t first = 0; first < n; first += 1000)
      acc.add_batch(device_view(buffer, DType::float32, first, 1000, d, d));
    return acc.report(window);
  };
  const AlphaReport exact = report_of(AccumulationPrecision::float64);
  for (const AccumulationPrecision precision : {AccumulationPrecision::float32, AccumulationPrecision::tf32}) {
    SCOPED_TRACE(precision == AccumulationPrecision::tf32 ? "tf32" : "float32");
    const AlphaReport rounded = report_of(precision);
    EXPECT_EQ(rounded.metrics.numerical_rank, rank);
    EXPECT_EQ(rounded.fit.rank_limit, rank);
    EXPECT_FALSE(rounded.fit.clipped);
    EXPECT_NEAR(rounded.fit.alpha, exact.fit.alpha, 1e-3);
  }
}

// The column sums must see the values the TF32 product multiplies: M2 = Σ y yᵀ − S Sᵀ / n
// cancels ((shift − mean) / spread)² of its size, and a mismatch between the two survives
// that (core/tf32_rounding.hpp). A first batch of one sample 20 spreads out makes it the
// shift. Emulated (bench/emulate_tf32_products.py --scenario outlier-shift, 8 seeds), the
// largest covariance error relative to the largest variance was 2.8e-4 to 4.2e-4 with the
// inputs rounded to TF32 for both, against 4.6e-3 to 6.9e-3 (tensor cores rounding) and
// 0.28 (truncating) when only the product saw rounded values. Stated as 1.5e-3.
TEST(CudaTf32Products, ColumnSumsSeeTheValuesTheProductsUse) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 32, batch = 250;
  std::vector<double> x = random_matrix(n, d, 83, 3.0, 1.0);
  for (std::int64_t c = 0; c < d; ++c) x[c] = 3.0 + 20.0;
  x = rounded_to(x, DType::float32);
  const DeviceBuffer buffer = upload(x, DType::float32);
  auto acc = cuda_accumulator(d, AccumulationPrecision::tf32);
  acc.add_batch(device_view(buffer, DType::float32, 0, 1, d, d));
  for (std::int64_t first = 1; first < n; first += batch)
    acc.add_batch(device_view(buffer, DType::float32, first, std::min(batch, n - first), d, d));
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1.5e-3);
}

// ---- merges -------------------------------------------------------------------------

TEST(CudaMerge, MergeOfUnevenCudaPartsEqualsOneAccumulator) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1200, d = 31;
  const auto x = random_matrix(n, d, 13, 50.0, 3.0);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto a = cuda_accumulator(d), b = cuda_accumulator(d), c = cuda_accumulator(d);
  a.add_batch(device_view(buffer, DType::float64, 0, 3, d, d));
  a.add_batch(device_view(buffer, DType::float64, 3, 200, d, d));
  b.add_batch(device_view(buffer, DType::float64, 203, 1, d, d));
  c.add_batch(device_view(buffer, DType::float64, 204, 500, d, d));
  add_host_batch_then_reuse_buffer(c, x, d, 704, 496, DType::float64);
  a.merge(b);
  a.merge(c);
  EXPECT_EQ(a.count(), n);
  EXPECT_LT(relative_error(a.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
  EXPECT_LT(relative_error(a.mean(), two_pass_mean(x, n, d)), 1e-13);
  EXPECT_EQ(b.count(), 1);  // the merged-in accumulators are unchanged
  EXPECT_EQ(c.count(), 996);
  EXPECT_LT(relative_error(c.covariance(), two_pass_covariance(
                                               std::vector<double>(x.begin() + 204 * d, x.end()),
                                               996, d, 996)),
            1e-12);
}

TEST(CudaMerge, CpuAccumulatorMergesIntoCuda) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1000, d = 23;
  const auto x = random_matrix(n, d, 73, 5.0, 2.0);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto gpu = cuda_accumulator(d);
  gpu.add_batch(device_view(buffer, DType::float64, 0, 400, d, d));
  auto cpu = cpu_accumulator(d);
  cpu.add_batch(host_matrix(x.data() + 400 * d, 600, d));
  gpu.merge(cpu);
  EXPECT_EQ(gpu.backend(), Backend::cuda);
  EXPECT_EQ(gpu.count(), n);
  EXPECT_LT(relative_error(gpu.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
  EXPECT_LT(relative_error(gpu.mean(), two_pass_mean(x, n, d)), 1e-13);
  EXPECT_EQ(cpu.count(), 600);
}

// state() and merges form the moments in the float64 solver's matrix (no further D × D
// buffer), or in a buffer of their own beside a float32 solver: a report before, between and
// after them gives the same bits, and the exported state is the data's.
TEST(CudaMerge, StateAndMergesLeaveLaterReportsAlone) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1500, d = 40;
  const auto x = random_matrix(n, d, 113, 2.0, 1.5);
  const DeviceBuffer buffer = upload(x, DType::float64);
  for (const SolverPrecision solver : {SolverPrecision::float64, SolverPrecision::float32}) {
    SCOPED_TRACE(solver == SolverPrecision::float64 ? "float64 solver" : "float32 solver");
    AccumulatorOptions options{Backend::cuda, AccumulationPrecision::float64, solver};
    CovarianceAccumulator acc(d, options);
    acc.add_batch(device_view(buffer, DType::float64, 0, 1000, d, d));
    const FitOptions window{FitMethod::weighted, 2, 30};
    const AlphaReport before = acc.report(window);
    const AccumulatorState state = acc.state();
    EXPECT_EQ(acc.report(window).eigenvalues, before.eigenvalues);
    EXPECT_EQ(state.count, 1000);
    auto cpu = cpu_accumulator(d);
    cpu.add_batch(host_matrix(x.data(), 1000, d));
    const AccumulatorState reference = cpu.state();
    const auto upper_triangle = [&](std::vector<double> m2) {  // column-major: (r, c) at c·d + r
      for (std::int64_t c = 0; c < d; ++c)
        for (std::int64_t r = c + 1; r < d; ++r) m2[c * d + r] = 0.0;
      return m2;
    };
    EXPECT_LT(relative_error(upper_triangle(state.m2_upper), upper_triangle(reference.m2_upper)), 1e-12);
    EXPECT_LT(relative_error(state.mean, reference.mean), 1e-13);
    auto rest = cpu_accumulator(d);
    rest.add_batch(host_matrix(x.data() + 1000 * d, n - 1000, d));
    acc.merge(rest);
    EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
    const AlphaReport merged = acc.report(window);
    acc.state();
    EXPECT_EQ(acc.report(window).eigenvalues, merged.eigenvalues);
  }
}

TEST(CudaMerge, CudaAccumulatorMergesIntoCpu) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1000, d = 23;
  const auto x = random_matrix(n, d, 79, -5.0, 2.0);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto gpu = cuda_accumulator(d);
  gpu.add_batch(device_view(buffer, DType::float64, 400, 600, d, d));
  auto cpu = cpu_accumulator(d);
  cpu.add_batch(host_matrix(x.data(), 400, d));
  cpu.merge(gpu);
  EXPECT_EQ(cpu.backend(), Backend::cpu);
  EXPECT_EQ(cpu.count(), n);
  EXPECT_LT(relative_error(cpu.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
  EXPECT_LT(relative_error(cpu.mean(), two_pass_mean(x, n, d)), 1e-13);
  EXPECT_EQ(gpu.count(), 600);
  // The CUDA accumulator keeps working after being read by a merge.
  gpu.add_batch(device_view(buffer, DType::float64, 0, 400, d, d));
  EXPECT_LT(relative_error(gpu.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
}

// A float32/TF32 state carries float32 rounding near 1e-7 λ_1 (AccumulatorState::
// float32_rounded); whichever backend merges it counts numerical zeros with float32's ε from
// then on (tests/cpu/compute_alpha_test.cpp: a float64 root fitted α 3.85 for 5.00 on that
// noise). A rotated i^-5 spectrum: float64 everywhere fits 5; a float32 CUDA worker merged
// into a float64 CPU root, and a float32 CPU worker merged into a float64 CUDA root, refuse
// the window naming the threshold, as the worker itself does.
TEST(CudaMerge, Float32StatesKeepFloat32sRankThresholdAcrossBackends) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const SyntheticSpec spec = test::steep_spectrum_under_float32_noise();
  const auto x = synthetic_power_law_features(spec);
  const MatrixView view = host_matrix(x.data(), spec.n, spec.d);
  auto exact = cuda_accumulator(spec.d);
  exact.add_batch(view);
  EXPECT_FALSE(exact.state().float32_rounded);
  EXPECT_NEAR(exact.report().fit.alpha, 5.0, 0.1);

  auto gpu_worker = cuda_accumulator(spec.d, AccumulationPrecision::float32);
  gpu_worker.add_batch(view);
  test::expect_refused_at_the_float32_threshold(gpu_worker, "the float32 CUDA worker");
  auto cpu_root = cpu_accumulator(spec.d);
  cpu_root.merge(gpu_worker);
  test::expect_refused_at_the_float32_threshold(cpu_root,
                                                "a float32 CUDA state merged into a float64 CPU accumulator");

  CovarianceAccumulator cpu_worker(spec.d, AccumulatorOptions{Backend::cpu, AccumulationPrecision::float32});
  cpu_worker.add_batch(view);
  auto gpu_root = cuda_accumulator(spec.d);
  gpu_root.merge(cpu_worker);
  test::expect_refused_at_the_float32_threshold(gpu_root,
                                                "a float32 CPU state merged into a float64 CUDA accumulator");
  test::expect_refused_at_the_float32_threshold(CovarianceAccumulator(gpu_root), "its copy");
}

TEST(CudaMerge, MergingWithItselfDoublesCountAndKeepsCovariance) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 300, d = 8;
  const auto x = random_matrix(n, d, 23, 2.0, 1.0);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(d);
  acc.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  const auto covariance = acc.covariance();
  const auto mean = acc.mean();
  acc.merge(acc);
  EXPECT_EQ(acc.count(), 2 * n);
  EXPECT_LT(relative_error(acc.covariance(), covariance), 1e-13);
  EXPECT_LT(relative_error(acc.mean(), mean), 1e-14);
}

TEST(CudaMerge, MergingEmptyAccumulatorsChangesNothingAndIntoEmptyCopies) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 50, d = 6;
  const auto x = random_matrix(n, d, 29, 1.0, 1.0);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(d);
  acc.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  const auto before = acc.covariance();
  acc.merge(cuda_accumulator(d));
  acc.merge(cpu_accumulator(d));
  EXPECT_EQ(acc.count(), n);
  EXPECT_LT(relative_error(acc.covariance(), before), 1e-14);
  auto empty = cuda_accumulator(d);
  empty.merge(acc);
  EXPECT_EQ(empty.count(), n);
  EXPECT_LT(relative_error(empty.covariance(), before), 1e-13);
  EXPECT_LT(relative_error(empty.mean(), acc.mean()), 1e-14);
}

TEST(CudaMerge, CopiesAreIndependent) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 40, d = 5;
  const auto x = random_matrix(n, d, 37);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto original = cuda_accumulator(d);
  original.add_batch(device_view(buffer, DType::float64, 0, 20, d, d));
  auto copy = original;
  copy.add_batch(device_view(buffer, DType::float64, 20, 20, d, d));
  EXPECT_EQ(original.count(), 20);
  EXPECT_EQ(copy.count(), 40);
  EXPECT_EQ(copy.backend(), Backend::cuda);
  EXPECT_LT(relative_error(original.covariance(), two_pass_covariance(x, 20, d, 20)), 1e-12);
  EXPECT_LT(relative_error(copy.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
}

TEST(CudaMerge, AccumulatorsOnTwoDevicesMergeBothWays) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const int count = test::cuda_device_count();
  if (count < 2) GTEST_SKIP() << "needs 2 CUDA devices, this machine has " << count;
  constexpr std::int64_t n = 900, d = 27;
  const auto x = random_matrix(n, d, 83, 4.0, 2.0);
  // Each accumulator reads a buffer that lives on its own device.
  auto on0 = cuda_accumulator(d, AccumulationPrecision::float64, 0);
  auto on1 = cuda_accumulator(d, AccumulationPrecision::float64, 1);
  std::vector<double> first(x.begin(), x.begin() + 300 * d), second(x.begin() + 300 * d, x.end());
  DeviceBuffer buffer0 = [&] {
    const test::ScopedDevice device(0);
    return upload(first, DType::float64);
  }();
  DeviceBuffer buffer1 = [&] {
    const test::ScopedDevice device(1);
    return upload(second, DType::float64);
  }();
  {
    const test::ScopedDevice device(0);  // the current device is not the accumulator's
    on1.add_batch(device_view(buffer1, DType::float64, 0, 600, d, d));
  }
  {
    const test::ScopedDevice device(1);
    on0.add_batch(device_view(buffer0, DType::float64, 0, 300, d, d));
  }
  const auto reference = two_pass_covariance(x, n, d, n);
  auto forward = on0;
  forward.merge(on1);
  auto backward = on1;
  backward.merge(on0);
  EXPECT_EQ(forward.count(), n);
  EXPECT_EQ(backward.count(), n);
  EXPECT_LT(relative_error(forward.covariance(), reference), 1e-12);
  EXPECT_LT(relative_error(backward.covariance(), reference), 1e-12);
  EXPECT_LT(relative_error(forward.eigenvalues(), backward.eigenvalues()), 1e-12);
}

// ---- the caller's stream ---------------------------------------------------------------

void CUDART_CB sleep_100_ms(void*) { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

// On a non-blocking stream (no implicit ordering with the default stream): a host
// function holds the stream for 100 ms, then batch 1 is copied in, added, overwritten by
// batch 2 (a different matrix), added, and overwritten by 0xFF bytes (NaN). All of it is
// queued before the first copy has even run, so the result is right only if the
// accumulator reads each batch after the work before add_batch on that stream and before
// the work after it. The test does not synchronise the stream before asking for results.
TEST(CudaStreams, BatchesAreReadInTheCallersStreamOrder) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 2000, d = 48;
  const auto x = rounded_to(random_matrix(n, d, 89, 1.0, 2.0), DType::float32);
  const auto y = rounded_to(random_matrix(n, d, 97, -3.0, 0.5), DType::float32);
  const std::size_t bytes = static_cast<std::size_t>(n * d) * sizeof(float);
  test::PinnedBuffer pinned_x(bytes), pinned_y(bytes);
  const auto x_bytes = test::encode(x, DType::float32), y_bytes = test::encode(y, DType::float32);
  std::memcpy(pinned_x.get(), x_bytes.data(), bytes);
  std::memcpy(pinned_y.get(), y_bytes.data(), bytes);
  DeviceBuffer buffer(bytes);
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemset(buffer.get(), 0xFF, bytes));  // NaN until batch 1 lands
  ALPHAREQ_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  test::CudaStream stream;

  auto acc = cuda_accumulator(d);
  ALPHAREQ_TEST_CUDA_CHECK(cudaLaunchHostFunc(stream.get(), sleep_100_ms, nullptr));
  ALPHAREQ_TEST_CUDA_CHECK(
      cudaMemcpyAsync(buffer.get(), pinned_x.get(), bytes, cudaMemcpyHostToDevice, stream.get()));
  acc.add_batch(device_view(buffer, DType::float32, 0, n, d, d, 0, stream.handle()));
  ALPHAREQ_TEST_CUDA_CHECK(
      cudaMemcpyAsync(buffer.get(), pinned_y.get(), bytes, cudaMemcpyHostToDevice, stream.get()));
  acc.add_batch(device_view(buffer, DType::float32, 0, n, d, d, 0, stream.handle()));
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemsetAsync(buffer.get(), 0xFF, bytes, stream.get()));

  std::vector<double> both(x);
  both.insert(both.end(), y.begin(), y.end());
  EXPECT_EQ(acc.count(), 2 * n);
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(both, 2 * n, d, 2 * n)), 1e-12);
  EXPECT_LT(relative_error(acc.mean(), two_pass_mean(both, 2 * n, d)), 1e-13);
  stream.synchronize();  // before the buffers are freed
}

// The same on the legacy default stream (MatrixView::stream = nullptr), with the batch
// produced by an asynchronous copy.
TEST(CudaStreams, DefaultStreamBatchesFollowWorkQueuedBeforeThem) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 1500, d = 40;
  const auto x = random_matrix(n, d, 101, 2.0, 1.0);
  const std::size_t bytes = static_cast<std::size_t>(n * d) * sizeof(double);
  test::PinnedBuffer pinned(bytes);
  std::memcpy(pinned.get(), x.data(), bytes);
  DeviceBuffer buffer(bytes);
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemset(buffer.get(), 0xFF, bytes));
  ALPHAREQ_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  auto acc = cuda_accumulator(d);
  ALPHAREQ_TEST_CUDA_CHECK(cudaLaunchHostFunc(nullptr, sleep_100_ms, nullptr));
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemcpyAsync(buffer.get(), pinned.get(), bytes, cudaMemcpyHostToDevice, nullptr));
  acc.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemsetAsync(buffer.get(), 0xFF, bytes, nullptr));
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
  ALPHAREQ_TEST_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

// Two GPUs: managed memory written by device 1's work, on a stream of device 1, is read by an
// accumulator of device 0 in that stream's order. An event must be recorded on a stream of
// its own device, so the order goes through an event of device 1 (caller_stream_order.hpp);
// with the accumulator's event it failed with cudaErrorInvalidResourceHandle. As above, a
// host function holds the stream, the batch is copied in after it, and overwritten with
// NaN right after add_batch. And a stream of device 1 as AccumulatorOptions::stream of an
// accumulator of device 0 is refused, naming both devices, where the first launch on it
// failed with an opaque CUDA error.
TEST(CudaStreams, AStreamOfAnotherDeviceOrdersTheReadsOrIsRefused) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const int count = test::cuda_device_count();
  if (count < 2) GTEST_SKIP() << "needs 2 CUDA devices, this machine has " << count;
  constexpr std::int64_t n = 1200, d = 36;
  const auto x = random_matrix(n, d, 107, 1.5, 2.0);
  const std::size_t bytes = static_cast<std::size_t>(n * d) * sizeof(double);
  test::PinnedBuffer pinned(bytes);
  std::memcpy(pinned.get(), x.data(), bytes);
  void* managed = nullptr;
  ALPHAREQ_TEST_CUDA_CHECK(cudaMallocManaged(&managed, bytes));
  const test::ScopedDevice on_device_0(0);
  auto acc = cuda_accumulator(d, AccumulationPrecision::float64, 0);
  {
    const test::ScopedDevice on_device_1(1);
    test::CudaStream stream;  // of device 1
    ALPHAREQ_TEST_CUDA_CHECK(cudaLaunchHostFunc(stream.get(), sleep_100_ms, nullptr));
    ALPHAREQ_TEST_CUDA_CHECK(cudaMemcpyAsync(managed, pinned.get(), bytes, cudaMemcpyHostToDevice, stream.get()));
    MatrixView view{managed, n, d, d, DType::float64, MemorySpace::device, stream.handle()};
    {
      const test::ScopedDevice back_on_device_0(0);  // the caller's current device is irrelevant
      acc.add_batch(view);
    }
    ALPHAREQ_TEST_CUDA_CHECK(cudaMemsetAsync(managed, 0xFF, bytes, stream.get()));
    EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
    stream.synchronize();

    AccumulatorOptions options{Backend::cuda};
    options.device = 0;
    options.stream = stream.handle();
    const std::string message = invalid_input_of([&] { CovarianceAccumulator refused(d, options); });
    EXPECT_NE(message.find("AccumulatorOptions::stream is a stream of device 1, but the work runs "
                           "on device 0"), std::string::npos) << message;
  }
  ALPHAREQ_TEST_CUDA_CHECK(cudaFree(managed));
}

// ---- NaN / Inf -------------------------------------------------------------------------

class CudaNonFinite : public ::testing::TestWithParam<DType> {};

// 35 rows of 7 features in three device batches (12, 18, 5 rows). Returns the accumulator
// after adding them; `bad` lists (global row, column, value) to plant.
CovarianceAccumulator accumulator_with_planted_values(
    DType dtype, const std::vector<std::tuple<std::int64_t, std::int64_t, double>>& bad,
    std::vector<DeviceBuffer>& keep_alive) {
  constexpr std::int64_t d = 7;
  auto x = random_matrix(35, d, 41);
  for (const auto& [row, column, value] : bad) x[row * d + column] = value;
  keep_alive.push_back(upload(x, dtype));
  const DeviceBuffer& buffer = keep_alive.back();
  auto acc = cuda_accumulator(d);
  // Device batches are checked on the device: add_batch does not wait for the verdict.
  EXPECT_NO_THROW(acc.add_batch(device_view(buffer, dtype, 0, 12, d, d)));
  EXPECT_NO_THROW(acc.add_batch(device_view(buffer, dtype, 12, 18, d, d)));
  EXPECT_NO_THROW(acc.add_batch(device_view(buffer, dtype, 30, 5, d, d)));
  return acc;
}

// The first non-finite element in row-major order over all rows added is named, with its
// global row: a NaN at (17, 3) comes before an Inf later in row 17, a −Inf in an earlier
// column of a later row and a NaN in the next batch. Every call that returns results
// reports it, and count() still counts the rows.
TEST_P(CudaNonFinite, NaNIsReportedWithGlobalRowAndColumnByEveryResultCall) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const DType dtype = GetParam();
  const std::vector<std::tuple<std::int64_t, std::int64_t, double>> bad = {
      {17, 3, kNaN}, {17, 5, kInf}, {21, 0, -kInf}, {30, 0, kNaN}};
  const std::string expected = "NaN in the features at row 17, column 3";
  std::vector<DeviceBuffer> buffers;
  {
    auto acc = accumulator_with_planted_values(dtype, bad, buffers);
    EXPECT_EQ(acc.count(), 35);
    const std::string message = invalid_input_of([&] { acc.report(FitOptions{FitMethod::weighted, 1, 5}); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(acc.count(), 35);
  }
  {
    auto acc = accumulator_with_planted_values(dtype, bad, buffers);
    const std::string message = invalid_input_of([&] { acc.eigenvalues(); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  {
    auto acc = accumulator_with_planted_values(dtype, bad, buffers);
    const std::string message = invalid_input_of([&] { acc.covariance(); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  {
    auto acc = accumulator_with_planted_values(dtype, bad, buffers);
    const std::string message = invalid_input_of([&] { acc.mean(); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

// An Inf that comes first in row-major order is the one named, even with a NaN after it.
TEST_P(CudaNonFinite, InfBeforeNaNIsTheOneNamed) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const DType dtype = GetParam();
  std::vector<DeviceBuffer> buffers;
  auto acc = accumulator_with_planted_values(dtype, {{14, 6, -kInf}, {15, 0, kNaN}, {33, 2, kNaN}},
                                             buffers);
  const std::string message = invalid_input_of([&] { acc.covariance(); });
  EXPECT_NE(message.find("Inf in the features at row 14, column 6"), std::string::npos) << message;
  EXPECT_EQ(message.find("NaN in the features"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaNonFinite,
                         ::testing::Values(DType::float16, DType::bfloat16, DType::float32,
                                           DType::float64),
                         [](const auto& info) { return to_string(info.param); });

// Host batches: the same message. Whether add_batch throws at once or the next result
// call does is left to the backend; either way the row counts over everything added.
TEST(CudaNonFiniteHost, NaNInHostBatchIsNamedWithGlobalRowAndColumn) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t d = 7;
  auto x = random_matrix(30, d, 43);
  x[(12 + 5) * d + 3] = kNaN;
  x[(12 + 9) * d + 1] = kInf;
  auto acc = cuda_accumulator(d);
  acc.add_batch(host_matrix(x.data(), 12, d));
  const std::string message = invalid_input_of([&] {
    acc.add_batch(host_matrix(x.data() + 12 * d, 18, d));
    acc.covariance();
  });
  EXPECT_NE(message.find("NaN in the features at row 17, column 3"), std::string::npos) << message;
}

// ---- bad arguments and sizes -------------------------------------------------------------

TEST(CudaAccumulatorErrors, MalformedViewsAreRefusedAndLeaveTheStateIntact) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 10, d = 6;
  const auto x = random_matrix(n, d, 53);
  const DeviceBuffer buffer = upload(x, DType::float64);
  auto acc = cuda_accumulator(d);
  acc.add_batch(device_view(buffer, DType::float64, 0, n, d, d));
  const auto before = acc.covariance();
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(device_view(buffer, DType::float64, 0, n, d, 4)); })
                .find("row_stride 4"),
            std::string::npos);
  MatrixView null_view = device_view(buffer, DType::float64, 0, n, d, d);
  null_view.data = nullptr;
  EXPECT_THROW(acc.add_batch(null_view), invalid_input);
  EXPECT_THROW(acc.add_batch(device_view(buffer, DType::float64, 0, 0, d, d)), invalid_input);
  EXPECT_THROW(acc.add_batch(device_view(buffer, DType::float64, 0, n / 2, d - 1, d)), invalid_input);
  MatrixView half_on_host = host_matrix(x.data(), n, d);
  half_on_host.dtype = DType::float16;  // host views are float32/float64 only
  EXPECT_THROW(acc.add_batch(half_on_host), invalid_input);
  EXPECT_EQ(acc.count(), n);
  EXPECT_EQ(acc.covariance(), before);
}

TEST(CudaAccumulatorErrors, CovarianceTooLargeForTheDeviceIsRefusedBeforeAllocating) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  try {
    CovarianceAccumulator acc(200000, AccumulatorOptions{Backend::cuda});  // 298 GiB of float64
    FAIL() << "no out_of_memory thrown";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("GiB"), std::string::npos) << e.what();
  }
  // Nothing was left allocated or in an error state: a normal accumulator still works.
  constexpr std::int64_t n = 100, d = 10;
  const auto x = random_matrix(n, d, 59);
  auto acc = cuda_accumulator(d);
  acc.add_batch(host_matrix(x.data(), n, d));
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-12);
}

// The host side of the eigensolver's error reporting: runs without a device.
TEST(CudaErrorMessages, WorkspaceQueryFailuresNameTheCallTheStatusAndTheKnownLimit) {
  EXPECT_NO_THROW(cuda::check_syevd_call(CUSOLVER_STATUS_SUCCESS, 30000, "cusolverDnXsyevd"));
  try {
    cuda::check_syevd_call(CUSOLVER_STATUS_INVALID_VALUE, 512, "cusolverDnXsyevd_bufferSize");
    FAIL() << "no cuda_error thrown";
  } catch (const cuda_error& e) {  // the call by name, not the variable holding its status
    EXPECT_NE(std::string(e.what()).find("CUSOLVER_STATUS_INVALID_VALUE in cusolverDnXsyevd_bufferSize"),
              std::string::npos) << e.what();
  }
  try {
    cuda::check_syevd_call(CUSOLVER_STATUS_INTERNAL_ERROR, 26000, "cusolverDnXsyevd");
    FAIL() << "no numerical_error thrown";
  } catch (const numerical_error& e) {
    const std::string message = e.what();
    for (const char* part : {"D = 26000", "cusolverDnXsyevd returned CUSOLVER_STATUS_INTERNAL_ERROR",
                             "25,000", "--backend cpu"}) {
      EXPECT_NE(message.find(part), std::string::npos) << part << " not in: " << message;
    }
  }
  EXPECT_EQ(cuda::cusolver_status_name(CUSOLVER_STATUS_IRS_MATRIX_SINGULAR), "CUSOLVER_STATUS_IRS_MATRIX_SINGULAR");
  // A status newer than the list keeps its number.
  EXPECT_EQ(cuda::cusolver_status_name(static_cast<cusolverStatus_t>(999)), "cusolverStatus_t 999");
}

}  // namespace
}  // namespace alphareq
