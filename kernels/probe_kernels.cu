#include "probe_kernels.cuh"

#include "cuda/cuda_check.hpp"

#include <cub/block/block_reduce.cuh>
#include <cub/device/device_reduce.cuh>

#include <cfloat>

namespace alphareq::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void gather_batch_kernel(const float* __restrict__ x, const std::int32_t* __restrict__ y,
                                    const std::int32_t* __restrict__ order, std::int64_t first,
                                    std::int64_t dim, float* __restrict__ batch_x,
                                    std::int32_t* __restrict__ batch_y) {
  const std::int64_t r = blockIdx.x;
  const std::int64_t sample = order[first + r];
  for (std::int64_t c = threadIdx.x; c < dim; c += blockDim.x) batch_x[r * dim + c] = x[sample * dim + c];
  if (threadIdx.x == 0) batch_y[r] = y[sample];
}

using BlockReduceFloat = cub::BlockReduce<float, kThreads>;

struct MaxOp {
  __device__ float operator()(float a, float b) const { return a > b ? a : b; }
};

__global__ void softmax_cross_entropy_kernel(float* __restrict__ logits, const float* __restrict__ bias,
                                             const std::int32_t* __restrict__ labels,
                                             std::int64_t rows, std::int64_t classes,
                                             double* __restrict__ row_losses) {
  __shared__ typename BlockReduceFloat::TempStorage storage;
  __shared__ float shared_max, shared_sum;
  float* z = logits + blockIdx.x * classes;
  float local_max = -FLT_MAX;
  for (std::int64_t c = threadIdx.x; c < classes; c += blockDim.x) {
    z[c] += bias[c];
    local_max = fmaxf(local_max, z[c]);
  }
  const float top = BlockReduceFloat(storage).Reduce(local_max, MaxOp{});
  if (threadIdx.x == 0) shared_max = top;
  __syncthreads();
  float local_sum = 0.0f;
  for (std::int64_t c = threadIdx.x; c < classes; c += blockDim.x) local_sum += expf(z[c] - shared_max);
  const float sum = BlockReduceFloat(storage).Sum(local_sum);
  if (threadIdx.x == 0) shared_sum = sum;
  __syncthreads();
  const std::int32_t label = labels[blockIdx.x];
  const float scale = 1.0f / static_cast<float>(rows);
  if (threadIdx.x == 0) {
    const double loss = log(static_cast<double>(shared_sum)) - static_cast<double>(z[label] - shared_max);
    row_losses[blockIdx.x] = loss / static_cast<double>(rows);
  }
  __syncthreads();  // z[label] is read above before it is overwritten below
  for (std::int64_t c = threadIdx.x; c < classes; c += blockDim.x) {
    const float p = expf(z[c] - shared_max) / shared_sum;
    z[c] = (p - (c == label ? 1.0f : 0.0f)) * scale;
  }
}

struct ArgMax {
  float value;
  int index;
};
struct ArgMaxOp {
  __device__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
    // Ties go to the lower index, as std::max_element does on the CPU.
    return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
  }
};
using BlockReduceArgMax = cub::BlockReduce<ArgMax, kThreads>;

__global__ void count_correct_kernel(const float* __restrict__ logits, const float* __restrict__ bias,
                                     const std::int32_t* __restrict__ labels, std::int64_t classes,
                                     unsigned long long* __restrict__ correct) {
  __shared__ typename BlockReduceArgMax::TempStorage storage;
  const float* z = logits + blockIdx.x * classes;
  // From (−∞, class 0), not (−FLT_MAX, no class): a row of −∞ or NaN logits (a diverged
  // last step) is class 0, as std::max_element makes it on the CPU, not a class no label has.
  ArgMax best{-INFINITY, 0};
  for (std::int64_t c = threadIdx.x; c < classes; c += blockDim.x) {
    best = ArgMaxOp{}(best, ArgMax{z[c] + bias[c], static_cast<int>(c)});
  }
  const ArgMax top = BlockReduceArgMax(storage).Reduce(best, ArgMaxOp{});
  if (threadIdx.x == 0 && top.index == labels[blockIdx.x]) atomicAdd(correct, 1ULL);
}

__global__ void optimizer_step_kernel(float* __restrict__ parameters, const float* __restrict__ gradient,
                                      float* __restrict__ first, float* __restrict__ second,
                                      std::int64_t size, std::int64_t weights, OptimizerStep step) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size) return;
  float g = gradient[i];
  if (i < weights) g += step.weight_decay * parameters[i];
  if (!step.adam) {
    first[i] = step.momentum * first[i] + g;
    parameters[i] -= step.rate * first[i];
    return;
  }
  first[i] = step.beta1 * first[i] + (1.0f - step.beta1) * g;
  second[i] = step.beta2 * second[i] + (1.0f - step.beta2) * g * g;
  parameters[i] -= step.step_size * first[i] / (sqrtf(second[i]) / step.root_correction2 + step.epsilon);
}

}  // namespace

void launch_gather_batch(const float* x, const std::int32_t* y, const std::int32_t* order,
                         std::int64_t first, std::int64_t rows, std::int64_t dim,
                         float* batch_x, std::int32_t* batch_y, cudaStream_t stream) {
  gather_batch_kernel<<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(x, y, order, first, dim,
                                                                                 batch_x, batch_y);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_softmax_cross_entropy(float* logits, const float* bias, const std::int32_t* labels,
                                  std::int64_t rows, std::int64_t classes, double* row_losses,
                                  cudaStream_t stream) {
  softmax_cross_entropy_kernel<<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(
      logits, bias, labels, rows, classes, row_losses);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

std::size_t sum_scratch_bytes(std::int64_t count) {
  std::size_t bytes = 0;
  ALPHAREQ_CUDA_TRY(cub::DeviceReduce::Sum(nullptr, bytes, static_cast<const double*>(nullptr),
                                           static_cast<double*>(nullptr), count));
  return bytes;
}

void launch_sum(const double* values, std::int64_t count, double* sum, void* scratch,
                std::size_t scratch_bytes, cudaStream_t stream) {
  ALPHAREQ_CUDA_TRY(cub::DeviceReduce::Sum(scratch, scratch_bytes, values, sum, count, stream));
}

void launch_count_correct(const float* logits, const float* bias, const std::int32_t* labels,
                          std::int64_t rows, std::int64_t classes, unsigned long long* correct,
                          cudaStream_t stream) {
  count_correct_kernel<<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(logits, bias, labels,
                                                                                  classes, correct);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

void launch_optimizer_step(float* parameters, const float* gradient, float* first, float* second,
                           std::int64_t size, std::int64_t weights, OptimizerStep step,
                           cudaStream_t stream) {
  const unsigned int blocks = static_cast<unsigned int>((size + kThreads - 1) / kThreads);
  optimizer_step_kernel<<<blocks, kThreads, 0, stream>>>(parameters, gradient, first, second, size,
                                                         weights, step);
  ALPHAREQ_CUDA_CHECK_LAUNCH();
}

}  // namespace alphareq::kernels
