#pragma once
// RAII owners for device memory, pinned host memory, events, streams and the current
// device. Destructors never throw; a thrown exception anywhere leaks nothing.

#include "cuda/cuda_check.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

namespace alphareq::cuda {

/// Raw device allocation that reports what it was for, and how much was free, when it fails.
void* allocate_device_bytes(std::size_t bytes, const std::string& what);
/// Pinned (page-locked) host allocation, same reporting.
void* allocate_pinned_bytes(std::size_t bytes, const std::string& what);

/// Uninitialised device array of T (rmm::device_uvector style), move-only.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::size_t count, const std::string& what)
      : data_(static_cast<T*>(allocate_device_bytes(count * sizeof(T), what))), size_(count) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  std::size_t size() const { return size_; }
  /// Makes room for at least `count` elements; the contents are lost when it grows.
  void reserve_discarding(std::size_t count, const std::string& what) {
    if (count > size_) *this = DeviceBuffer(count, what);
  }

 private:
  void reset() noexcept {
    if (data_ != nullptr) cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Page-locked host array of T, so that host→device copies run asynchronously at full speed.
template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(std::size_t count, const std::string& what)
      : data_(static_cast<T*>(allocate_pinned_bytes(count * sizeof(T), what))), size_(count) {}
  ~PinnedBuffer() {
    if (data_ != nullptr) cudaFreeHost(data_);
  }
  PinnedBuffer(PinnedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A CUDA event. Without timing by default: ordering events are cheaper.
class Event {
 public:
  explicit Event(bool timing = false) {
    ALPHAREQ_CUDA_TRY(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault
                                                                : cudaEventDisableTiming));
  }
  ~Event() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept {
    std::swap(event_, other.event_);
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const { ALPHAREQ_CUDA_TRY(cudaEventRecord(event_, stream)); }
  /// Makes `stream` wait (on the device, not the host) for the work before the last record.
  void make_wait(cudaStream_t stream) const {
    ALPHAREQ_CUDA_TRY(cudaStreamWaitEvent(stream, event_, 0));
  }
  void synchronize() const { ALPHAREQ_CUDA_TRY(cudaEventSynchronize(event_)); }

 private:
  cudaEvent_t event_ = nullptr;
};

/// Milliseconds between two recorded timing events (synchronises on `stop`).
float elapsed_ms(const Event& start, const Event& stop);

/// A non-blocking stream owned by the library (never the legacy default stream, which
/// would serialise with every other library in the process).
class Stream {
 public:
  Stream() { ALPHAREQ_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void synchronize() const { ALPHAREQ_CUDA_TRY(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// Makes `device` current for a scope and restores the caller's device afterwards. Touches
/// nothing when `device` is current already: setting device 0 back on a thread that never
/// chose one would create a context there (hundreds of MB on GPU 0).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    ALPHAREQ_CUDA_TRY(cudaGetDevice(&previous_));
    if (device != previous_) {
      ALPHAREQ_CUDA_TRY(cudaSetDevice(device));
      changed_ = true;
    }
  }
  ~DeviceGuard() {
    if (changed_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace alphareq::cuda
