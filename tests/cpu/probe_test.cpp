// The linear probe against an independent float64 reference trainer, and its errors.

#include "core/probe_problem.hpp"
#include "labelled_split.hpp"

#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/probe.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace alphareq {
namespace {

using Data = test::LabelledSplit;

Data make_data(std::int64_t n, std::int64_t d, std::int64_t classes, std::uint64_t stream,
               double separation = 1.0) {
  return test::labelled_split(n, d, classes, 3, stream, separation);
}

ProbeOptions cpu_options(Optimizer optimizer, std::int64_t epochs) {
  ProbeOptions options;
  options.backend = Backend::cpu;
  options.optimizer = optimizer;
  options.epochs = epochs;
  options.batch_size = 64;
  options.weight_decay = 1e-3;
  options.seed = 11;
  return options;
}

// Plain float64 loops: the same model, initialisation, shuffles and update rules as the
// library's documentation states (PyTorch's SGD with momentum and Adam), nothing shared
// but the seeded initial values and orders.
struct ReferenceResult {
  double final_loss, train_accuracy, test_accuracy;
};

ReferenceResult reference_train(const Data& data, std::int64_t classes, const ProbeOptions& o,
                                const Data* test = nullptr) {
  const std::int64_t d = data.d, n = data.n, c_count = classes;
  const std::vector<float> initial = detail::initial_parameters(d, classes, o.seed);
  std::vector<double> p(initial.begin(), initial.end());
  std::vector<double> m(p.size());  // SGD velocity or Adam's first moment
  std::vector<double> v(p.size());  // Adam's second moment
  const double rate = detail::resolved_learning_rate(o);
  const auto weight = [&](std::int64_t feature, std::int64_t c) -> double& { return p[feature * c_count + c]; };
  const auto bias = [&](std::int64_t c) -> double& { return p[classes * d + c]; };
  const auto logits = [&](std::int64_t sample, std::vector<double>& z) {
    for (std::int64_t c = 0; c < c_count; ++c) {
      z[c] = bias(c);
      for (std::int64_t f = 0; f < d; ++f) z[c] += weight(f, c) * data.x[sample * d + f];
    }
  };
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  std::vector<double> z(static_cast<std::size_t>(classes)), g(p.size());
  double loss = 0.0;
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    detail::epoch_permutation(o.seed, epoch, order);
    double loss_sum = 0.0;
    std::int64_t batches = 0;
    for (std::int64_t first = 0; first < n; first += o.batch_size) {
      const std::int64_t rows = std::min(o.batch_size, n - first);
      std::fill(g.begin(), g.end(), 0.0);
      double batch_loss = 0.0;
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t sample = order[first + r];
        logits(sample, z);
        const double top = *std::max_element(z.begin(), z.end());
        double sum = 0.0;
        for (double value : z) sum += std::exp(value - top);
        const std::int32_t label = data.y[sample];
        batch_loss += std::log(sum) - (z[label] - top);
        for (std::int64_t c = 0; c < c_count; ++c) {
          const double delta = (std::exp(z[c] - top) / sum - (c == label)) / rows;
          for (std::int64_t f = 0; f < d; ++f) g[f * c_count + c] += delta * data.x[sample * d + f];
          g[classes * d + c] += delta;
        }
      }
      loss_sum += batch_loss / rows;
      ++batches;
      ++step;
      for (std::size_t i = 0; i < p.size(); ++i) {
        const double gi = g[i] + (i < static_cast<std::size_t>(classes * d) ? o.weight_decay * p[i] : 0.0);
        if (o.optimizer == Optimizer::sgd) {
          m[i] = o.momentum * m[i] + gi;
          p[i] -= rate * m[i];
        } else {
          m[i] = detail::kAdamBeta1 * m[i] + (1 - detail::kAdamBeta1) * gi;
          v[i] = detail::kAdamBeta2 * v[i] + (1 - detail::kAdamBeta2) * gi * gi;
          const double m_hat = m[i] / (1 - std::pow(detail::kAdamBeta1, step));
          const double v_hat = v[i] / (1 - std::pow(detail::kAdamBeta2, step));
          p[i] -= rate * m_hat / (std::sqrt(v_hat) + detail::kAdamEpsilon);
        }
      }
    }
    loss = loss_sum / batches;
  }
  const auto accuracy = [&](const Data& split) {
    std::int64_t correct = 0;
    for (std::int64_t sample = 0; sample < split.n; ++sample) {
      for (std::int64_t c = 0; c < c_count; ++c) {
        z[c] = bias(c);
        for (std::int64_t f = 0; f < d; ++f) z[c] += weight(f, c) * split.x[sample * d + f];
      }
      correct += (std::max_element(z.begin(), z.end()) - z.begin()) == split.y[sample];
    }
    return static_cast<double>(correct) / static_cast<double>(split.n);
  };
  return {loss, accuracy(data), test ? accuracy(*test) : 0.0};
}

class ProbeAgainstReference : public ::testing::TestWithParam<Optimizer> {};

// float32 BLAS against float64 loops over 3 epochs: the trajectories agree to float32
// rounding amplified by training, so the final loss within 1e-3 relative and the
// accuracy within one sample in a hundred.
TEST_P(ProbeAgainstReference, FinalLossAndAccuracyMatch) {
  const Data train = make_data(300, 24, 4, 0), test = make_data(100, 24, 4, 1);
  const ProbeOptions options = cpu_options(GetParam(), 3);
  const ProbeResult result = train_linear_probe(train.labelled(), test.labelled(), options);
  const ReferenceResult reference = reference_train(train, 4, options);
  EXPECT_NEAR(result.final_loss, reference.final_loss, 1e-3 * reference.final_loss);
  EXPECT_NEAR(result.train_accuracy, reference.train_accuracy, 0.01);
  EXPECT_EQ(result.classes, 4);
  EXPECT_EQ(result.epoch_ms.size(), 3u);
  EXPECT_EQ(result.backend, "cpu");
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ProbeAgainstReference,
                         ::testing::Values(Optimizer::sgd, Optimizer::adam),
                         [](const auto& info) { return to_string(info.param); });

// The test accuracy is the test split's: an overfitted probe (train accuracy far above the
// test's), evaluated on 5,000 test rows, more than one 4,096-row evaluation chunk, so that
// the second chunk's rows and labels must be read from where they are.
TEST(Probe, TestAccuracyIsTheTestSplitsOverEveryEvaluationChunk) {
  // 40 samples in 128 dimensions: train accuracy 0.875, test 0.51 (chance 0.25).
  const Data train = make_data(40, 128, 4, 0, 0.25), test = make_data(5000, 128, 4, 1, 0.25);
  const ProbeOptions options = cpu_options(Optimizer::sgd, 20);
  const ProbeResult result = train_linear_probe(train.labelled(), test.labelled(), options);
  const ReferenceResult reference = reference_train(train, 4, options, &test);
  ASSERT_GT(reference.train_accuracy - reference.test_accuracy, 0.2) << "not overfitted: no test";
  ASSERT_GT(reference.test_accuracy, 0.4) << "too close to chance (0.25) to see misread labels";
  EXPECT_NEAR(result.test_accuracy, reference.test_accuracy, 0.01);
  EXPECT_NEAR(result.train_accuracy, reference.train_accuracy, 0.02);
}

TEST(Probe, LearnsWellSeparatedClasses) {
  const Data train = make_data(2000, 32, 5, 0, 3.0), test = make_data(500, 32, 5, 1, 3.0);
  ProbeOptions options = cpu_options(Optimizer::sgd, 10);
  const ProbeResult result = train_linear_probe(train.labelled(), test.labelled(), options);
  EXPECT_GT(result.test_accuracy, 0.95);
  EXPECT_GT(result.train_accuracy, 0.95);
  EXPECT_LT(result.final_loss, 0.3);
}

TEST(Probe, SameSeedSameResultAndOtherSeedOtherTrajectory) {
  const Data train = make_data(400, 16, 3, 0), test = make_data(100, 16, 3, 1);
  ProbeOptions options = cpu_options(Optimizer::adam, 2);
  const ProbeResult a = train_linear_probe(train.labelled(), test.labelled(), options);
  const ProbeResult b = train_linear_probe(train.labelled(), test.labelled(), options);
  EXPECT_EQ(a.final_loss, b.final_loss);
  options.seed = 12;
  const ProbeResult c = train_linear_probe(train.labelled(), test.labelled(), options);
  EXPECT_NE(a.final_loss, c.final_loss);
}

// Contiguous float32 features are read in place, anything else through a float32 copy: the
// same values must train the same probe, bit for bit, whichever way they arrive.
TEST(Probe, Float64AndStridedFeaturesTrainAsTheSameFloat32Values) {
  const Data train = make_data(300, 12, 3, 0), test = make_data(80, 12, 3, 1);
  const ProbeOptions options = cpu_options(Optimizer::sgd, 2);
  const ProbeResult in_place = train_linear_probe(train.labelled(), test.labelled(), options);

  const std::vector<double> wide(train.x.begin(), train.x.end());  // exact: float32 → float64
  LabelledData as_float64 = train.labelled();
  as_float64.features = host_matrix(wide.data(), train.n, train.d);
  std::vector<float> padded(static_cast<std::size_t>(train.n * (train.d + 5)), NAN);  // padding never read
  for (std::int64_t r = 0; r < train.n; ++r) {
    std::copy_n(train.x.data() + r * train.d, train.d, padded.data() + r * (train.d + 5));
  }
  LabelledData strided = train.labelled();
  strided.features = host_matrix(padded.data(), train.n, train.d, train.d + 5);
  for (const LabelledData& other : {as_float64, strided}) {
    const ProbeResult copied = train_linear_probe(other, test.labelled(), options);
    EXPECT_EQ(copied.final_loss, in_place.final_loss);
    EXPECT_EQ(copied.train_accuracy, in_place.train_accuracy);
    EXPECT_EQ(copied.test_accuracy, in_place.test_accuracy);
  }
}

std::string probe_error(const LabelledData& train, const LabelledData& test, ProbeOptions options) {
  try {
    train_linear_probe(train, test, options);
  } catch (const invalid_input& e) {
    return e.what();
  }
  return "<no invalid_input thrown>";
}

TEST(ProbeErrors, LabelsAndShapesAreChecked) {
  const Data train = make_data(50, 8, 3, 0), test = make_data(20, 8, 3, 1);
  const ProbeOptions options = cpu_options(Optimizer::sgd, 1);
  LabelledData short_labels = train.labelled();
  short_labels.labels.pop_back();
  EXPECT_NE(probe_error(short_labels, test.labelled(), options).find("49 labels for 50 feature rows"),
            std::string::npos);
  LabelledData negative = train.labelled();
  negative.labels[7] = -1;
  EXPECT_NE(probe_error(negative, test.labelled(), options).find("label -1 at row 7"), std::string::npos);
  LabelledData unseen = test.labelled();
  unseen.labels[3] = 9;
  EXPECT_NE(probe_error(train.labelled(), unseen, options).find("outside the classes 0..2"),
            std::string::npos);
  const Data wide = make_data(20, 9, 3, 1);
  EXPECT_NE(probe_error(train.labelled(), wide.labelled(), options).find("have 8 columns but test"),
            std::string::npos);
  Data with_nan = train;
  with_nan.x[5 * 8 + 2] = NAN;
  EXPECT_NE(probe_error(with_nan.labelled(), test.labelled(), options).find("NaN at row 5, column 2"),
            std::string::npos);
  // The same checks on the copying path (float64 features), for either split.
  std::vector<double> wide_nan(with_nan.x.begin(), with_nan.x.end());
  const LabelledData test_with_nan{host_matrix(wide_nan.data(), 50, 8), train.y};
  EXPECT_NE(probe_error(train.labelled(), test_with_nan, options).find("test features: NaN at row 5, column 2"),
            std::string::npos);
  std::vector<double> wide_inf(train.x.begin(), train.x.end());
  wide_inf[9 * 8 + 7] = -INFINITY;
  const LabelledData train_with_inf{host_matrix(wide_inf.data(), 50, 8), train.y};
  EXPECT_NE(probe_error(train_with_inf, test.labelled(), options).find("train features: Inf at row 9, column 7"),
            std::string::npos);
  // A finite float64 beyond float32's range became Inf after the check, and the training
  // "diverged" ("lower the learning rate").
  std::vector<double> wide_huge(train.x.begin(), train.x.end());
  wide_huge[5 * 8 + 2] = 1e300;
  const LabelledData train_with_huge{host_matrix(wide_huge.data(), 50, 8), train.y};
  EXPECT_NE(probe_error(train_with_huge, test.labelled(), options)
                .find("train features: 1e+300, beyond float32's range, at row 5, column 2"),
            std::string::npos)
      << probe_error(train_with_huge, test.labelled(), options);
  // One class in the training labels is what is wrong, not the test labels beyond it.
  LabelledData one_class = train.labelled();
  std::fill(one_class.labels.begin(), one_class.labels.end(), 0);
  EXPECT_NE(probe_error(one_class, test.labelled(), options).find("needs at least 2 classes"), std::string::npos)
      << probe_error(one_class, test.labelled(), options);
  // Row indices are int32: 2^31 rows would wrap (the view is refused before it is read).
  const LabelledData too_many{host_matrix(train.x.data(), std::int64_t{1} << 31, 8), train.y};
  EXPECT_NE(probe_error(too_many, test.labelled(), options).find("at most 2^31 - 1 training rows, got 2147483648"),
            std::string::npos);
  ProbeOptions bad = options;
  bad.epochs = 0;
  EXPECT_NE(probe_error(train.labelled(), test.labelled(), bad).find("epochs"), std::string::npos);
  EXPECT_THROW(parse_optimizer("lbfgs"), invalid_input);
}

TEST(ProbeErrors, InferredClassesMustAllHaveTrainingSamples) {
  const Data train = make_data(60, 8, 3, 0), test = make_data(20, 8, 3, 1);
  ProbeOptions options = cpu_options(Optimizer::sgd, 1);
  LabelledData stray = train.labelled();
  stray.labels[11] = 5;  // classes 3 and 4 would be empty
  EXPECT_NE(probe_error(stray, test.labelled(), options)
                .find("train labels: class 3 has no sample (the largest training label is 5"),
            std::string::npos);
  stray.labels[11] = 1 << 30;
  EXPECT_NE(probe_error(stray, test.labelled(), options).find("60 samples cannot cover 1073741825 classes"),
            std::string::npos);
  // Declared classes may lack samples; labels beyond them are refused.
  stray.labels[11] = 5;
  options.classes = 6;
  const ProbeResult result = train_linear_probe(stray, test.labelled(), options);
  EXPECT_EQ(result.classes, 6);
  options.classes = 5;
  EXPECT_NE(probe_error(stray, test.labelled(), options).find("label 5 at row 11 is outside the classes 0..4"),
            std::string::npos);
  options.classes = 1;
  EXPECT_NE(probe_error(train.labelled(), test.labelled(), options).find("classes must be >= 2"), std::string::npos);
  // Length and sign are checked before the classes are inferred: a wrong labels file or a
  // negative label is named as such, not as a class without samples.
  options.classes = 0;
  LabelledData wrong_file = train.labelled();
  wrong_file.labels.assign(59, 0);
  wrong_file.labels[3] = 400;
  EXPECT_NE(probe_error(wrong_file, test.labelled(), options).find("59 labels for 60 feature rows"),
            std::string::npos);
  LabelledData negative = train.labelled();
  negative.labels[0] = -1;
  EXPECT_NE(probe_error(negative, test.labelled(), options).find("label -1 at row 0 is negative"),
            std::string::npos);
}

// The memory check took the batch size as given: 2^33 on 60 rows asked for 96 GiB of
// logits and was refused, where training takes at most the 60 rows a batch (as on CUDA).
TEST(ProbeErrors, ABatchLargerThanTheTrainingSplitIsTheWholeSplit) {
  const Data train = make_data(60, 8, 3, 0), test = make_data(20, 8, 3, 1);
  ProbeOptions whole = cpu_options(Optimizer::sgd, 2);
  whole.batch_size = std::int64_t{1} << 33;
  const ProbeResult result = train_linear_probe(train.labelled(), test.labelled(), whole);
  whole.batch_size = 60;
  const ProbeResult exact = train_linear_probe(train.labelled(), test.labelled(), whole);
  EXPECT_EQ(result.final_loss, exact.final_loss);
}

TEST(ProbeErrors, RatesThatCannotTrainAreRefusedAndDivergenceIsReported) {
  const Data train = make_data(60, 8, 3, 0), test = make_data(20, 8, 3, 1);
  ProbeOptions options = cpu_options(Optimizer::sgd, 2);
  for (double rate : {0.0, std::nan(""), HUGE_VAL}) {
    options.learning_rate = rate;
    EXPECT_NE(probe_error(train.labelled(), test.labelled(), options).find("learning rate must be a finite number"),
              std::string::npos);
  }
  options.weight_decay = NAN;
  options.learning_rate = 0.1;
  EXPECT_NE(probe_error(train.labelled(), test.labelled(), options).find("weight decay"), std::string::npos);
  ProbeOptions unknown = cpu_options(Optimizer::sgd, 2);
  unknown.optimizer = static_cast<Optimizer>(2);  // not sgd or adam: refused, not run as Adam
  EXPECT_NE(probe_error(train.labelled(), test.labelled(), unknown).find("probe: optimizer: unknown value 2"),
            std::string::npos);
  options.weight_decay = 0.0;
  options.learning_rate = 3e38;  // the weights overflow in the first step
  try {
    train_linear_probe(train.labelled(), test.labelled(), options);
    ADD_FAILURE() << "no numerical_error";
  } catch (const numerical_error& e) {
    EXPECT_NE(std::string(e.what()).find("the training diverged (final loss NaN"), std::string::npos) << e.what();
  }
}

// ---- labels from .npy ---------------------------------------------------------------

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "alphareq_labels_" + name; }

// A .npy file written byte by byte (independent of save_npy).
void write_raw_npy(const std::string& path, const std::string& descr, const std::string& shape,
                   const std::vector<unsigned char>& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream file(path, std::ios::binary);
  file.write("\x93NUMPY\x01\x00", 8);
  const unsigned char length[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                   static_cast<unsigned char>(header.size() >> 8)};
  file.write(reinterpret_cast<const char*>(length), 2);
  file << header;
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::vector<unsigned char> encode(const std::vector<long long>& values, int bytes, bool big_endian) {
  std::vector<unsigned char> out;
  for (long long value : values) {
    for (int i = 0; i < bytes; ++i) {
      const int shift = 8 * (big_endian ? bytes - 1 - i : i);
      out.push_back(static_cast<unsigned char>((static_cast<unsigned long long>(value) >> shift) & 0xff));
    }
  }
  return out;
}

TEST(NpyLabels, ReadsInt32AndInt64InBothByteOrdersAndColumnShape) {
  const std::vector<long long> values = {3, 0, 7, 1, 2, 65536, 5};
  const std::vector<std::int32_t> expected(values.begin(), values.end());
  const std::string path = temp_path("ok.npy");
  for (const auto& [descr, bytes, big] : std::vector<std::tuple<std::string, int, bool>>{
           {"<i4", 4, false}, {">i4", 4, true}, {"<i8", 8, false}, {">i8", 8, true}}) {
    write_raw_npy(path, descr, "(7,)", encode(values, bytes, big));
    EXPECT_EQ(load_npy_labels(path), expected) << descr;
    write_raw_npy(path, descr, "(7, 1)", encode(values, bytes, big));
    EXPECT_EQ(load_npy_labels(path), expected) << descr << " (n, 1)";
  }
  save_npy(path, expected.data(), {7});
  EXPECT_EQ(load_npy_labels(path), expected);
  std::remove(path.c_str());
}

std::string labels_error(const std::string& descr, const std::string& shape,
                         const std::vector<unsigned char>& data) {
  const std::string path = temp_path("bad.npy");
  write_raw_npy(path, descr, shape, data);
  try {
    load_npy_labels(path);
  } catch (const file_error& e) {
    std::remove(path.c_str());
    const std::string message = e.what();
    return message.rfind(path, 0) == 0 ? message : "<message does not start with the path> " + message;
  }
  std::remove(path.c_str());
  return "<no file_error thrown>";
}

TEST(NpyLabels, RefusesWhatIsNotAClassIndexArray) {
  EXPECT_NE(labels_error("<f4", "(2,)", encode({0, 0}, 4, false)).find("labels must be int32 or int64"),
            std::string::npos);
  EXPECT_NE(labels_error("<i2", "(2,)", encode({0, 0}, 2, false)).find("int16"), std::string::npos);
  EXPECT_NE(labels_error("<i4", "(2, 2)", encode({0, 1, 2, 3}, 4, false)).find("1-D"), std::string::npos);
  EXPECT_NE(labels_error("<i4", "(0,)", {}).find("empty"), std::string::npos);
  EXPECT_NE(labels_error("<i4", "(3,)", encode({1, -4, 2}, 4, false)).find("label -4 at row 1"),
            std::string::npos);
  EXPECT_NE(labels_error("<i8", "(2,)", encode({1, 1LL << 40}, 8, false)).find("not a class index"),
            std::string::npos);
  EXPECT_NE(labels_error("<i4", "(5,)", encode({1, 2}, 4, false)).find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace alphareq
