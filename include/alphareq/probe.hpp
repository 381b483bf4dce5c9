#pragma once
/// @file probe.hpp
/// Linear probe: a linear classifier (weights D × C and bias C) trained with softmax
/// cross-entropy on precomputed features — the supervised baseline α is timed against.

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace alphareq {

enum class Optimizer {
  sgd,   ///< mini-batch SGD with (heavy-ball) momentum, as torch.optim.SGD
  adam,  ///< Adam (Kingma & Ba), as torch.optim.Adam
};

std::string to_string(Optimizer optimizer);
/// Parses "sgd" / "adam"; throws invalid_input otherwise.
Optimizer parse_optimizer(const std::string& name);

struct ProbeOptions {
  Backend backend = Backend::automatic;
  Optimizer optimizer = Optimizer::sgd;
  std::int64_t epochs = 100;
  std::int64_t batch_size = 256;
  /// Learning rate; a negative value picks the optimizer's default (0.1 for SGD, 1e-3 for Adam).
  double learning_rate = -1.0;
  double momentum = 0.9;       ///< SGD only
  double weight_decay = 0.0;   ///< L2 penalty on the weights (not the bias), both optimizers
  /// Seeds the initial weights and each epoch's shuffle of the training samples.
  std::uint64_t seed = 0;
  /// Number of classes C; 0 takes 1 + the largest training label, and then every class
  /// from 0 to it must have a training sample (a stray label is an error, not a new class).
  std::int64_t classes = 0;
};

/// Features and their integer class labels (0 .. classes − 1), on the host.
struct LabelledData {
  MatrixView features;                ///< float32 or float64 host view, rows = samples
  std::vector<std::int32_t> labels;   ///< one per row
};

struct ProbeResult {
  std::string backend;               ///< "cpu" or "cuda"
  std::int64_t classes = 0;
  std::int64_t epochs = 0;
  double train_accuracy = 0.0;       ///< fraction in [0, 1], after the last epoch
  double test_accuracy = 0.0;
  double final_loss = 0.0;           ///< mean cross-entropy over the last epoch's batches
  std::vector<double> epoch_ms;      ///< time of each epoch (CUDA: device events)
  double train_ms = 0.0;             ///< all epochs, features already in memory
  double evaluate_ms = 0.0;          ///< the two accuracy passes
};

/// Trains the probe on `train` and evaluates it on `train` and `test`. Contiguous float32
/// features are read in place (no copy); float64 or strided ones are converted to float32.
/// Throws invalid_input for mismatched lengths, a label out of range (negative, >= the
/// classes, or a class without training sample when the classes are inferred), different
/// feature widths, non-finite features (or float64 ones beyond float32's range), more than
/// 2^31 - 1 training rows or bad options; out_of_memory when the features' float32 copies,
/// the weights and the optimizer's buffers cannot fit; numerical_error when the last
/// epoch's mean loss is NaN/Inf (the training diverged: the learning rate is too high);
/// backend_unavailable as the accumulator does.
/// The same inputs, options and seed give bit-identical results run to run on one machine
/// (on the CUDA backend: one GPU model and toolkit).
ProbeResult train_linear_probe(const LabelledData& train, const LabelledData& test,
                               const ProbeOptions& options = {});

/// Checks labels: length equal to `rows`, every value in [0, classes). `what` names the set.
void check_labels(const std::vector<std::int32_t>& labels, std::int64_t rows,
                  std::int64_t classes, const std::string& what);

}  // namespace alphareq
