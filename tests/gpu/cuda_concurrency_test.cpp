// Concurrency and determinism of the CUDA backend, beside the CPU's in tests/hardening/:
//  - accumulators on caller-created streams and host threads at once equal sequential use,
//    and two accumulators can share one stream;
//  - AccumulatorOptions::deterministic: bit-identical results run to run, also beside other
//    work on the device, whatever ALPHAREQ_CUDA_PRODUCT says.
// Every case skips where there is no GPU.

#include "cuda_hardening_support.hpp"

namespace alphareq {
namespace {

using namespace cuda_hardening;

// One job: a width, a product precision and a kind of input; its batches come from one
// device buffer of `dtype` (or host memory) read on the accumulator's own caller stream.
struct Job {
  std::int64_t d;
  AccumulationPrecision precision;
  DType dtype;
  MemorySpace space;
};

struct JobResult {
  AlphaReport report;
  std::vector<double> covariance;
  std::vector<double> mean;
};

const std::vector<Job>& jobs() {
  static const std::vector<Job> all = {{256, kF64, DType::float32, MemorySpace::device},
                                       {384, kF32, DType::float32, MemorySpace::device},
                                       {192, kTF32, DType::float16, MemorySpace::device},
                                       {320, kF64, DType::float64, MemorySpace::host},
                                       {256, kF32, DType::float64, MemorySpace::host},
                                       {128, kF64, DType::bfloat16, MemorySpace::device}};
  return all;
}

constexpr std::int64_t kJobRows = 6000;

std::vector<double> job_features(std::size_t index) {
  const Job& job = jobs()[index];
  return test::rounded_to(power_law_features(kJobRows, job.d, 2.0, 100 + index), job.dtype);
}

// Runs job `index` on an accumulator bound to `stream` (a caller-created stream), in
// uneven batches read on that stream.
JobResult run_job(std::size_t index, const std::vector<double>& x, const DeviceBuffer& buffer,
                  const test::CudaStream& stream, bool deterministic) {
  const Job& job = jobs()[index];
  auto acc = cuda_accumulator(job.d, job.precision, deterministic, stream.handle());
  std::int64_t first = 0;
  for (std::int64_t rows : {1000, 1, 2999, 2000}) {
    if (job.space == MemorySpace::device) {
      acc.add_batch(
          test::device_view(buffer, job.dtype, first, rows, job.d, job.d, 0, stream.handle()));
    } else {
      acc.add_batch(host_matrix(x.data() + first * job.d, rows, job.d));
    }
    first += rows;
  }
  return {acc.report(), acc.covariance(), acc.mean()};
}

class CudaConcurrency : public ::testing::TestWithParam<bool> {};

// Six accumulators (float64, float32 and TF32 products; float64, float32, float16 and
// bfloat16 input, from device buffers and host memory), each with its own caller-created
// stream (AccumulatorOptions::stream) and each on its own host thread, started together.
// Expectation: every result equal to the same job run alone — bit-identical with
// deterministic = true; otherwise within float64 rounding of the products (covariance 1e-12
// relative, α 1e-10 — cuBLAS promises identical bits only while one stream is active,
// although each accumulator owning its handle makes equal bits likely).
TEST_P(CudaConcurrency, AccumulatorsOnTheirOwnStreamsAndThreadsEqualSequentialUse) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const bool deterministic = GetParam();
  const std::size_t count = jobs().size();
  std::vector<std::vector<double>> inputs;
  std::vector<DeviceBuffer> buffers;
  for (std::size_t i = 0; i < count; ++i) {
    inputs.push_back(job_features(i));
    buffers.push_back(test::upload(inputs[i], jobs()[i].dtype));
  }
  std::vector<JobResult> sequential;
  for (std::size_t i = 0; i < count; ++i) {
    const test::CudaStream stream;
    sequential.push_back(run_job(i, inputs[i], buffers[i], stream, deterministic));
  }
  std::vector<std::optional<JobResult>> concurrent(count);
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> ready{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      std::optional<test::CudaStream> stream;
      try {
        stream.emplace();
      } catch (...) {
        errors[i] = std::current_exception();
      }
      ready.fetch_add(1);
      while (ready.load() < count) std::this_thread::yield();  // start together
      if (errors[i]) return;
      try {
        concurrent[i] = run_job(i, inputs[i], buffers[i], *stream, deterministic);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::size_t i = 0; i < count; ++i) {
    SCOPED_TRACE("job " + std::to_string(i));
    if (errors[i]) std::rethrow_exception(errors[i]);
    ASSERT_TRUE(concurrent[i].has_value());
    const JobResult& got = *concurrent[i];
    const JobResult& expected = sequential[i];
    if (deterministic) {
      expect_same_report_bits(got.report, expected.report);
      EXPECT_TRUE(same_bits(got.covariance, expected.covariance));
      EXPECT_TRUE(same_bits(got.mean, expected.mean));
    } else {
      // Another cuBLAS kernel may round a product differently: float64 products stay within
      // float64 rounding, float32 ones within kFloat32Tolerance, TF32 ones within 1e-2.
      const AccumulationPrecision precision = jobs()[i].precision;
      const double tolerance = precision == kF64 ? 1e-12 : precision == kF32 ? kFloat32Tolerance : 1e-2;
      EXPECT_LT(relative_error(got.covariance, expected.covariance), tolerance);
      EXPECT_LT(relative_error(got.mean, expected.mean), precision == kF64 ? 1e-13 : tolerance);
      EXPECT_NEAR(got.report.fit.alpha, expected.report.fit.alpha,
                  precision == kF64 ? 1e-10 : tolerance);
    }
    expect_report_finite(got.report);
  }
}

INSTANTIATE_TEST_SUITE_P(DeterministicOrNot, CudaConcurrency, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "deterministic" : "default"; });

// Two accumulators given the same caller stream, their batches interleaved on it (device
// batches read on that stream too), then the stream outlives both. Work on one stream runs in
// order, so expectation: each result bit-identical to the same accumulator used alone, with
// or without deterministic; the caller's stream is still usable after the accumulators are
// gone (they do not own it).
TEST(CudaConcurrency, TwoAccumulatorsSharingOneStreamEqualSeparateUse) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 5000, d = 200;
  const auto x = test::rounded_to(power_law_features(n, d, 3.0, 40), DType::float32);
  const DeviceBuffer buffer = test::upload(x, DType::float32);
  test::CudaStream shared;
  for (const bool deterministic : {false, true}) {
    SCOPED_TRACE(deterministic ? "deterministic" : "default");
    const auto alone = [&](AccumulationPrecision precision) {
      const test::CudaStream own;
      auto acc = cuda_accumulator(d, precision, deterministic, own.handle());
      for (std::int64_t first = 0; first < n; first += 1000) {
        acc.add_batch(
            test::device_view(buffer, DType::float32, first, 1000, d, d, 0, own.handle()));
      }
      return acc.report();
    };
    const AlphaReport expected64 = alone(kF64), expected32 = alone(kF32);
    {
      auto a = cuda_accumulator(d, kF64, deterministic, shared.handle());
      auto b = cuda_accumulator(d, kF32, deterministic, shared.handle());
      for (std::int64_t first = 0; first < n; first += 1000) {
        a.add_batch(
            test::device_view(buffer, DType::float32, first, 1000, d, d, 0, shared.handle()));
        b.add_batch(
            test::device_view(buffer, DType::float32, first, 1000, d, d, 0, shared.handle()));
      }
      expect_same_report_bits(a.report(), expected64);
      expect_same_report_bits(b.report(), expected32);
    }
    shared.synchronize();
    ALPHAREQ_TEST_CUDA_CHECK(cudaStreamQuery(shared.get()));
  }
}

// ==== Determinism =======================================================================

using DeterminismCase = std::tuple<AccumulationPrecision, SolverPrecision, MemorySpace>;

class CudaDeterminism : public ::testing::TestWithParam<DeterminismCase> {};

// A deterministic accumulator on float32 features `x` in batches of 1700 rows; device
// batches from `uploaded` when given.
AlphaReport deterministic_run(const std::vector<double>& x, std::int64_t n, std::int64_t d,
                              const DeterminismCase& c, std::vector<double>* covariance = nullptr,
                              const DeviceBuffer* uploaded = nullptr) {
  const auto& [precision, solver, space] = c;
  auto acc = cuda_accumulator(d, precision, true, nullptr, solver);
  std::vector<std::int64_t> sizes;
  for (std::int64_t first = 0; first < n; first += 1700)
    sizes.push_back(std::min<std::int64_t>(1700, n - first));
  add_batches(acc, x, d, DType::float32, space, sizes, uploaded);
  if (covariance != nullptr) *covariance = acc.covariance();
  const CovarianceAccumulator copy = acc;  // NOLINT(performance-unnecessary-copy-initialization)
  const AlphaReport report = acc.report();
  expect_same_report_bits(copy.report(), report);  // a copy reports the same bits
  return report;
}

// deterministic = true: five fresh accumulators on the same batches give the same bits —
// eigenvalues, α, intercept, R², residuals and the covariance — for every product and solver
// precision, from the host and from device memory.
TEST_P(CudaDeterminism, SameInputAndOptionsGiveBitIdenticalResultsRunToRun) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 6000, d = 300;
  const auto x = test::rounded_to(power_law_features(n, d, 10.0, 50), DType::float32);
  std::vector<double> covariance;
  const AlphaReport expected = deterministic_run(x, n, d, GetParam(), &covariance);
  expect_report_finite(expected);
  for (int repeat = 0; repeat < 5; ++repeat) {
    SCOPED_TRACE("repeat " + std::to_string(repeat));
    std::vector<double> again;
    expect_same_report_bits(deterministic_run(x, n, d, GetParam(), &again), expected);
    EXPECT_TRUE(same_bits(again, covariance));
  }
}

INSTANTIATE_TEST_SUITE_P(
    PrecisionsSolversInputs, CudaDeterminism,
    ::testing::Combine(::testing::Values(kF64, kF32, kTF32),
                       ::testing::Values(SolverPrecision::float64, SolverPrecision::float32),
                       ::testing::Values(MemorySpace::host, MemorySpace::device)),
    [](const auto& info) {
      const AccumulationPrecision p = std::get<0>(info.param);
      return std::string(p == kF64   ? "float64"
                         : p == kF32 ? "float32"
                                     : "tf32") +
             "_products_" +
             (std::get<1>(info.param) == SolverPrecision::float64 ? "float64" : "float32") +
             "_solver_" + (std::get<2>(info.param) == MemorySpace::host ? "host" : "device");
    });

// The same bits while another accumulator keeps the device busy on another stream from
// another thread (large float32 and TF32 products, the cuBLAS calls most likely to be given
// other kernels under concurrency), and alone again afterwards.
TEST(CudaDeterminismUnderLoad, BitIdenticalWhileAnotherAccumulatorIsBusyOnAnotherStream) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 6000, d = 300, busy_d = 1024, busy_rows = 8192;
  const auto x = test::rounded_to(power_law_features(n, d, 10.0, 51), DType::float32);
  const DeviceBuffer uploaded = test::upload(x, DType::float32);
  const auto busy_x = random_matrix(busy_rows, busy_d, 52, 1.0, 1.0);
  const DeviceBuffer busy_buffer = test::upload(busy_x, DType::float32);
  for (const AccumulationPrecision precision : {kF64, kF32, kTF32}) {
    SCOPED_TRACE(name_of(precision));
    const DeterminismCase c{precision, SolverPrecision::float64, MemorySpace::device};
    const AlphaReport alone = deterministic_run(x, n, d, c, nullptr, &uploaded);
    std::atomic<bool> stop{false}, busy_failed{false};
    std::atomic<int> busy_batches{0};
    std::exception_ptr busy_error;  // written by the busy thread, read after join()
    std::thread busy([&] {
      try {
        const test::CudaStream other;
        auto load =
            cuda_accumulator(busy_d, precision == kF64 ? kF32 : precision, false, other.handle());
        while (!stop.load()) {
          load.add_batch(test::device_view(busy_buffer, DType::float32, 0, busy_rows, busy_d,
                                           busy_d, 0, other.handle()));
          busy_batches.fetch_add(1);
          if (busy_batches.load() % 4 == 0) load.eigenvalues();  // cuSOLVER busy too
        }
        other.synchronize();
      } catch (...) {
        busy_error = std::current_exception();
        busy_failed = true;
      }
    });
    while (busy_batches.load() < 1 && !busy_failed.load()) std::this_thread::yield();
    try {
      for (int repeat = 0; repeat < 3; ++repeat) {
        expect_same_report_bits(deterministic_run(x, n, d, c, nullptr, &uploaded), alone);
      }
    } catch (...) {
      stop = true;  // a joinable thread must not be destroyed: that would abort the binary
      busy.join();
      throw;
    }
    stop = true;
    busy.join();
    if (busy_error) std::rethrow_exception(busy_error);
    expect_same_report_bits(deterministic_run(x, n, d, c, nullptr, &uploaded), alone);
  }
}

// ALPHAREQ_CUDA_PRODUCT (syrk|gemm, for benchmarks) changes how products round, so a
// deterministic accumulator ignores it: the same bits with it set to gemm, and even an
// invalid value is not read; a default accumulator still reads it (and refuses "bogus").
TEST(CudaDeterminismEnvironment, DeterministicIgnoresTheProductRoutineOverride) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 3000, d = 200;
  const auto x = test::rounded_to(power_law_features(n, d, 1.0, 53), DType::float32);
  const char* saved = std::getenv("ALPHAREQ_CUDA_PRODUCT");
  const std::string previous = saved != nullptr ? saved : "";
  ::unsetenv("ALPHAREQ_CUDA_PRODUCT");
  for (const AccumulationPrecision precision : {kF64, kF32}) {
    SCOPED_TRACE(name_of(precision));
    const DeterminismCase c{precision, SolverPrecision::float64, MemorySpace::device};
    const AlphaReport expected = deterministic_run(x, n, d, c);
    ::setenv("ALPHAREQ_CUDA_PRODUCT", "gemm", 1);
    expect_same_report_bits(deterministic_run(x, n, d, c), expected);
    ::setenv("ALPHAREQ_CUDA_PRODUCT", "bogus", 1);
    expect_same_report_bits(deterministic_run(x, n, d, c), expected);
    expect_invalid_input([&] { cuda_accumulator(d, precision); },
                         {"ALPHAREQ_CUDA_PRODUCT", "bogus"});
    ::unsetenv("ALPHAREQ_CUDA_PRODUCT");
  }
  if (saved != nullptr) ::setenv("ALPHAREQ_CUDA_PRODUCT", previous.c_str(), 1);
}

// deterministic changes how cuBLAS may choose, not the algorithm: its results agree with the
// default's to float64 rounding of the products (covariance 1e-12, α 1e-10).
TEST(CudaDeterminismEnvironment, DeterministicAndDefaultAgreeToRounding) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  constexpr std::int64_t n = 4000, d = 256;
  const auto x = test::rounded_to(power_law_features(n, d, 1.0, 54), DType::float32);
  std::vector<CovarianceAccumulator> accs;
  for (const bool deterministic : {false, true}) {
    accs.push_back(cuda_accumulator(d, kF64, deterministic));
    add_batches(accs.back(), x, d, DType::float32, MemorySpace::device, {1500, 2500});
  }
  EXPECT_LT(relative_error(accs[1].covariance(), accs[0].covariance()), 1e-12);
  EXPECT_NEAR(accs[1].report().fit.alpha, accs[0].report().fit.alpha, 1e-10);
}

}  // namespace
}  // namespace alphareq
