#pragma once
// Features copied into device memory once, so that `table1` can time α on device-resident
// features as the CUDA backend's users have them.

#include <alphareq/matrix_view.hpp>

#include <cstdint>

namespace alphareq::cli {

class DeviceFeatures {
 public:
  /// Copies rows × cols float32 host values to the device (throws without CUDA).
  DeviceFeatures(const float* host, std::int64_t rows, std::int64_t cols);
  ~DeviceFeatures();
  DeviceFeatures(const DeviceFeatures&) = delete;
  DeviceFeatures& operator=(const DeviceFeatures&) = delete;
  MatrixView view() const;

 private:
  void* data_ = nullptr;
  std::int64_t rows_, cols_;
};

}  // namespace alphareq::cli
