// The linear probe's front door: validation, float32 conversion and backend dispatch.

#include "core/enum_check.hpp"
#include "core/host_memory.hpp"
#include "core/number_text.hpp"
#include "core/probe_problem.hpp"

#include <alphareq/error.hpp>
#include <alphareq/probe.hpp>
#include <alphareq/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace alphareq {

std::string to_string(Optimizer optimizer) { return optimizer == Optimizer::sgd ? "sgd" : "adam"; }

Optimizer parse_optimizer(const std::string& name) {
  if (name == "sgd") return Optimizer::sgd;
  if (name == "adam") return Optimizer::adam;
  throw invalid_input("unknown optimizer '" + name + "' (expected sgd or adam)");
}

namespace {

// What the number of classes does not change: checked before the classes are inferred from
// the labels, so that a labels file of the wrong length or a negative label gets its own
// message rather than one about the classes.
void check_count_and_sign(const std::vector<std::int32_t>& labels, std::int64_t rows,
                          const std::string& what) {
  if (static_cast<std::int64_t>(labels.size()) != rows) {
    throw invalid_input(what + ": " + std::to_string(labels.size()) + " labels for " +
                        std::to_string(rows) + " feature rows");
  }
  const auto negative = std::find_if(labels.begin(), labels.end(), [](std::int32_t l) { return l < 0; });
  if (negative != labels.end()) {
    throw invalid_input(what + ": label " + std::to_string(*negative) + " at row " +
                        std::to_string(negative - labels.begin()) + " is negative (classes count from 0)");
  }
}

}  // namespace

void check_labels(const std::vector<std::int32_t>& labels, std::int64_t rows,
                  std::int64_t classes, const std::string& what) {
  check_count_and_sign(labels, rows, what);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw invalid_input(what + ": label " + std::to_string(labels[i]) + " at row " +
                          std::to_string(i) + " is outside the classes 0.." +
                          std::to_string(classes - 1));
    }
  }
}

namespace detail {

std::vector<float> initial_parameters(std::int64_t dim, std::int64_t classes, std::uint64_t seed) {
  NormalGenerator random(seed ^ 0x5EEDULL);
  const double bound = 1.0 / std::sqrt(static_cast<double>(dim));
  std::vector<float> parameters(static_cast<std::size_t>(classes * dim + classes));
  for (float& p : parameters) p = static_cast<float>((2.0 * random.next_uniform() - 1.0) * bound);
  return parameters;
}

void epoch_permutation(std::uint64_t seed, std::int64_t epoch, std::vector<std::int32_t>& order) {
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int32_t>(i);
  NormalGenerator random(seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(epoch) + 1);
  for (std::size_t i = order.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(random.next_u64() % i);
    std::swap(order[i - 1], order[j]);
  }
}

double resolved_learning_rate(const ProbeOptions& options) {
  if (options.learning_rate >= 0.0) return options.learning_rate;
  return options.optimizer == Optimizer::sgd ? 0.1 : 1e-3;
}

}  // namespace detail

namespace {

// The features as the probe reads them: contiguous float32 rows, NaN/Inf refused (a probe
// would silently diverge). A contiguous float32 view is read in place: an ImageNet-sized
// train split is 10.5 GB, and a copy would double what the probe needs. Anything else
// (float64, strided rows) is converted into a copy. The view's shape is checked already.
class ContiguousFloat32 {
 public:
  ContiguousFloat32(const MatrixView& view, const char* what) {
    if (view.space != MemorySpace::host || (view.dtype != DType::float32 && view.dtype != DType::float64)) {
      throw invalid_input(std::string(what) + ": the probe takes float32 or float64 host features");
    }
    const bool in_place = reads_in_place(view);
    if (!in_place) copy_.resize(static_cast<std::size_t>(view.rows * view.cols));
    for (std::int64_t r = 0; r < view.rows; ++r) {
      for (std::int64_t c = 0; c < view.cols; ++c) {
        const double x = view.dtype == DType::float32
                             ? static_cast<const float*>(view.data)[r * view.row_stride + c]
                             : static_cast<const double*>(view.data)[r * view.row_stride + c];
        // Checked as the float32 the probe reads: a finite float64 beyond float32's range
        // became Inf after the check, and the training "diverged".
        const float value = static_cast<float>(x);
        if (!std::isfinite(value)) {
          throw invalid_input(std::string(what) + ": " +
                              (std::isnan(x) ? "NaN" : std::isinf(x) ? "Inf" : detail::number_text(x) +
                                                                          ", beyond float32's range,") +
                              " at row " + std::to_string(r) + ", column " + std::to_string(c) +
                              " (0-based)");
        }
        if (!in_place) copy_[r * view.cols + c] = value;
      }
    }
    data_ = in_place ? static_cast<const float*>(view.data) : copy_.data();
  }

  const float* data() const { return data_; }

  /// Whether `view` is read where it is (contiguous float32), or copied.
  static bool reads_in_place(const MatrixView& view) {
    return view.dtype == DType::float32 && (view.row_stride == view.cols || view.rows == 1);
  }

 private:
  std::vector<float> copy_;
  const float* data_ = nullptr;
};

void check_options(const ProbeOptions& options) {
  detail::require_known_value(options.optimizer, Optimizer::adam, "probe: optimizer");
  if (options.epochs < 1) throw invalid_input("probe: epochs must be >= 1");
  if (options.batch_size < 1) throw invalid_input("probe: batch size must be >= 1");
  if (!std::isfinite(options.learning_rate) || options.learning_rate == 0.0) {
    throw invalid_input("probe: the learning rate must be a finite number > 0 (or negative for the "
                        "optimizer's default), got " + detail::number_text(options.learning_rate));
  }
  if (!(options.momentum >= 0.0 && options.momentum < 1.0)) {
    throw invalid_input("probe: momentum must be in [0, 1)");
  }
  if (!(options.weight_decay >= 0.0) || !std::isfinite(options.weight_decay)) {
    throw invalid_input("probe: weight decay must be a finite number >= 0");
  }
  if (options.classes < 0 || options.classes == 1) {
    throw invalid_input("probe: classes must be >= 2, or 0 to take them from the training labels; got " +
                        std::to_string(options.classes));
  }
}

// The number of classes C: the caller's, or 1 + the largest training label. Inferred, every
// class below it must have a training sample: one stray label (a 7 among 0..4, or 10^7)
// would otherwise add empty classes silently, or ask for weights of any size.
std::int64_t resolve_classes(const std::vector<std::int32_t>& labels, std::int64_t given) {
  if (given > 0) return given;
  if (labels.empty()) throw invalid_input("probe: no training labels");
  const std::int32_t largest = *std::max_element(labels.begin(), labels.end());
  const std::int64_t classes = std::int64_t{largest} + 1;
  if (classes < 2) return classes;  // check_labels and the caller say what is wrong
  const std::string hint =
      " (the largest training label is " + std::to_string(largest) + ", so classes 0.." +
      std::to_string(largest) + " are assumed); if some classes have no training sample, give the "
      "number of classes (ProbeOptions::classes, --classes C)";
  if (classes > static_cast<std::int64_t>(labels.size())) {
    throw invalid_input("train labels: " + std::to_string(labels.size()) + " samples cannot cover " +
                        std::to_string(classes) + " classes" + hint);
  }
  std::vector<char> seen(static_cast<std::size_t>(classes), 0);
  for (std::int32_t label : labels) {
    if (label >= 0) seen[static_cast<std::size_t>(label)] = 1;
  }
  const auto missing = std::find(seen.begin(), seen.end(), 0);
  if (missing != seen.end()) {
    throw invalid_input("train labels: class " + std::to_string(missing - seen.begin()) +
                        " has no sample" + hint);
  }
  return classes;
}

}  // namespace

ProbeResult train_linear_probe(const LabelledData& train, const LabelledData& test,
                               const ProbeOptions& options) {
  check_options(options);
  check_view_shape(train.features, "train features");
  check_view_shape(test.features, "test features");
  if (train.features.cols != test.features.cols) {
    throw invalid_input("probe: train features have " + std::to_string(train.features.cols) +
                        " columns but test features have " + std::to_string(test.features.cols));
  }
  // The epoch's shuffle and the device gathers index rows as int32.
  if (train.features.rows > std::numeric_limits<std::int32_t>::max()) {
    throw invalid_input("probe: at most 2^31 - 1 training rows, got " + std::to_string(train.features.rows));
  }
  if (train.labels.empty()) throw invalid_input("probe: no training labels");
  // Labels first: they are checked in a moment, the features in a pass over all of them.
  check_count_and_sign(train.labels, train.features.rows, "train labels");
  check_count_and_sign(test.labels, test.features.rows, "test labels");
  const std::int64_t classes = resolve_classes(train.labels, options.classes);
  // Before the labels' range: with every training label 0, the test labels' 1 was blamed.
  if (classes < 2) throw invalid_input("probe: needs at least 2 classes in the training labels");
  check_labels(train.labels, train.features.rows, classes, "train labels");
  check_labels(test.labels, test.features.rows, classes, "test labels");

  // Host memory, refused before anything is allocated (given classes can be any number):
  // the float32 copies of features that are not contiguous float32 already; on the CPU
  // also the weights, their gradient, the optimizer's state (two moments at most), a
  // batch's gathered rows, and the logits of a batch (at most the training split) or of the
  // evaluation's chunk (at most 4,096 rows of a split), in float32. The CUDA probe keeps
  // all but the initial weights on the device.
  const Backend backend = resolve_backend(options.backend);
  const std::int64_t dim = train.features.cols;
  const double parameters = static_cast<double>(classes) * static_cast<double>(dim + 1);
  const auto copied_floats = [](const MatrixView& view) {
    return ContiguousFloat32::reads_in_place(view) ? 0.0
                                                   : static_cast<double>(view.rows) * static_cast<double>(view.cols);
  };
  const std::int64_t batch_rows = std::min(options.batch_size, train.features.rows);
  const std::int64_t chunk_rows = std::min<std::int64_t>(4096, std::max(train.features.rows, test.features.rows));
  const double logit_rows = static_cast<double>(std::max(batch_rows, chunk_rows));
  const double floats = copied_floats(train.features) + copied_floats(test.features) +
                        (backend == Backend::cuda
                             ? parameters
                             : 4.0 * parameters + static_cast<double>(batch_rows) * static_cast<double>(dim) +
                                   logit_rows * static_cast<double>(classes));
  detail::require_host_memory(4.0 * floats, "the probe's float32 features, weights, gradient, optimizer state "
                                            "and logits (D = " + std::to_string(dim) + ", " +
                                                std::to_string(classes) + " classes)");

  const ContiguousFloat32 train_x(train.features, "train features");
  const ContiguousFloat32 test_x(test.features, "test features");

  detail::ProbeProblem problem;
  problem.dim = train.features.cols;
  problem.classes = classes;
  problem.train_rows = train.features.rows;
  problem.test_rows = test.features.rows;
  problem.train_features = train_x.data();
  problem.train_labels = train.labels.data();
  problem.test_features = test_x.data();
  problem.test_labels = test.labels.data();
  ProbeResult result;
  switch (backend) {
#ifdef ALPHAREQ_HAS_CUDA
    case Backend::cuda: result = cuda::train_probe(problem, options); break;
#endif
    default: result = cpu::train_probe(problem, options); break;
  }
  // The last epoch's mean loss: a run that blew up earlier ends NaN/Inf here (a blow-up in
  // the very last step shows in the weights only; the accuracies then say it).
  if (!std::isfinite(result.final_loss)) {
    throw numerical_error("probe: the training diverged (final loss " + detail::number_text(result.final_loss) +
                          " after " + std::to_string(result.epochs) + " epochs at learning rate " +
                          detail::number_text(detail::resolved_learning_rate(options)) + "); lower the learning rate");
  }
  return result;
}

}  // namespace alphareq
