// The linear probe's front door: validation, float32 conversion and backend dispatch.

#include "core/probe_problem.hpp"

#include <alphareq/error.hpp>
#include <alphareq/probe.hpp>
#include <alphareq/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace alphareq {

std::string to_string(Optimizer optimizer) { return optimizer == Optimizer::sgd ? "sgd" : "adam"; }

Optimizer parse_optimizer(const std::string& name) {
  if (name == "sgd") return Optimizer::sgd;
  if (name == "adam") return Optimizer::adam;
  throw invalid_input("unknown optimizer '" + name + "' (expected sgd or adam)");
}

void check_labels(const std::vector<std::int32_t>& labels, std::int64_t rows,
                  std::int64_t classes, const std::string& what) {
  if (static_cast<std::int64_t>(labels.size()) != rows) {
    throw invalid_input(what + ": " + std::to_string(labels.size()) + " labels for " +
                        std::to_string(rows) + " feature rows");
  }
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
// (float64, strided rows) is converted into a copy.
class ContiguousFloat32 {
 public:
  ContiguousFloat32(const MatrixView& view, const char* what) {
    check_view_shape(view, what);
    if (view.space != MemorySpace::host || (view.dtype != DType::float32 && view.dtype != DType::float64)) {
      throw invalid_input(std::string(what) + ": the probe takes float32 or float64 host features");
    }
    const bool in_place = view.dtype == DType::float32 && (view.row_stride == view.cols || view.rows == 1);
    if (!in_place) copy_.resize(static_cast<std::size_t>(view.rows * view.cols));
    for (std::int64_t r = 0; r < view.rows; ++r) {
      for (std::int64_t c = 0; c < view.cols; ++c) {
        const double x = view.dtype == DType::float32
                             ? static_cast<const float*>(view.data)[r * view.row_stride + c]
                             : static_cast<const double*>(view.data)[r * view.row_stride + c];
        if (!std::isfinite(x)) {
          throw invalid_input(std::string(what) + ": " + (std::isnan(x) ? "NaN" : "Inf") +
                              " at row " + std::to_string(r) + ", column " + std::to_string(c));
        }
        if (!in_place) copy_[r * view.cols + c] = static_cast<float>(x);
      }
    }
    data_ = in_place ? static_cast<const float*>(view.data) : copy_.data();
  }

  const float* data() const { return data_; }

 private:
  std::vector<float> copy_;
  const float* data_ = nullptr;
};

void check_options(const ProbeOptions& options) {
  if (options.epochs < 1) throw invalid_input("probe: epochs must be >= 1");
  if (options.batch_size < 1) throw invalid_input("probe: batch size must be >= 1");
  if (!(detail::resolved_learning_rate(options) > 0.0)) {
    throw invalid_input("probe: the learning rate must be > 0");
  }
  if (options.momentum < 0.0 || options.momentum >= 1.0) {
    throw invalid_input("probe: momentum must be in [0, 1)");
  }
  if (options.weight_decay < 0.0) throw invalid_input("probe: weight decay must be >= 0");
}

}  // namespace

ProbeResult train_linear_probe(const LabelledData& train, const LabelledData& test,
                               const ProbeOptions& options) {
  check_options(options);
  const ContiguousFloat32 train_x(train.features, "train features");
  const ContiguousFloat32 test_x(test.features, "test features");
  if (train.features.cols != test.features.cols) {
    throw invalid_input("probe: train features have " + std::to_string(train.features.cols) +
                        " columns but test features have " + std::to_string(test.features.cols));
  }
  if (train.labels.empty()) throw invalid_input("probe: no training labels");
  const std::int64_t classes =
      1 + static_cast<std::int64_t>(*std::max_element(train.labels.begin(), train.labels.end()));
  check_labels(train.labels, train.features.rows, classes, "train labels");
  check_labels(test.labels, test.features.rows, classes, "test labels");
  if (classes < 2) throw invalid_input("probe: needs at least 2 classes in the training labels");

  detail::ProbeProblem problem;
  problem.dim = train.features.cols;
  problem.classes = classes;
  problem.train_rows = train.features.rows;
  problem.test_rows = test.features.rows;
  problem.train_features = train_x.data();
  problem.train_labels = train.labels.data();
  problem.test_features = test_x.data();
  problem.test_labels = test.labels.data();
  switch (resolve_backend(options.backend)) {
#ifdef ALPHAREQ_HAS_CUDA
    case Backend::cuda: return cuda::train_probe(problem, options);
#endif
    default: return cpu::train_probe(problem, options);
  }
}

}  // namespace alphareq
