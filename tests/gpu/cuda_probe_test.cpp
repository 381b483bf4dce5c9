// The CUDA linear probe against the CPU probe: same data, seed, initialisation and
// shuffles, so the two trajectories differ only by float32 rounding and summation order.

#include "gpu_test_support.hpp"
#include "labelled_split.hpp"

#include <alphareq/error.hpp>
#include <alphareq/probe.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

namespace alphareq {
namespace {

using Split = test::LabelledSplit;

// `separation` 0.25 keeps 10 classes in 128 dimensions apart enough to learn (test accuracy
// 74-80 % after 8 epochs on the CPU) but far from 100 %, so the accuracy comparison means
// something.
Split make_split(std::int64_t n, std::int64_t d, std::int64_t classes, std::uint64_t stream,
                 double separation = 1.0) {
  return test::labelled_split(n, d, classes, 5, stream, separation);
}

struct ProbeCase {
  const char* name;
  Optimizer optimizer;
  double learning_rate;  // negative: the optimizer's default
  double momentum;
  double weight_decay;
  // Relative tolerance on the final loss. The defaults' trajectories stay within float32
  // rounding of each other, far inside 1e-3. With weight decay the bound is 2e-5: a CPU
  // transcription of the kernels and cuBLAS calls (four summation orders; not modelled: the
  // device's expf, within 2 ulps) agreed to 1e-8, while decaying the bias too (a plausible
  // kernel bug; tried on the CPU probe) moved the loss by 8e-5 (SGD) and 1e-4 (Adam) and
  // both accuracies by under 0.5 points.
  double loss_tolerance;
};

void PrintTo(const ProbeCase& probe, std::ostream* out) { *out << probe.name; }

class CudaProbeMatchesCpu : public ::testing::TestWithParam<ProbeCase> {};

// The requirement: the same accuracy within 0.5 percentage points.
TEST_P(CudaProbeMatchesCpu, AccuracyWithinHalfAPercentagePoint) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const ProbeCase& probe = GetParam();
  const Split train = make_split(5000, 128, 10, 0, 0.25), test = make_split(2000, 128, 10, 1, 0.25);
  ProbeOptions options;
  options.optimizer = probe.optimizer;
  options.learning_rate = probe.learning_rate;
  options.momentum = probe.momentum;
  options.weight_decay = probe.weight_decay;
  options.epochs = 8;
  options.batch_size = 128;
  options.seed = 9;
  options.backend = Backend::cpu;
  const ProbeResult cpu = train_linear_probe(train.labelled(), test.labelled(), options);
  options.backend = Backend::cuda;
  const ProbeResult gpu = train_linear_probe(train.labelled(), test.labelled(), options);
  EXPECT_EQ(gpu.backend, "cuda");
  EXPECT_NEAR(gpu.test_accuracy, cpu.test_accuracy, 0.005);
  EXPECT_NEAR(gpu.train_accuracy, cpu.train_accuracy, 0.005);
  // Logistic regression is convex: the two trajectories do not drift apart (CPU: loss
  // 0.81 for SGD, 1.67 for Adam with the defaults).
  EXPECT_NEAR(gpu.final_loss, cpu.final_loss, probe.loss_tolerance * cpu.final_loss);
  ASSERT_EQ(gpu.epoch_ms.size(), 8u);
  for (double ms : gpu.epoch_ms) EXPECT_GT(ms, 0.0);
  // It learned something (chance: 0.1; the CPU: 0.80 and 0.74 with the defaults, 0.50 and
  // 0.53 with weight decay).
  EXPECT_GT(gpu.test_accuracy, 0.3);
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, CudaProbeMatchesCpu,
    ::testing::Values(ProbeCase{"sgd", Optimizer::sgd, -1.0, 0.9, 0.0, 1e-3},
                      ProbeCase{"adam", Optimizer::adam, -1.0, 0.9, 0.0, 1e-3},
                      ProbeCase{"sgd_weight_decay", Optimizer::sgd, 0.05, 0.5, 5e-2, 2e-5},
                      ProbeCase{"adam_weight_decay", Optimizer::adam, 3e-3, 0.9, 5e-2, 2e-5}),
    [](const auto& info) { return std::string(info.param.name); });

// A thousand classes (ImageNet's count) with a partial last batch: the fused softmax
// kernel loops over classes wider than its block and the last batch is smaller. Six epochs
// take the CPU's loss from ln 1000 = 6.91 to 6.50 and its train accuracy to 10.8 % (chance:
// 0.1 %), so a GPU probe that learned nothing fails.
TEST(CudaProbe, ThousandClassesAndPartialLastBatchMatchCpu) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const Split train = make_split(3001, 64, 1000, 0), test = make_split(500, 64, 1000, 1);
  ProbeOptions options;
  options.epochs = 6;
  options.batch_size = 256;
  options.classes = 1000;  // 3001 random labels leave some of the classes without a sample
  options.backend = Backend::cpu;
  const ProbeResult cpu = train_linear_probe(train.labelled(), test.labelled(), options);
  options.backend = Backend::cuda;
  const ProbeResult gpu = train_linear_probe(train.labelled(), test.labelled(), options);
  EXPECT_NEAR(gpu.final_loss, cpu.final_loss, 1e-3 * cpu.final_loss);
  EXPECT_LT(gpu.final_loss, std::log(1000.0) - 0.2);
  EXPECT_NEAR(gpu.train_accuracy, cpu.train_accuracy, 0.005);
  EXPECT_GT(gpu.train_accuracy, 0.05);
}

// Same data, options and seed: the same bits. The trajectory's GEMMs and kernels have a
// fixed order on one GPU, and the reported loss is summed per sample by CUB's device
// reduction after the last epoch; it used to be 5,000 double atomicAdds an epoch, whose
// order (and so last bits) changed from run to run — which four runs show with high
// probability, not certainty, should that come back.
TEST(CudaProbe, SameSeedGivesTheSameBits) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const Split train = make_split(5000, 128, 10, 0, 0.25), test = make_split(2000, 128, 10, 1, 0.25);
  ProbeOptions options;
  options.epochs = 3;
  options.batch_size = 100;
  options.seed = 4;
  options.backend = Backend::cuda;
  const ProbeResult first = train_linear_probe(train.labelled(), test.labelled(), options);
  for (int run = 0; run < 3; ++run) {
    const ProbeResult again = train_linear_probe(train.labelled(), test.labelled(), options);
    EXPECT_EQ(again.final_loss, first.final_loss) << "run " << run;
    EXPECT_EQ(again.train_accuracy, first.train_accuracy) << "run " << run;
    EXPECT_EQ(again.test_accuracy, first.test_accuracy) << "run " << run;
  }
  // And a different seed gives a different trajectory (the seed reaches the device).
  options.seed = 5;
  EXPECT_NE(train_linear_probe(train.labelled(), test.labelled(), options).final_loss, first.final_loss);
}

TEST(CudaProbe, WithoutDeviceCudaBackendIsUnavailable) {
  std::string why;
  if (test::cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  const Split train = make_split(50, 8, 3, 0);
  ProbeOptions options;
  options.backend = Backend::cuda;
  EXPECT_THROW(train_linear_probe(train.labelled(), train.labelled(), options), backend_unavailable);
}

}  // namespace
}  // namespace alphareq
