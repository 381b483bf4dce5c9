#pragma once
// Helpers for the GPU tests: skipping without a device, RAII device/pinned memory and
// streams, and uploading host values converted to any alphareq dtype.
//
// Every CUDA call is checked. A failing call throws std::runtime_error naming the call, the
// error and the source line: GoogleTest reports the exception as a failure of the test and
// stops it there, like an ASSERT (ASSERT_* itself only works in void functions, and these
// helpers have constructors and return values). Destructors cannot throw: they record a
// non-fatal failure instead.

#include <alphareq/matrix_view.hpp>
#include <alphareq/synthetic.hpp>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace alphareq::test {

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw std::runtime_error(std::string(call) + " failed: " + cudaGetErrorName(status) + " (" +
                           cudaGetErrorString(status) + ") at " + file + ":" +
                           std::to_string(line));
}

/// Throws std::runtime_error (a test failure) unless `call` returns cudaSuccess.
#define ALPHAREQ_TEST_CUDA_CHECK(call) ::alphareq::test::check_cuda((call), #call, __FILE__, __LINE__)

/// Number of usable CUDA devices; 0 (and `why` says why) when there is none or the runtime
/// cannot talk to a driver.
inline int cuda_device_count(std::string* why = nullptr) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // a failed query must not leave an error behind for later calls
    if (why != nullptr) {
      *why = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
             cudaGetErrorString(status) + ")";
    }
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "cudaGetDeviceCount reports 0 devices";
  return count;
}

/// Skips the current test (GTEST_SKIP) with the reason when no CUDA device can be used.
#define ALPHAREQ_REQUIRE_CUDA_DEVICE()                                            \
  do {                                                                            \
    std::string alphareq_no_device_reason_;                                       \
    if (::alphareq::test::cuda_device_count(&alphareq_no_device_reason_) == 0) {  \
      GTEST_SKIP() << "no CUDA device: " << alphareq_no_device_reason_;           \
    }                                                                             \
  } while (false)

/// Makes `device` current for the lifetime of the object, then restores the previous one.
class ScopedDevice {
 public:
  explicit ScopedDevice(int device) {
    ALPHAREQ_TEST_CUDA_CHECK(cudaGetDevice(&previous_));
    ALPHAREQ_TEST_CUDA_CHECK(cudaSetDevice(device));
  }
  ~ScopedDevice() {
    const cudaError_t status = cudaSetDevice(previous_);
    if (status != cudaSuccess) ADD_FAILURE() << "cudaSetDevice: " << cudaGetErrorName(status);
  }
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

 private:
  int previous_ = 0;
};

/// Owns `bytes` of memory on the current device (cudaMalloc / cudaFree).
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    ALPHAREQ_TEST_CUDA_CHECK(cudaMalloc(&data_, bytes));
  }
  ~DeviceBuffer() {
    if (data_ == nullptr) return;
    const cudaError_t status = cudaFree(data_);
    if (status != cudaSuccess) ADD_FAILURE() << "cudaFree: " << cudaGetErrorName(status);
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Owns `bytes` of page-locked host memory (cudaMallocHost), so that copies from it are
/// truly asynchronous.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t bytes) : bytes_(bytes) {
    ALPHAREQ_TEST_CUDA_CHECK(cudaMallocHost(&data_, bytes));
  }
  ~PinnedBuffer() {
    if (data_ == nullptr) return;
    const cudaError_t status = cudaFreeHost(data_);
    if (status != cudaSuccess) ADD_FAILURE() << "cudaFreeHost: " << cudaGetErrorName(status);
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* get() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Owns a CUDA stream on the current device. Non-blocking by default: it does not
/// synchronise with the legacy default stream, so work on it is ordered only by the
/// stream itself — what the stream-ordering tests need.
class CudaStream {
 public:
  explicit CudaStream(unsigned flags = cudaStreamNonBlocking) {
    ALPHAREQ_TEST_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, flags));
  }
  ~CudaStream() {
    const cudaError_t status = cudaStreamDestroy(stream_);
    if (status != cudaSuccess) ADD_FAILURE() << "cudaStreamDestroy: " << cudaGetErrorName(status);
  }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  /// The stream as MatrixView::stream wants it.
  void* handle() const { return static_cast<void*>(stream_); }
  void synchronize() const { ALPHAREQ_TEST_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// The host bytes of `values` converted to `dtype` (float16/bfloat16 through float, with
/// the host conversions of cuda_fp16.h / cuda_bf16.h: round to nearest even).
inline std::vector<unsigned char> encode(const std::vector<double>& values, DType dtype) {
  std::vector<unsigned char> bytes(values.size() * size_of(dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char* out = bytes.data() + i * size_of(dtype);
    switch (dtype) {
      case DType::float16: {
        const __half h = __float2half(static_cast<float>(values[i]));
        std::memcpy(out, &h, sizeof h);
        break;
      }
      case DType::bfloat16: {
        const __nv_bfloat16 b = __float2bfloat16(static_cast<float>(values[i]));
        std::memcpy(out, &b, sizeof b);
        break;
      }
      case DType::float32: {
        const float f = static_cast<float>(values[i]);
        std::memcpy(out, &f, sizeof f);
        break;
      }
      case DType::float64: std::memcpy(out, &values[i], sizeof(double)); break;
    }
  }
  return bytes;
}

/// `values` as the device sees them after encode(): each rounded to `dtype` and converted
/// back to float64 exactly. The reference is computed on these.
inline std::vector<double> rounded_to(const std::vector<double>& values, DType dtype) {
  std::vector<double> rounded(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DType::float16: rounded[i] = __half2float(__float2half(static_cast<float>(values[i]))); break;
      case DType::bfloat16:
        rounded[i] = __bfloat162float(__float2bfloat16(static_cast<float>(values[i])));
        break;
      case DType::float32: rounded[i] = static_cast<float>(values[i]); break;
      case DType::float64: rounded[i] = values[i]; break;
    }
  }
  return rounded;
}

/// A new device buffer (on the current device) holding `values` converted to `dtype`.
/// Synchronous: the data is on the device when it returns.
inline DeviceBuffer upload(const std::vector<double>& values, DType dtype) {
  const std::vector<unsigned char> bytes = encode(values, dtype);
  DeviceBuffer buffer(bytes.size());
  ALPHAREQ_TEST_CUDA_CHECK(cudaMemcpy(buffer.get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
  return buffer;
}

/// View of rows [first_row, first_row + rows) of a row-major device matrix of `dtype` with
/// `row_stride` elements per row, starting `first_column` elements into each row.
inline MatrixView device_view(const DeviceBuffer& buffer, DType dtype, std::int64_t first_row,
                              std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                              std::int64_t first_column = 0, void* stream = nullptr) {
  MatrixView view;
  view.data = static_cast<const unsigned char*>(buffer.get()) +
              static_cast<std::size_t>(first_row * row_stride + first_column) * size_of(dtype);
  view.rows = rows;
  view.cols = cols;
  view.row_stride = row_stride;
  view.dtype = dtype;
  view.space = MemorySpace::device;
  view.stream = stream;
  return view;
}

/// n × d features with population spectrum λ_i = i^-alpha (rotated) and every mean
/// `offset`: far above the spread by default, which the shifted sums must cope with.
inline std::vector<double> offset_power_law_features(std::int64_t n, std::int64_t d, double alpha,
                                                     std::uint64_t seed, double offset = 10.0) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = alpha;
  spec.seed = seed;
  spec.offset = offset;
  return synthetic_power_law_features(spec);
}

}  // namespace alphareq::test
