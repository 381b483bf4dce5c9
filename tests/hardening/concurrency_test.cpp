// Separate accumulators used from several host threads at once give the same results as
// the same work done sequentially: the CPU backend keeps no shared mutable state (the
// header's contract: distinct accumulators may be used from different threads at once).
// This binary is also what the `tsan` preset builds and runs under ThreadSanitizer, with
// OPENBLAS_NUM_THREADS=1 (see .ci/run): OpenBLAS is not instrumented, and its own worker
// threads hand results back through spin-waits TSan cannot see, which it would report as
// races in OpenBLAS's buffers; with one OpenBLAS thread every BLAS call runs on the calling
// thread, so what TSan checks is alphareq's code and the sharing between our threads.
//
// Expectation: bit-identical results. Each accumulator's arithmetic is a fixed sequence of
// float64 operations and BLAS calls on its own buffers; nothing depends on which thread runs
// it or on what other threads do at the same time.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "hardening_helpers.hpp"

namespace alphareq {
namespace {

using test::same_bits;

// One thread's work: its own features, batch sizes and options.
struct Job {
  std::int64_t n = 0;
  std::int64_t d = 0;
  std::uint64_t seed = 0;
  AccumulationPrecision precision = AccumulationPrecision::float64;
  bool float32_input = false;
};

// Everything a job produces, compared bit for bit.
struct Outcome {
  std::int64_t count = 0;
  std::vector<double> mean;
  std::vector<double> covariance;
  std::vector<double> eigenvalues;
  double alpha_weighted = 0.0, intercept = 0.0, r2 = 0.0, alpha_ols = 0.0;
  double alpha_copy_merged = 0.0;
  double alpha_one_call = 0.0;
  std::string refusal;  // the message of a refused NaN batch
};

std::vector<double> job_features(const Job& job) {
  SyntheticSpec spec;
  spec.n = job.n;
  spec.d = job.d;
  spec.alpha = 0.8 + 0.1 * static_cast<double>(job.seed % 5);
  spec.offset = 50.0;
  spec.seed = job.seed;
  return synthetic_power_law_features(spec);
}

template <typename T>
Outcome run_job_on(const Job& job, const std::vector<T>& x) {
  const AccumulatorOptions options{Backend::cpu, job.precision};
  CovarianceAccumulator acc(job.d, options);
  // Uneven batches, one of a single row.
  const std::int64_t cuts[] = {0, 1, job.n / 3, job.n / 3 + 17, job.n};
  for (std::size_t k = 0; k + 1 < std::size(cuts); ++k) {
    acc.add_batch(host_matrix(x.data() + cuts[k] * job.d, cuts[k + 1] - cuts[k], job.d));
  }
  Outcome out;
  // A refused batch (NaN) must not disturb anything, on any thread.
  std::vector<T> poisoned(x.begin(), x.begin() + 4 * job.d);
  poisoned[2 * job.d + 1] = std::numeric_limits<T>::quiet_NaN();
  try {
    acc.add_batch(host_matrix(poisoned.data(), 4, job.d));
  } catch (const invalid_input& e) {
    out.refusal = e.what();
  }
  out.count = acc.count();
  out.mean = acc.mean();
  out.covariance = acc.covariance();
  out.eigenvalues = acc.eigenvalues();
  const AlphaReport weighted = acc.report();
  out.alpha_weighted = weighted.fit.alpha;
  out.intercept = weighted.fit.intercept;
  out.r2 = weighted.fit.r2;
  out.alpha_ols = acc.report(FitOptions{FitMethod::ols, 11, 100}).fit.alpha;
  // Copies and merges: the data-parallel pattern inside one thread.
  CovarianceAccumulator half(job.d, options);
  half.add_batch(host_matrix(x.data(), job.n / 2, job.d));
  CovarianceAccumulator other(job.d, options);
  other.add_batch(host_matrix(x.data() + job.n / 2 * job.d, job.n - job.n / 2, job.d));
  CovarianceAccumulator merged = half;
  merged.merge(other);
  out.alpha_copy_merged = merged.report().fit.alpha;
  AlphaOptions one_call;
  one_call.accumulator = options;
  out.alpha_one_call = compute_alpha(host_matrix(x.data(), job.n, job.d), one_call).fit.alpha;
  return out;
}

Outcome run_job(const Job& job) {
  const std::vector<double> x = job_features(job);
  if (!job.float32_input) return run_job_on(job, x);
  return run_job_on(job, test::to_float(x));
}

void expect_same(const Outcome& a, const Outcome& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_TRUE(same_bits(a.mean, b.mean));
  EXPECT_TRUE(same_bits(a.covariance, b.covariance));
  EXPECT_TRUE(same_bits(a.eigenvalues, b.eigenvalues));
  EXPECT_TRUE(same_bits(a.alpha_weighted, b.alpha_weighted))
      << a.alpha_weighted << " vs " << b.alpha_weighted;
  EXPECT_TRUE(same_bits(a.intercept, b.intercept));
  EXPECT_TRUE(same_bits(a.r2, b.r2));
  EXPECT_TRUE(same_bits(a.alpha_ols, b.alpha_ols));
  EXPECT_TRUE(same_bits(a.alpha_copy_merged, b.alpha_copy_merged));
  EXPECT_TRUE(same_bits(a.alpha_one_call, b.alpha_one_call));
  EXPECT_EQ(a.refusal, b.refusal);
}

// Runs `work(i)` for i in [0, threads) on that many threads released together, so that
// their calls overlap.
template <typename Work>
void run_together(int threads, Work&& work) {
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      work(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

const std::vector<Job>& jobs() {
  static const std::vector<Job> all = {
      {600, 48, 1, AccumulationPrecision::float64, false},
      {800, 64, 2, AccumulationPrecision::float32, false},
      {500, 40, 3, AccumulationPrecision::float64, true},
      {700, 72, 4, AccumulationPrecision::float32, true},
      {900, 30, 5, AccumulationPrecision::float64, false},
      {400, 56, 6, AccumulationPrecision::float64, true},
  };
  return all;
}

TEST(Concurrency, SeparateAccumulatorsOnThreadsMatchSequentialUseBitForBit) {
  std::vector<Outcome> sequential;
  for (const Job& job : jobs()) sequential.push_back(run_job(job));
  for (const Outcome& outcome : sequential) {
    ASSERT_FALSE(outcome.refusal.empty());
    ASSERT_TRUE(std::isfinite(outcome.alpha_weighted));
  }
  // Every job on its own thread, all at once, three rounds.
  const int count = static_cast<int>(jobs().size());
  for (int round = 0; round < 3; ++round) {
    std::vector<Outcome> concurrent(jobs().size());
    run_together(count, [&](int i) { concurrent[i] = run_job(jobs()[i]); });
    for (int i = 0; i < count; ++i) {
      SCOPED_TRACE("job " + std::to_string(i) + ", round " + std::to_string(round));
      expect_same(concurrent[i], sequential[i]);
    }
  }
}

TEST(Concurrency, ManyThreadsOnTheSameDataAgree) {
  const Job job{600, 64, 7, AccumulationPrecision::float64, false};
  const Outcome expected = run_job(job);
  constexpr int kThreads = 8;
  std::vector<Outcome> outcomes(kThreads);
  run_together(kThreads, [&](int i) { outcomes[i] = run_job(job); });
  for (int i = 0; i < kThreads; ++i) {
    SCOPED_TRACE("thread " + std::to_string(i));
    expect_same(outcomes[i], expected);
  }
}

// The README's data-parallel pattern: shards accumulated on worker threads, merged on one.
TEST(Concurrency, ShardsAccumulatedOnThreadsThenMergedEqualTheSequentialShards) {
  constexpr std::int64_t n = 2400, d = 50;
  constexpr int kShards = 4;
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.seed = 8;
  spec.offset = 1e3;
  const std::vector<double> x = synthetic_power_law_features(spec);
  const auto shard_of = [&](int s) {
    CovarianceAccumulator acc(d, AccumulatorOptions{Backend::cpu});
    const std::int64_t first = n / kShards * s, rows = n / kShards;
    for (std::int64_t r = first; r < first + rows; r += 100) {
      acc.add_batch(
          host_matrix(x.data() + r * d, std::min<std::int64_t>(100, first + rows - r), d));
    }
    return acc;
  };
  const auto merge_all = [&](const std::vector<CovarianceAccumulator>& shards) {
    CovarianceAccumulator total(d, AccumulatorOptions{Backend::cpu});
    for (const auto& shard : shards) total.merge(shard);
    return total;
  };
  std::vector<CovarianceAccumulator> sequential_shards;
  for (int s = 0; s < kShards; ++s) sequential_shards.push_back(shard_of(s));
  const CovarianceAccumulator sequential = merge_all(sequential_shards);

  std::vector<CovarianceAccumulator> threaded_shards(
      kShards, CovarianceAccumulator(d, AccumulatorOptions{Backend::cpu}));
  run_together(kShards, [&](int s) { threaded_shards[s] = shard_of(s); });
  const CovarianceAccumulator threaded = merge_all(threaded_shards);
  EXPECT_TRUE(same_bits(threaded.covariance(), sequential.covariance()));
  EXPECT_TRUE(same_bits(threaded.report().fit.alpha, sequential.report().fit.alpha));
}

// Streaming .npy files (one reader per thread, as npy.hpp asks) at the same time.
TEST(Concurrency, StreamingSeparateFilesOnThreadsMatchesSequentialStreaming) {
  const int count = static_cast<int>(jobs().size());
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) {
    const Job& job = jobs()[i];
    paths.push_back(::testing::TempDir() + "alphareq_concurrency_" + std::to_string(::getpid()) +
                    "_" + std::to_string(i) + ".npy");
    const std::vector<double> x = job_features(job);
    if (job.float32_input) {
      save_npy(paths.back(), test::to_float(x).data(), {job.n, job.d});
    } else {
      save_npy(paths.back(), x.data(), {job.n, job.d});
    }
  }
  const auto stream = [&](int i) {
    AlphaOptions options;
    options.accumulator = AccumulatorOptions{Backend::cpu, jobs()[i].precision};
    return compute_alpha_npy(paths[i], options, {}, /*chunk_bytes=*/4096);
  };
  std::vector<AlphaReport> sequential;
  for (int i = 0; i < count; ++i) sequential.push_back(stream(i));
  std::vector<AlphaReport> concurrent(count);
  run_together(count, [&](int i) { concurrent[i] = stream(i); });
  for (int i = 0; i < count; ++i) {
    SCOPED_TRACE("file " + std::to_string(i));
    EXPECT_TRUE(same_bits(concurrent[i].eigenvalues, sequential[i].eigenvalues));
    EXPECT_TRUE(same_bits(concurrent[i].fit.alpha, sequential[i].fit.alpha));
    std::remove(paths[i].c_str());
  }
}

// Errors raised on several threads at once stay with their own accumulator and thread.
TEST(Concurrency, RefusedInputOnOneThreadDoesNotDisturbTheOthers) {
  constexpr std::int64_t n = 300, d = 20;
  const std::vector<double> x = test::random_matrix(n, d, 9, 1.0, 2.0);
  CovarianceAccumulator reference(d, AccumulatorOptions{Backend::cpu});
  reference.add_batch(host_matrix(x.data(), n, d));
  const std::vector<double> expected = reference.covariance();
  constexpr int kThreads = 6;
  std::vector<std::vector<double>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  run_together(kThreads, [&](int i) {
    CovarianceAccumulator acc(d, AccumulatorOptions{Backend::cpu});
    std::vector<double> bad(x.begin(), x.begin() + 3 * d);
    bad[d + i % d] = (i % 2 == 0) ? std::numeric_limits<double>::infinity() : 1e300;
    for (int repeat = 0; repeat < 20; ++repeat) {
      try {
        acc.add_batch(host_matrix(bad.data(), 3, d));
      } catch (const invalid_input& e) {
        errors[i] = e.what();
      }
    }
    acc.add_batch(host_matrix(x.data(), n, d));
    results[i] = acc.covariance();
  });
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_FALSE(errors[i].empty());
    EXPECT_TRUE(same_bits(results[i], expected)) << "thread " << i;
  }
}

}  // namespace
}  // namespace alphareq
