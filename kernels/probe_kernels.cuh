#pragma once
// Kernels of the linear probe's training step; the products themselves are cuBLAS GEMMs.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace alphareq::kernels {

/// batch_x[r, :] = x[order[first + r], :] and batch_y[r] = y[order[first + r]], r < rows.
void launch_gather_batch(const float* x, const std::int32_t* y, const std::int32_t* order,
                         std::int64_t first, std::int64_t rows, std::int64_t dim,
                         float* batch_x, std::int32_t* batch_y, cudaStream_t stream);

/// Fused softmax, cross-entropy and gradient: for each row of logits (rows × classes,
/// row-major, bias not yet added) turns the row into (softmax − one-hot) / rows in place
/// and writes the row's loss / rows to row_losses[row]. One block a row. Per-row values
/// summed afterwards by launch_sum, not atomically added: the loss has the same bits on
/// every run.
void launch_softmax_cross_entropy(float* logits, const float* bias, const std::int32_t* labels,
                                  std::int64_t rows, std::int64_t classes, double* row_losses,
                                  cudaStream_t stream);

/// Scratch bytes launch_sum needs for `count` values.
std::size_t sum_scratch_bytes(std::int64_t count);

/// *sum = Σ values[0..count), by CUB's device reduction: its order depends only on `count`
/// and the GPU, so the result is the same bits run to run.
void launch_sum(const double* values, std::int64_t count, double* sum, void* scratch,
                std::size_t scratch_bytes, cudaStream_t stream);

/// Counts rows whose largest logit (plus bias) is at their label into *correct.
void launch_count_correct(const float* logits, const float* bias, const std::int32_t* labels,
                          std::int64_t rows, std::int64_t classes, unsigned long long* correct,
                          cudaStream_t stream);

/// Optimizer step on `size` parameters, weight decay on the first `weights` of them.
/// SGD: first = momentum · first + g; p −= rate · first. Adam: PyTorch's update, with
/// step_size = rate / (1 − β1^t) and root_correction2 = √(1 − β2^t).
struct OptimizerStep {
  bool adam;
  float rate, momentum, weight_decay;
  float beta1, beta2, epsilon, step_size, root_correction2;
};
void launch_optimizer_step(float* parameters, const float* gradient, float* first, float* second,
                           std::int64_t size, std::int64_t weights, OptimizerStep step,
                           cudaStream_t stream);

}  // namespace alphareq::kernels
