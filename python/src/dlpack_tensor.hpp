#pragma once
// A consumed DLPack capsule: what the Python layer needs to read an array in place (data
// pointer, shape, strides in elements, dtype, device) without copying it.

#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>

namespace alphareq::python {

// The DLPack ABI (dlpack.h, versions 0.x and 1.x), declared here so the build needs no
// extra header. Layouts are fixed by the DLPack specification.
namespace dlpack_abi {
struct Device {
  std::int32_t device_type;
  std::int32_t device_id;
};
struct DataType {
  std::uint8_t code;  // 0 int, 1 uint, 2 float, 4 bfloat, 5 complex, 6 bool
  std::uint8_t bits;
  std::uint16_t lanes;
};
struct Tensor {
  void* data;
  Device device;
  std::int32_t ndim;
  DataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // elements; NULL means compact row-major
  std::uint64_t byte_offset;
};
struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor*);
};
struct PackVersion {
  std::uint32_t major;
  std::uint32_t minor;
};
struct ManagedTensorVersioned {
  PackVersion version;
  void* manager_ctx;
  void (*deleter)(ManagedTensorVersioned*);
  std::uint64_t flags;  // bit 0: read only, bit 1: a copy made by the producer
  Tensor dl_tensor;
};
}  // namespace dlpack_abi

/// Takes ownership of the tensor in a "dltensor" or "dltensor_versioned" capsule (renaming
/// it "used_…" as the protocol requires) and calls the producer's deleter on close() or
/// destruction. Throws ValueError for anything else.
class DLPackTensor {
 public:
  explicit DLPackTensor(nanobind::handle capsule);
  ~DLPackTensor();
  DLPackTensor(const DLPackTensor&) = delete;
  DLPackTensor& operator=(const DLPackTensor&) = delete;

  /// Releases the producer's tensor; the views read from it are invalid afterwards.
  void close() noexcept;
  bool closed() const { return tensor_ == nullptr; }

  /// First element's address (data + byte_offset).
  std::uintptr_t data() const;
  nanobind::tuple shape() const;
  /// Strides in elements; computed as compact row-major when the producer gave none.
  nanobind::tuple strides() const;
  /// "float16", "bfloat16", "float32", "float64", or a description of another type
  /// ("int64", "complex64", "float32x4", ...).
  std::string dtype() const;
  std::size_t itemsize() const;
  /// DLPack device type (1 CPU, 2 CUDA, 3 CUDA pinned host, 13 CUDA managed, ...) and id.
  int device_type() const;
  int device_id() const;
  bool read_only() const { return (flags_ & 1u) != 0; }
  bool copied() const { return (flags_ & 2u) != 0; }
  int version_major() const { return static_cast<int>(major_); }

 private:
  const dlpack_abi::Tensor& tensor() const;

  const dlpack_abi::Tensor* tensor_ = nullptr;
  dlpack_abi::ManagedTensor* legacy_ = nullptr;
  dlpack_abi::ManagedTensorVersioned* versioned_ = nullptr;
  std::uint64_t flags_ = 0;
  std::uint32_t major_ = 0;
};

void bind_dlpack_tensor(nanobind::module_& module);

}  // namespace alphareq::python
