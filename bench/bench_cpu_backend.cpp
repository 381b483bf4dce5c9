// CPU backend stages (accumulation, eigenvalues, fit): the baseline the CUDA backend is
// measured against. Counters give the accumulation rate in GFLOP/s (n·D² multiply-adds of
// the symmetric product, counted as n·D·(D+1) flops) and the input bandwidth.

#include <benchmark/benchmark.h>

#include <alphareq/alphareq.hpp>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace {

using namespace alphareq;

// Generated once per shape and kept: generation is single-threaded and slower than the
// work measured, and Google Benchmark calls a case's function once per repetition.
const std::vector<float>& features(std::int64_t n, std::int64_t d) {
  static std::map<std::pair<std::int64_t, std::int64_t>, std::vector<float>> cache;
  std::vector<float>& cached = cache[{n, d}];
  if (cached.empty()) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = d;
    spec.alpha = 1.0;
    spec.seed = 1;
    spec.rotate = false;  // generation cost is not what is measured; the spectrum is the same
    const auto x = synthetic_power_law_features(spec);
    cached.assign(x.begin(), x.end());
  }
  return cached;
}

// One add_batch of the n × D features into a new accumulator: what the CUDA table's
// accumulate_ms measures (the library's own timing of add_batch), which the summary
// divides this by. Building the accumulator (allocating and zeroing its D × D float64
// state, 32 MiB at D = 2,048) and freeing it are outside the timing, as the CUDA side's
// construction is (its setup_ms). The scratch add_batch allocates for itself stays in.
void accumulate(benchmark::State& state, AccumulationPrecision precision) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const auto& x = features(n, d);
  for (auto _ : state) {
    state.PauseTiming();
    std::optional<CovarianceAccumulator> acc(std::in_place, d,
                                             AccumulatorOptions{Backend::cpu, precision});
    state.ResumeTiming();
    acc->add_batch(host_matrix(x.data(), n, d));
    benchmark::DoNotOptimize(*acc);
    benchmark::ClobberMemory();
    state.PauseTiming();
    acc.reset();
    state.ResumeTiming();
  }
  const double flops = static_cast<double>(n) * d * (d + 1);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["input_GB/s"] =
      benchmark::Counter(n * d * 4.0 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_AccumulateFloat64(benchmark::State& state) {
  accumulate(state, AccumulationPrecision::float64);
}
void BM_AccumulateFloat32(benchmark::State& state) {
  accumulate(state, AccumulationPrecision::float32);
}

void BM_Eigenvalues(benchmark::State& state) {
  const std::int64_t d = state.range(0), n = 2 * d;
  const auto& x = features(n, d);
  CovarianceAccumulator acc(d, AccumulatorOptions{Backend::cpu});
  acc.add_batch(host_matrix(x.data(), n, d));
  for (auto _ : state) benchmark::DoNotOptimize(acc.eigenvalues());
}

void BM_Fit(benchmark::State& state) {
  const auto spectrum = power_law_spectrum(state.range(0), 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(fit_power_law(spectrum, 1 << 20).alpha);
}

void end_to_end(benchmark::State& state, AccumulationPrecision precision) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const auto& x = features(n, d);
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  options.accumulator.precision = precision;
  for (auto _ : state)
    benchmark::DoNotOptimize(compute_alpha(host_matrix(x.data(), n, d), options).fit.alpha);
}

void BM_ComputeAlphaEndToEnd(benchmark::State& state) {
  end_to_end(state, AccumulationPrecision::float64);
}
void BM_ComputeAlphaEndToEndFloat32(benchmark::State& state) {
  end_to_end(state, AccumulationPrecision::float32);
}

// The CUDA backend's stage table sizes (bench_cuda_backend.cu), so that the two compare
// size for size, and the smaller widths of the accumulation rate.
void stage_sizes(benchmark::internal::Benchmark* b) {
  b->Args({10000, 2048})->Args({50000, 2048})->Args({10000, 4096})->Args({100000, 1024});
}

// The accumulation cases: two small widths, then the stage table's sizes.
void accumulation_cases(benchmark::internal::Benchmark* b) {
  b->Args({10000, 512})->Args({10000, 1024})->Apply(stage_sizes);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_AccumulateFloat64)->Apply(accumulation_cases);
BENCHMARK(BM_AccumulateFloat32)->Apply(accumulation_cases);
BENCHMARK(BM_Eigenvalues)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Fit)->Arg(1024)->Arg(2048)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ComputeAlphaEndToEnd)
    ->Apply(stage_sizes)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ComputeAlphaEndToEndFloat32)
    ->Apply(stage_sizes)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
