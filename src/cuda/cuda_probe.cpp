// The linear probe on the GPU: features and labels resident in device memory, cuBLAS GEMMs
// for the forward and backward products, one fused kernel for softmax, loss and the
// logits' gradient, and no host synchronisation inside an epoch (each epoch's shuffle is
// uploaded from pinned memory ahead of it).

#include "core/probe_problem.hpp"
#include "core/stopwatch.hpp"
#include "cuda/cublas_handle.hpp"
#include "cuda/cuda_accumulator.hpp"
#include "cuda/device_memory.hpp"
#include "kernels/probe_kernels.cuh"

#include <algorithm>
#include <cmath>
#include <vector>

namespace alphareq::cuda {
namespace {

template <typename T>
DeviceBuffer<T> upload(const T* host, std::size_t count, const char* what, cudaStream_t stream) {
  DeviceBuffer<T> device(count, what);
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(device.data(), host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  return device;
}

kernels::OptimizerStep optimizer_step(const ProbeOptions& options, std::int64_t step) {
  kernels::OptimizerStep s{};
  s.adam = options.optimizer == Optimizer::adam;
  s.rate = static_cast<float>(detail::resolved_learning_rate(options));
  s.momentum = static_cast<float>(options.momentum);
  s.weight_decay = static_cast<float>(options.weight_decay);
  s.beta1 = static_cast<float>(detail::kAdamBeta1);
  s.beta2 = static_cast<float>(detail::kAdamBeta2);
  s.epsilon = static_cast<float>(detail::kAdamEpsilon);
  s.step_size = static_cast<float>(detail::resolved_learning_rate(options) /
                                   (1.0 - std::pow(detail::kAdamBeta1, static_cast<double>(step))));
  s.root_correction2 =
      static_cast<float>(std::sqrt(1.0 - std::pow(detail::kAdamBeta2, static_cast<double>(step))));
  return s;
}

}  // namespace

ProbeResult train_probe(const detail::ProbeProblem& problem, const ProbeOptions& options) {
  AccumulatorOptions where;
  const DeviceGuard guard(resolve_device(where));
  const Stream stream;
  const cudaStream_t s = stream.get();
  const CublasHandle cublas(s, CUBLAS_DEFAULT_MATH);
  const std::int64_t d = problem.dim, classes = problem.classes, n = problem.train_rows;
  const std::int64_t batch = std::min(options.batch_size, n);
  const std::size_t parameter_count = static_cast<std::size_t>(classes * d + classes);

  // Everything the epochs touch lives on the device.
  const DeviceBuffer<float> train_x = upload(problem.train_features, static_cast<std::size_t>(n * d), "the training features", s);
  const DeviceBuffer<std::int32_t> train_y = upload(problem.train_labels, static_cast<std::size_t>(n), "the training labels", s);
  const DeviceBuffer<float> test_x = upload(problem.test_features, static_cast<std::size_t>(problem.test_rows * d), "the test features", s);
  const DeviceBuffer<std::int32_t> test_y = upload(problem.test_labels, static_cast<std::size_t>(problem.test_rows), "the test labels", s);
  const std::vector<float> initial = detail::initial_parameters(d, classes, options.seed);
  const DeviceBuffer<float> parameters = upload(initial.data(), parameter_count, "the probe weights", s);
  DeviceBuffer<float> gradient(parameter_count, "the probe gradient");
  DeviceBuffer<float> first_moment(parameter_count, "the optimizer state");
  DeviceBuffer<float> second_moment(parameter_count, "the optimizer state");
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(first_moment.data(), 0, parameter_count * sizeof(float), s));
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(second_moment.data(), 0, parameter_count * sizeof(float), s));
  DeviceBuffer<float> batch_x(static_cast<std::size_t>(batch * d), "the batch features");
  DeviceBuffer<std::int32_t> batch_y(static_cast<std::size_t>(batch), "the batch labels");
  constexpr std::int64_t kEvaluationChunk = 4096;
  DeviceBuffer<float> logits(static_cast<std::size_t>(std::max(batch, kEvaluationChunk) * classes), "the logits");
  const std::vector<float> ones_host(static_cast<std::size_t>(batch), 1.0f);
  const DeviceBuffer<float> ones = upload(ones_host.data(), ones_host.size(), "the ones vector", s);
  // Each sample's loss / its batch's rows, overwritten every epoch: the last epoch's are
  // summed once after training, in a fixed order (no atomics: the same bits every run).
  DeviceBuffer<double> row_losses(static_cast<std::size_t>(n), "the per-sample losses");
  DeviceBuffer<double> loss_sum(1, "the loss");
  const std::size_t loss_scratch_bytes = kernels::sum_scratch_bytes(n);
  DeviceBuffer<unsigned char> loss_scratch(std::max<std::size_t>(loss_scratch_bytes, 1), "the loss reduction's scratch");
  DeviceBuffer<unsigned long long> correct(2, "the accuracy counts");
  DeviceBuffer<std::int32_t> order_device[2] = {DeviceBuffer<std::int32_t>(static_cast<std::size_t>(n), "a shuffle"),
                                                DeviceBuffer<std::int32_t>(static_cast<std::size_t>(n), "a shuffle")};
  PinnedBuffer<std::int32_t> order_pinned[2] = {PinnedBuffer<std::int32_t>(static_cast<std::size_t>(n), "a shuffle"),
                                                PinnedBuffer<std::int32_t>(static_cast<std::size_t>(n), "a shuffle")};
  const Event order_copied[2];
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  std::vector<Event> epoch_events;
  for (std::int64_t i = 0; i <= options.epochs; ++i) epoch_events.emplace_back(true);

  float* weights = parameters.data();
  float* bias = parameters.data() + classes * d;
  const float one = 1.0f, zero = 0.0f;
  const int c32 = static_cast<int>(classes), d32 = static_cast<int>(d);
  std::int64_t step = 0;
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(s));  // uploads done: the timing starts here

  // The shuffle goes up from pinned memory ahead of its epoch; the host waits only for the
  // copy that used the same buffer two epochs ago.
  const auto queue_shuffle = [&](std::int64_t epoch) {
    const int slot = static_cast<int>(epoch % 2);
    order_copied[slot].synchronize();
    detail::epoch_permutation(options.seed, epoch, order);
    std::copy(order.begin(), order.end(), order_pinned[slot].data());
    ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(order_device[slot].data(), order_pinned[slot].data(),
                                      static_cast<std::size_t>(n) * sizeof(std::int32_t),
                                      cudaMemcpyHostToDevice, s));
    order_copied[slot].record(s);
  };

  const detail::Stopwatch training;
  // Epoch 0's shuffle before its start event: the device would idle through the host's
  // permutation (~5 ms at ImageNet's n); later ones are computed while the device runs the
  // previous epoch.
  queue_shuffle(0);
  epoch_events[0].record(s);
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const int slot = static_cast<int>(epoch % 2);
    if (epoch > 0) queue_shuffle(epoch);
    for (std::int64_t first = 0; first < n; first += batch) {
      const std::int64_t rows = std::min(batch, n - first);
      const int r32 = static_cast<int>(rows);
      kernels::launch_gather_batch(train_x.data(), train_y.data(), order_device[slot].data(), first,
                                   rows, d, batch_x.data(), batch_y.data(), s);
      // logitsᵀ (C × rows) = weights (C × D, column-major) · batchᵀ (D × rows).
      ALPHAREQ_CUBLAS_TRY(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_N, c32, r32, d32, &one,
                                      weights, c32, batch_x.data(), d32, &zero, logits.data(), c32));
      kernels::launch_softmax_cross_entropy(logits.data(), bias, batch_y.data(), rows, classes,
                                            row_losses.data() + first, s);
      // Weight gradient (C × D) = G (C × rows) · batch (rows × D); bias gradient = G · 1.
      ALPHAREQ_CUBLAS_TRY(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_T, c32, d32, r32, &one,
                                      logits.data(), c32, batch_x.data(), d32, &zero, gradient.data(), c32));
      ALPHAREQ_CUBLAS_TRY(cublasSgemv(cublas.get(), CUBLAS_OP_N, c32, r32, &one, logits.data(), c32,
                                      ones.data(), 1, &zero, gradient.data() + classes * d, 1));
      kernels::launch_optimizer_step(parameters.data(), gradient.data(), first_moment.data(),
                                     second_moment.data(), static_cast<std::int64_t>(parameter_count),
                                     classes * d, optimizer_step(options, ++step), s);
    }
    epoch_events[epoch + 1].record(s);
  }
  kernels::launch_sum(row_losses.data(), n, loss_sum.data(), loss_scratch.data(), loss_scratch_bytes, s);
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(s));

  ProbeResult result;
  result.backend = "cuda";
  result.classes = classes;
  result.epochs = options.epochs;
  result.train_ms = training.elapsed_ms();
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    result.epoch_ms.push_back(elapsed_ms(epoch_events[epoch], epoch_events[epoch + 1]));
  }
  const std::int64_t batches = (n + batch - 1) / batch;
  double loss = 0.0;
  ALPHAREQ_CUDA_TRY(cudaMemcpy(&loss, loss_sum.data(), sizeof loss, cudaMemcpyDeviceToHost));
  result.final_loss = loss / static_cast<double>(batches);

  const detail::Stopwatch evaluation;
  ALPHAREQ_CUDA_TRY(cudaMemsetAsync(correct.data(), 0, 2 * sizeof(unsigned long long), s));
  const auto count_correct = [&](const float* x, const std::int32_t* y, std::int64_t rows, unsigned long long* counter) {
    for (std::int64_t first = 0; first < rows; first += kEvaluationChunk) {
      const int r32 = static_cast<int>(std::min(kEvaluationChunk, rows - first));
      ALPHAREQ_CUBLAS_TRY(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_N, c32, r32, d32, &one, weights,
                                      c32, x + first * d, d32, &zero, logits.data(), c32));
      kernels::launch_count_correct(logits.data(), bias, y + first, r32, classes, counter, s);
    }
  };
  count_correct(train_x.data(), train_y.data(), n, correct.data());
  count_correct(test_x.data(), test_y.data(), problem.test_rows, correct.data() + 1);
  unsigned long long counts[2] = {0, 0};
  ALPHAREQ_CUDA_TRY(cudaMemcpyAsync(counts, correct.data(), sizeof counts, cudaMemcpyDeviceToHost, s));
  ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(s));
  result.evaluate_ms = evaluation.elapsed_ms();
  result.train_accuracy = static_cast<double>(counts[0]) / static_cast<double>(n);
  result.test_accuracy = static_cast<double>(counts[1]) / static_cast<double>(problem.test_rows);
  return result;
}

}  // namespace alphareq::cuda
