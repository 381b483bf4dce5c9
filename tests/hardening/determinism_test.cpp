// Determinism of the CPU backend: the same input and options give bit-identical α (and
// eigenvalues, intercept, R²) run after run — within one process, through every entry point
// (accumulator, copy, compute_alpha, compute_alpha_npy), and across processes through the
// alphareq tool. What makes it so: a fixed order of float64 operations in the accumulator
// and the fit, BLAS/LAPACK calls whose partitioning depends only on the sizes and the
// OpenBLAS thread count (fixed for a machine and environment), and no use of time, address
// or thread identity in any numerical path. AccumulatorOptions::deterministic (the tool's
// --deterministic) is accepted with no effect; its CUDA half is tests/gpu/cuda_hardening_test.cpp.

#include <alphareq/alpha.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include "cli/arguments.hpp"
#include "hardening_helpers.hpp"

#ifdef ALPHAREQ_CLI_PATH
#include "cli_runner.hpp"
#endif

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

namespace alphareq {
namespace {

using test::expect_same_report_bits;
using test::same_bits;

std::vector<double> features(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = 1.2;
  spec.offset = 300.0;
  spec.seed = seed;
  return synthetic_power_law_features(spec);
}

class DeterminismOptions
    : public ::testing::TestWithParam<std::tuple<AccumulationPrecision, FitMethod, bool>> {};

// Five fresh accumulators on the same batches, plus a copy of the first: identical bits.
TEST_P(DeterminismOptions, SameInputAndOptionsGiveBitIdenticalAlphaRunToRun) {
  const auto [precision, method, float32_input] = GetParam();
  constexpr std::int64_t n = 3000, d = 128;
  const std::vector<double> x = features(n, d, 21);
  const std::vector<float> x32 = test::to_float(x);
  const auto run = [&, precision = precision, float32_input = float32_input] {
    CovarianceAccumulator acc(d, AccumulatorOptions{Backend::cpu, precision});
    for (std::int64_t first = 0; first < n; first += 700) {
      const std::int64_t rows = std::min<std::int64_t>(700, n - first);
      acc.add_batch(float32_input ? host_matrix(x32.data() + first * d, rows, d)
                                  : host_matrix(x.data() + first * d, rows, d));
    }
    return acc;
  };
  const FitOptions fit{method, 11, 100};
  const CovarianceAccumulator first = run();
  const AlphaReport expected = first.report(fit);
  ASSERT_TRUE(std::isfinite(expected.fit.alpha));
  for (int repeat = 0; repeat < 5; ++repeat) {
    SCOPED_TRACE("repeat " + std::to_string(repeat));
    expect_same_report_bits(run().report(fit), expected);
  }
  const CovarianceAccumulator copy = first;  // NOLINT(performance-unnecessary-copy-initialization)
  expect_same_report_bits(copy.report(fit), expected);
  expect_same_report_bits(first.report(fit), expected);  // report() itself changes nothing
}

INSTANTIATE_TEST_SUITE_P(
    PrecisionsMethodsInputs, DeterminismOptions,
    ::testing::Combine(::testing::Values(AccumulationPrecision::float64,
                                         AccumulationPrecision::float32),
                       ::testing::Values(FitMethod::weighted, FitMethod::ols), ::testing::Bool()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == AccumulationPrecision::float64 ? "float64acc"
                                                                                   : "float32acc") +
             (std::get<1>(info.param) == FitMethod::weighted ? "_weighted" : "_ols") +
             (std::get<2>(info.param) ? "_float32input" : "_float64input");
    });

// compute_alpha and compute_alpha_npy (streamed in chunks of the same rows as the in-memory
// batches) repeat bit for bit and agree with each other.
TEST(Determinism, OneCallAndStreamedFileRepeatBitForBit) {
  constexpr std::int64_t n = 2000, d = 96;
  const std::vector<double> x = features(n, d, 22);
  const std::string path =
      ::testing::TempDir() + "alphareq_determinism_" + std::to_string(::getpid()) + ".npy";
  save_npy(path, x.data(), {n, d});
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const AlphaReport in_memory = compute_alpha(host_matrix(x.data(), n, d), options);
  constexpr std::int64_t chunk_rows = 256;
  const AlphaReport streamed =
      compute_alpha_npy(path, options, {}, chunk_rows * d * sizeof(double));
  for (int repeat = 0; repeat < 3; ++repeat) {
    expect_same_report_bits(compute_alpha(host_matrix(x.data(), n, d), options), in_memory);
    expect_same_report_bits(compute_alpha_npy(path, options, {}, chunk_rows * d * sizeof(double)),
                       streamed);
  }
  CovarianceAccumulator chunked(d, options.accumulator);
  for (std::int64_t first = 0; first < n; first += chunk_rows) {
    chunked.add_batch(host_matrix(x.data() + first * d, std::min(chunk_rows, n - first), d));
  }
  expect_same_report_bits(chunked.report(), streamed);
  std::remove(path.c_str());
}

// AccumulatorOptions::deterministic asks nothing of the CPU backend, which is deterministic
// always: accepted, and every number the same to the last bit as without it — streamed,
// copied, merged, and through compute_alpha.
TEST(Determinism, DeterministicOptionIsAcceptedByTheCpuBackendAndChangesNoBit) {
  constexpr std::int64_t n = 2500, d = 72;
  const std::vector<double> x = features(n, d, 24);
  for (const auto precision : {AccumulationPrecision::float64, AccumulationPrecision::float32}) {
    SCOPED_TRACE(precision == AccumulationPrecision::float64 ? "float64" : "float32");
    const auto run = [&](bool deterministic) {
      AccumulatorOptions options{Backend::cpu, precision};
      options.deterministic = deterministic;
      CovarianceAccumulator acc(d, options);
      CovarianceAccumulator tail(d, options);
      acc.add_batch(host_matrix(x.data(), 1000, d));
      tail.add_batch(host_matrix(x.data() + 1000 * d, n - 1000, d));
      acc.merge(tail);
      return acc;
    };
    const CovarianceAccumulator plain = run(false);
    const CovarianceAccumulator deterministic = run(true);
    EXPECT_EQ(deterministic.backend(), Backend::cpu);
    expect_same_report_bits(deterministic.report(), plain.report());
    expect_same_report_bits(run(true).report(), plain.report());
    EXPECT_TRUE(same_bits(deterministic.covariance(), plain.covariance()));
    EXPECT_TRUE(same_bits(deterministic.mean(), plain.mean()));
    const CovarianceAccumulator copy = deterministic;  // NOLINT(performance-unnecessary-copy-initialization)
    expect_same_report_bits(copy.report(), plain.report());
  }
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const AlphaReport plain = compute_alpha(host_matrix(x.data(), n, d), options);
  options.accumulator.deterministic = true;
  expect_same_report_bits(compute_alpha(host_matrix(x.data(), n, d), options), plain);
}

// The option defaults to off.
TEST(Determinism, DeterministicOptionDefaultsToOff) {
  EXPECT_FALSE(AccumulatorOptions{}.deterministic);
  EXPECT_FALSE(AlphaOptions{}.accumulator.deterministic);
}

// The tool's --deterministic flag reaches the accumulator's options.
TEST(Determinism, CommandLineFlagSetsTheOption) {
  EXPECT_FALSE(cli::parse_arguments({"features.npy"}).options.accumulator.deterministic);
  const cli::Arguments parsed =
      cli::parse_arguments({"features.npy", "--deterministic", "--backend", "cpu"});
  EXPECT_TRUE(parsed.options.accumulator.deterministic);
  EXPECT_EQ(parsed.command, cli::Command::analyze_file);
  EXPECT_EQ(parsed.features_path, "features.npy");
  EXPECT_TRUE(cli::parse_arguments({"demo", "--deterministic"}).options.accumulator.deterministic);
  EXPECT_NE(cli::usage_text().find("--deterministic"), std::string::npos);
}

#ifdef ALPHAREQ_CLI_PATH
// Across processes: the tool run twice on the same file prints the same α, intercept and R²
// (JSON prints them with 17 significant digits, which round-trips float64) and writes
// byte-identical eigenvalue files.
TEST(Determinism, TheToolGivesBitIdenticalResultsAcrossProcesses) {
  constexpr std::int64_t n = 1500, d = 80;
  const std::vector<double> x = features(n, d, 23);
  const std::string base =
      ::testing::TempDir() + "alphareq_determinism_cli_" + std::to_string(::getpid());
  save_npy(base + ".npy", x.data(), {n, d});
  const auto field = [](const std::string& json, const std::string& name) {
    std::smatch match;
    const std::regex pattern("\"" + name + "\": ([^,}]+)");
    return std::regex_search(json, match, pattern) ? match[1].str() : std::string("(missing)");
  };
  std::vector<std::string> alphas, intercepts, r2s, eigenvalue_files;
  // The third run with --deterministic, which the CPU backend accepts without effect.
  for (int run = 0; run < 3; ++run) {
    const std::string eigenvalues = base + "_ev" + std::to_string(run) + ".npy";
    const test::CliResult result = test::run_cli(
        ALPHAREQ_CLI_PATH, base + ".npy --backend cpu --json --quiet --eigenvalues-out " +
                               eigenvalues + (run == 2 ? " --deterministic" : ""));
    ASSERT_EQ(result.status, 0) << result.err;
    alphas.push_back(field(result.out, "alpha"));
    intercepts.push_back(field(result.out, "intercept"));
    r2s.push_back(field(result.out, "r2"));
    eigenvalue_files.push_back(test::slurp(eigenvalues));
    std::remove(eigenvalues.c_str());
  }
  EXPECT_NE(alphas[0], "(missing)");
  EXPECT_EQ(alphas[0], alphas[1]);
  EXPECT_EQ(intercepts[0], intercepts[1]);
  EXPECT_EQ(r2s[0], r2s[1]);
  EXPECT_FALSE(eigenvalue_files[0].empty());
  EXPECT_EQ(eigenvalue_files[0], eigenvalue_files[1]);
  EXPECT_EQ(alphas[0], alphas[2]);
  EXPECT_EQ(eigenvalue_files[0], eigenvalue_files[2]);
  // And the tool's α is the library's, to the last bit.
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const AlphaReport library = compute_alpha_npy(base + ".npy", options);
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", library.fit.alpha);
  EXPECT_EQ(alphas[0], text);
  std::remove((base + ".npy").c_str());
}
#endif

}  // namespace
}  // namespace alphareq
