// The streaming accumulator against a long-double two-pass reference.

#include "reference.hpp"

#include <alphareq/accumulator.hpp>
#include <alphareq/error.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace alphareq {
namespace {

using test::random_matrix;
using test::relative_error;
using test::invalid_input_of;
using test::two_pass_covariance;

// Adds rows [first, first + rows) of a row-major n × d matrix as one batch.
void add_rows(CovarianceAccumulator& acc, const std::vector<double>& x, std::int64_t d,
              std::int64_t first, std::int64_t rows) {
  acc.add_batch(host_matrix(x.data() + first * d, rows, d));
}

void add_in_batches(CovarianceAccumulator& acc, const std::vector<double>& x, std::int64_t d,
                    const std::vector<std::int64_t>& sizes) {
  std::int64_t first = 0;
  for (std::int64_t rows : sizes) {
    add_rows(acc, x, d, first, rows);
    first += rows;
  }
}

CovarianceAccumulator cpu_accumulator(std::int64_t d,
                                      AccumulationPrecision precision = AccumulationPrecision::float64) {
  return CovarianceAccumulator(d, AccumulatorOptions{Backend::cpu, precision});
}

struct BatchSplit {
  const char* name;
  std::vector<std::int64_t> sizes;  // sums to 1000
};

class AccumulatorSplits : public ::testing::TestWithParam<BatchSplit> {};

TEST_P(AccumulatorSplits, MatchesTwoPassReferenceForAnyBatchSizes) {
  constexpr std::int64_t n = 1000, d = 37;
  const auto x = random_matrix(n, d, 11, 3.0, 2.0);
  auto acc = cpu_accumulator(d);
  add_in_batches(acc, x, d, GetParam().sizes);
  EXPECT_EQ(acc.count(), n);
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-13);
  EXPECT_LT(relative_error(acc.mean(), test::two_pass_mean(x, n, d)), 1e-14);
}

INSTANTIATE_TEST_SUITE_P(
    Splits, AccumulatorSplits,
    ::testing::Values(BatchSplit{"whole", {1000}}, BatchSplit{"uneven", {1, 7, 300, 692}},
                      BatchSplit{"single_rows_then_rest", {1, 1, 1, 997}},
                      BatchSplit{"many_small", std::vector<std::int64_t>(40, 25)}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Accumulator, NormalisationByNMinusOneIsUnbiasedCovariance) {
  constexpr std::int64_t n = 250, d = 9;
  const auto x = random_matrix(n, d, 5);
  auto acc = cpu_accumulator(d);
  add_rows(acc, x, d, 0, n);
  EXPECT_LT(relative_error(acc.covariance(Normalization::by_n_minus_one),
                           two_pass_covariance(x, n, d, n - 1)),
            1e-13);
}

TEST(Accumulator, Float32InputMatchesReferenceOnTheSameValues) {
  constexpr std::int64_t n = 800, d = 24;
  const auto x32 = test::to_float(random_matrix(n, d, 21, -1.0, 0.5));
  auto acc = cpu_accumulator(d);
  acc.add_batch(host_matrix(x32.data(), 300, d));
  acc.add_batch(host_matrix(x32.data() + 300 * d, 500, d));
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(test::to_double(x32), n, d, n)),
            1e-13);
}

// report(fit, by_n_minus_one) returns the eigenvalues of the n - 1 covariance, which the CLI
// and the C API print: alpha is scale invariant, so only the eigenvalues can show it.
TEST(Accumulator, ReportEigenvaluesFollowTheNormalization) {
  constexpr std::int64_t n = 90, d = 7;
  const auto x = random_matrix(n, d, 9);
  auto acc = cpu_accumulator(d);
  add_rows(acc, x, d, 0, n);
  const FitOptions fit{FitMethod::weighted, 1, 7, 0};
  const auto by_n = acc.report(fit, Normalization::by_n).eigenvalues;
  const auto unbiased = acc.report(fit, Normalization::by_n_minus_one).eigenvalues;
  EXPECT_LT(relative_error(unbiased, test::dsyev_eigenvalues(two_pass_covariance(x, n, d, n - 1), d)), 1e-12);
  for (std::int64_t i = 0; i < d; ++i) {
    EXPECT_NEAR(unbiased[i], by_n[i] * n / (n - 1), 1e-14 * by_n[0]) << "eigenvalue " << i;
  }
}

// float64 values far from zero with float32 products: the centring must happen in float64
// (the mean in float32 rounds away the spread's digits). Measured: 1.7e-7 as it is, 3.1e-5
// with the centring done in float32. (The float32-input cases below cannot show it: their
// values are exact in float32.)
TEST(Accumulator, Float32ProductsCentreFloat64ValuesInFloat64) {
  constexpr std::int64_t n = 4000, d = 20;
  const auto x = random_matrix(n, d, 9, 1e4, 1.0);
  auto single = cpu_accumulator(d, AccumulationPrecision::float32);
  add_in_batches(single, x, d, {1000, 1000, 1000, 1000});
  EXPECT_LT(relative_error(single.covariance(), two_pass_covariance(x, n, d, n)), 1e-6);
}

// Mean 1e6 times the spread in float64: E[x²] − E[x]² would lose about 12 of 16 digits.
TEST(Accumulator, StaysExactWhenFloat64MeanIsMillionTimesTheSpread) {
  constexpr std::int64_t n = 3000, d = 16;
  const auto x = random_matrix(n, d, 8, 1e6, 1.0);
  auto acc = cpu_accumulator(d);
  add_in_batches(acc, x, d, {1000, 999, 1001});
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(x, n, d, n)), 1e-9);
}

TEST(Accumulator, StaysExactWhenFloat32MeanIsThousandTimesTheSpread) {
  constexpr std::int64_t n = 4000, d = 20;
  const auto x32 = test::to_float(random_matrix(n, d, 9, 1e3, 1.0));
  const auto reference = two_pass_covariance(test::to_double(x32), n, d, n);
  auto exact = cpu_accumulator(d);
  auto single = cpu_accumulator(d, AccumulationPrecision::float32);
  for (std::int64_t first = 0; first < n; first += 1000) {
    exact.add_batch(host_matrix(x32.data() + first * d, 1000, d));
    single.add_batch(host_matrix(x32.data() + first * d, 1000, d));
  }
  EXPECT_LT(relative_error(exact.covariance(), reference), 1e-12);
  // ssyrk rounds each centred value and product to float32, but centring happened in
  // float64 first, so the large offset costs nothing: float32 rounding only.
  EXPECT_LT(relative_error(single.covariance(), reference), 1e-5);
  EXPECT_GT(relative_error(single.covariance(), reference), 0.0);
}

TEST(Accumulator, MergeOfUnevenPartsEqualsOneAccumulator) {
  constexpr std::int64_t n = 1200, d = 31;
  const auto x = random_matrix(n, d, 13, 50.0, 3.0);
  auto a = cpu_accumulator(d), b = cpu_accumulator(d), c = cpu_accumulator(d);
  add_in_batches(a, x, d, {3, 200});  // rows 0..202
  add_rows(b, x, d, 203, 1);
  add_rows(c, x, d, 204, 500);
  add_rows(c, x, d, 704, 496);
  a.merge(b);
  a.merge(c);
  EXPECT_EQ(a.count(), n);
  EXPECT_LT(relative_error(a.covariance(), two_pass_covariance(x, n, d, n)), 1e-13);
  EXPECT_EQ(b.count(), 1);  // the merged-in accumulator is unchanged
}

// The state sent between processes: merging it is merging the accumulator it came from,
// bit for bit, and equals one accumulator over all rows.
TEST(Accumulator, MergeOfAStateEqualsMergeOfItsAccumulator) {
  constexpr std::int64_t n = 700, d = 23;
  const auto x = random_matrix(n, d, 17, 40.0, 2.0);
  auto a = cpu_accumulator(d), b = cpu_accumulator(d);
  add_rows(a, x, d, 0, 250);
  add_rows(b, x, d, 250, 450);
  AccumulatorState sent = b.state();
  EXPECT_EQ(sent.count, 450);
  ASSERT_EQ(sent.m2_upper.size(), static_cast<std::size_t>(d * d));
  for (std::int64_t c = 0; c < d; ++c) {
    for (std::int64_t r = c + 1; r < d; ++r) sent.m2_upper[c * d + r] = NAN;  // not validated, not read
  }
  auto by_state = a;
  by_state.merge_state(sent);
  a.merge(b);
  EXPECT_EQ(by_state.count(), n);
  EXPECT_EQ(by_state.covariance(), a.covariance());
  EXPECT_EQ(by_state.mean(), a.mean());
  EXPECT_LT(relative_error(by_state.covariance(), two_pass_covariance(x, n, d, n)), 1e-13);
  auto empty = cpu_accumulator(d);
  empty.merge_state(AccumulatorState{d, 0, std::vector<double>(d), std::vector<double>(d * d)});
  EXPECT_EQ(empty.count(), 0);
}

TEST(AccumulatorErrors, MalformedStatesAreRefusedLeavingTheAccumulatorUnchanged) {
  constexpr std::int64_t d = 5;
  const auto x = random_matrix(40, d, 19);
  auto acc = cpu_accumulator(d), other = cpu_accumulator(d);
  add_rows(acc, x, d, 0, 20);
  add_rows(other, x, d, 20, 20);
  const auto before = acc.covariance();
  const AccumulatorState good = other.state();
  const auto refused = [&](AccumulatorState state, const std::string& phrase) {
    EXPECT_NE(invalid_input_of([&] { acc.merge_state(state); }).find(phrase), std::string::npos) << phrase;
  };
  AccumulatorState wide = good;
  wide.dim = d + 1;
  refused(wide, "the state has 6 features, the accumulator 5");
  AccumulatorState negative = good;
  negative.count = -3;
  refused(negative, "negative sample count -3");
  AccumulatorState short_mean = good;
  short_mean.mean.pop_back();
  refused(short_mean, "the mean needs 5 values and the second moment 25, got 4 and 25");
  AccumulatorState nan_mean = good;
  nan_mean.mean[2] = NAN;
  refused(nan_mean, "the mean of feature 2 is not finite");
  AccumulatorState inf_moment = good;
  inf_moment.m2_upper[3 * d + 1] = INFINITY;
  refused(inf_moment, "second moment (1, 3) is not finite");
  double largest = 0.0;
  for (std::int64_t i = 0; i < d; ++i) largest = std::max(largest, good.m2_upper[i * d + i]);
  AccumulatorState negative_variance = good;
  negative_variance.m2_upper[4 * d + 4] = -0.05 * largest;  // the slack is 1 % of the largest
  refused(negative_variance, "second moment (4, 4) is a negative variance");
  // A finite, positive-diagonal matrix that is grossly no covariance: M2(1, 3) beyond
  // 2 sqrt(M2(1, 1) M2(3, 3)) + 1 % of the largest variance.
  AccumulatorState not_a_covariance = good;
  const double bound = std::sqrt(good.m2_upper[1 * d + 1] * good.m2_upper[3 * d + 3]);
  not_a_covariance.m2_upper[3 * d + 1] = -(2.0 * bound + 0.02 * largest);
  refused(not_a_covariance, "second moment (1, 3) = ");
  refused(not_a_covariance, "(Cauchy-Schwarz)");
  // A count that does not fit the moments: 20 samples' moments said to be 1 or 0 samples.
  AccumulatorState one_sample = good;
  one_sample.count = 1;
  refused(one_sample, "a state of 1 sample has a nonzero second moment ((0, 0) is ");
  AccumulatorState no_sample = good;
  no_sample.count = 0;
  refused(no_sample, "a state of 0 samples has a nonzero mean (feature 0 is ");
  no_sample.mean.assign(d, 0.0);
  refused(no_sample, "a state of 0 samples has a nonzero second moment");
  AccumulatorState huge = good;  // a forged count: 20 + this would wrap negative
  huge.count = std::numeric_limits<std::int64_t>::max() - 5;
  refused(huge, "samples would overflow the sample count");
  EXPECT_EQ(acc.count(), 20);
  EXPECT_EQ(acc.covariance(), before);
}

// A CUDA float32/TF32 state is a covariance only up to its products' rounding, which grows
// with how far the fixed shift (once the first sample, now the first chunk's mean) lies
// from the mean (an emulation of sparse post-ReLU
// features reached 1.2 times the Cauchy-Schwarz bound, and a nearly constant feature can
// come out with a slightly negative variance). Such a state must still merge (pickled
// accumulators are restored through merge_state).
TEST(Accumulator, MergeStateAcceptsTheRoundingOfAFloat32State) {
  constexpr std::int64_t n = 40, d = 5;
  auto x = random_matrix(n, d, 43);
  for (std::int64_t i = 0; i < n; ++i) x[i * d + 2] = 3.0 + 1e-4 * x[i * d + 2];  // nearly constant
  auto source = cpu_accumulator(d);
  add_rows(source, x, d, 0, n);
  AccumulatorState rounded = source.state();
  double largest = 0.0;
  for (std::int64_t i = 0; i < d; ++i) largest = std::max(largest, rounded.m2_upper[i * d + i]);
  rounded.m2_upper[2 * d + 2] = -1e-4 * largest;
  rounded.m2_upper[1 * d + 0] = 1.2 * std::sqrt(rounded.m2_upper[0] * rounded.m2_upper[1 * d + 1]);
  auto target = cpu_accumulator(d);
  target.merge_state(rounded);
  EXPECT_EQ(target.count(), n);
  EXPECT_EQ(target.covariance()[2 * d + 2], rounded.m2_upper[2 * d + 2] / n);
}

TEST(Accumulator, MergeStateAcceptsExactlyCollinearAndConstantFeatures) {
  // Collinear columns meet the Cauchy-Schwarz bound with equality (up to rounding), and a
  // constant column has a zero row and column: both are covariances and must be accepted.
  constexpr std::int64_t n = 64, d = 4;
  auto x = random_matrix(n, d, 31, -3.0, 5.0);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i * d + 1] = -2.5 * x[i * d + 0] + 7.0;
    x[i * d + 3] = 42.0;
  }
  auto source = cpu_accumulator(d);
  add_rows(source, x, d, 0, n);
  auto target = cpu_accumulator(d);
  target.merge_state(source.state());
  EXPECT_EQ(target.covariance(), source.covariance());
  // One sample: a mean and a zero second moment, as exported.
  auto single = cpu_accumulator(d);
  add_rows(single, x, d, 5, 1);
  target.merge_state(single.state());
  EXPECT_EQ(target.count(), n + 1);
}

TEST(Accumulator, MergeIsIndependentOfOrder) {
  constexpr std::int64_t n = 600, d = 12;
  const auto x = random_matrix(n, d, 17, -7.0, 2.0);
  auto first = cpu_accumulator(d), second = cpu_accumulator(d);
  add_rows(first, x, d, 0, 100);
  add_rows(second, x, d, 100, 500);
  auto forward = first;
  forward.merge(second);
  auto backward = second;
  backward.merge(first);
  EXPECT_LT(relative_error(forward.covariance(), backward.covariance()), 1e-14);
  EXPECT_LT(relative_error(forward.mean(), backward.mean()), 1e-14);
}

TEST(Accumulator, MergingWithItselfDoublesCountAndKeepsCovariance) {
  constexpr std::int64_t n = 300, d = 8;
  const auto x = random_matrix(n, d, 23);
  auto acc = cpu_accumulator(d);
  add_rows(acc, x, d, 0, n);
  const auto before = acc.covariance();
  acc.merge(acc);
  EXPECT_EQ(acc.count(), 2 * n);
  EXPECT_LT(relative_error(acc.covariance(), before), 1e-14);
}

TEST(Accumulator, MergingAnEmptyAccumulatorChangesNothing) {
  constexpr std::int64_t n = 50, d = 6;
  const auto x = random_matrix(n, d, 29);
  auto acc = cpu_accumulator(d);
  add_rows(acc, x, d, 0, n);
  const auto before = acc.covariance();
  acc.merge(cpu_accumulator(d));
  EXPECT_EQ(acc.count(), n);
  EXPECT_EQ(acc.covariance(), before);
}

TEST(Accumulator, ReadsStridedViewsOfAWiderMatrix) {
  constexpr std::int64_t n = 400, d = 10, stride = 17;
  const auto wide = random_matrix(n, stride, 31);
  std::vector<double> packed(static_cast<std::size_t>(n * d));
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < d; ++c) packed[r * d + c] = wide[r * stride + c + 3];
  auto acc = cpu_accumulator(d);
  acc.add_batch(host_matrix(wide.data() + 3, n, d, stride));
  EXPECT_LT(relative_error(acc.covariance(), two_pass_covariance(packed, n, d, n)), 1e-13);
}

TEST(AccumulatorErrors, AMovedFromAccumulatorSaysSoAndCanBeAssignedAgain) {
  constexpr std::int64_t d = 4;
  const auto x = random_matrix(30, d, 41);
  auto source = cpu_accumulator(d);
  add_rows(source, x, d, 0, 30);
  const auto expected = source.covariance();
  CovarianceAccumulator target(std::move(source));
  EXPECT_EQ(target.covariance(), expected);
  for (const auto& use : std::vector<std::function<void()>>{
           [&] { (void)source.count(); },
           [&] { add_rows(source, x, d, 0, 5); },
           [&] { CovarianceAccumulator copy(source); },
           [&] { target.merge(source); },
           [&] { (void)source.report(); }}) {
    EXPECT_NE(invalid_input_of(use).find("moved from"), std::string::npos);
  }
  EXPECT_EQ(target.count(), 30);  // the refused merge left it as it was
  source = cpu_accumulator(d);
  add_rows(source, x, d, 0, 30);
  EXPECT_EQ(source.covariance(), expected);
}

TEST(Accumulator, CopiesAreIndependent) {
  constexpr std::int64_t d = 5;
  const auto x = random_matrix(20, d, 37);
  auto original = cpu_accumulator(d);
  add_rows(original, x, d, 0, 10);
  auto copy = original;
  add_rows(copy, x, d, 10, 10);
  EXPECT_EQ(original.count(), 10);
  EXPECT_EQ(copy.count(), 20);
}

// ---- bad input: a clear error and the state as it was --------------------------------


TEST(AccumulatorErrors, NaNNamesGlobalRowAndColumnAndLeavesStateIntact) {
  constexpr std::int64_t d = 7;
  auto x = random_matrix(30, d, 41);
  auto acc = cpu_accumulator(d);
  add_rows(acc, x, d, 0, 12);
  const auto before = acc.covariance();
  x[(12 + 5) * d + 3] = std::numeric_limits<double>::quiet_NaN();
  x[(12 + 9) * d + 1] = std::numeric_limits<double>::infinity();  // later: not the first
  const std::string message = invalid_input_of([&] { add_rows(acc, x, d, 12, 18); });
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
  EXPECT_NE(message.find("row 17, column 3"), std::string::npos) << message;
  EXPECT_EQ(acc.count(), 12);
  EXPECT_EQ(acc.covariance(), before);
}

TEST(AccumulatorErrors, InfInFloat32InputIsNamed) {
  constexpr std::int64_t d = 4;
  auto x = test::to_float(random_matrix(10, d, 43));
  x[2 * d + 2] = -std::numeric_limits<float>::infinity();
  auto acc = cpu_accumulator(d);
  const std::string message = invalid_input_of([&] { acc.add_batch(host_matrix(x.data(), 10, d)); });
  EXPECT_NE(message.find("Inf in the features at row 2, column 2"), std::string::npos) << message;
  EXPECT_EQ(acc.count(), 0);
}

TEST(AccumulatorErrors, WrongWidthIsRefused) {
  const auto x = random_matrix(10, 6, 47);
  auto acc = cpu_accumulator(5);
  const std::string message = invalid_input_of([&] { acc.add_batch(host_matrix(x.data(), 10, 6)); });
  EXPECT_NE(message.find("6 columns but the accumulator has 5 features"), std::string::npos)
      << message;
}

TEST(AccumulatorErrors, MalformedViewsAreRefused) {
  const auto x = random_matrix(10, 6, 53);
  auto acc = cpu_accumulator(6);
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(host_matrix(x.data(), 10, 6, 4)); }).find("row_stride 4"),
            std::string::npos);
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(host_matrix(static_cast<const double*>(nullptr), 10, 6)); })
                .find("null"),
            std::string::npos);
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(host_matrix(x.data(), 0, 6)); }).find("at least 1 row"),
            std::string::npos);
  MatrixView device = host_matrix(x.data(), 10, 6);
  device.space = MemorySpace::device;
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(device); }).find("device pointer"), std::string::npos);
  MatrixView half = host_matrix(x.data(), 10, 6);
  half.dtype = DType::float16;
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(half); }).find("float16"), std::string::npos);
  MatrixView misaligned = host_matrix(x.data(), 9, 6);
  misaligned.data = reinterpret_cast<const unsigned char*>(x.data()) + 1;  // the C API's caller can
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(misaligned); }).find("not aligned to its 8-byte elements"),
            std::string::npos);
  // A producer's stride of 2^61 elements: the byte offset of row 1 wrapped around to row 0's,
  // and the batch was read as two copies of it (found through a lying DLPack producer).
  const MatrixView wrapping = host_matrix(x.data(), 2, 6, std::int64_t{1} << 61);
  EXPECT_NE(invalid_input_of([&] { acc.add_batch(wrapping); }).find("span more bytes than an address space holds"),
            std::string::npos);
  EXPECT_EQ(acc.count(), 0);
}

TEST(AccumulatorErrors, TooFewSamplesForTheAskedResult) {
  const auto x = random_matrix(1, 3, 59);
  auto acc = cpu_accumulator(3);
  EXPECT_NE(invalid_input_of([&] { acc.mean(); }).find("at least 1 samples"), std::string::npos);
  add_rows(acc, x, 3, 0, 1);
  EXPECT_NO_THROW(acc.covariance(Normalization::by_n));
  EXPECT_NE(invalid_input_of([&] { acc.covariance(Normalization::by_n_minus_one); }).find("at least 2"),
            std::string::npos);
  EXPECT_NE(invalid_input_of([&] { acc.eigenvalues(); }).find("at least 2"), std::string::npos);
  EXPECT_NE(invalid_input_of([&] { acc.report(); }).find("at least 2"), std::string::npos);
}

TEST(AccumulatorErrors, MergeOfDifferentWidthsIsRefused) {
  auto a = cpu_accumulator(3), b = cpu_accumulator(4);
  EXPECT_NE(invalid_input_of([&] { a.merge(b); }).find("different widths (3 and 4"), std::string::npos);
}

TEST(AccumulatorErrors, NonPositiveWidthIsRefused) {
  EXPECT_THROW(cpu_accumulator(0), invalid_input);
  EXPECT_THROW(cpu_accumulator(-3), invalid_input);
}

TEST(AccumulatorErrors, CovarianceTooLargeForThisMachineIsRefusedBeforeAllocating) {
  try {
    cpu_accumulator(std::int64_t{1} << 24);  // 2 PiB of float64
    FAIL() << "no out_of_memory thrown";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("PiB"), std::string::npos) << e.what();
  }
}

// A D whose covariance fits in this machine's memory once but not twice: every result
// needs a second D x D copy (the eigensolver's), so the accumulator is refused up front
// (it used to accept it, stream the data and be OOM-killed in report()). Nothing of that
// size is allocated: the check comes first.
TEST(AccumulatorErrors, CovarianceThatFitsOnceButNotTwiceIsRefusedUpFront) {
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  ASSERT_GT(physical, 0.0);
  const auto d = static_cast<std::int64_t>(std::sqrt(0.7 * physical / sizeof(double)));
  try {
    cpu_accumulator(d);
    FAIL() << "no out_of_memory thrown for D = " << d;
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("and the copy of it that its eigenvalues need"), std::string::npos)
        << e.what();
  }
}

TEST(Backends, CudaWithoutCudaBuildSaysWhy) {
#ifndef ALPHAREQ_HAS_CUDA
  try {
    CovarianceAccumulator acc(4, AccumulatorOptions{Backend::cuda});
    FAIL() << "no backend_unavailable thrown";
  } catch (const backend_unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("without the CUDA backend"), std::string::npos);
  }
  std::string notice;
  EXPECT_EQ(resolve_backend(Backend::automatic, &notice), Backend::cpu);
  EXPECT_TRUE(notice.empty());  // a CPU-only build has no other choice to explain
#else
  GTEST_SKIP() << "built with CUDA";
#endif
}

TEST(Backends, NamesParseAndPrint) {
  for (Backend b : {Backend::automatic, Backend::cpu, Backend::cuda}) {
    EXPECT_EQ(parse_backend(to_string(b)), b);
  }
  EXPECT_THROW(parse_backend("gpu"), invalid_input);
}

}  // namespace
}  // namespace alphareq
