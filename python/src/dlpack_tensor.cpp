#include "dlpack_tensor.hpp"

#include <nanobind/stl/string.h>

#include <string>
#include <vector>

namespace nb = nanobind;

namespace alphareq::python {
namespace {

constexpr const char* kLegacyName = "dltensor";
constexpr const char* kLegacyUsedName = "used_dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kVersionedUsedName = "used_dltensor_versioned";

}  // namespace

DLPackTensor::DLPackTensor(nb::handle capsule) {
  PyObject* object = capsule.ptr();
  if (!PyCapsule_CheckExact(object)) {
    throw nb::type_error("expected a DLPack capsule (the result of __dlpack__())");
  }
  if (PyCapsule_IsValid(object, kVersionedName)) {
    auto* managed = static_cast<dlpack_abi::ManagedTensorVersioned*>(
        PyCapsule_GetPointer(object, kVersionedName));
    if (managed == nullptr || PyCapsule_SetName(object, kVersionedUsedName) != 0) {
      throw nb::python_error();
    }
    versioned_ = managed;
    major_ = managed->version.major;
    if (major_ != 1) {
      // The version, context and deleter come first in every version: release it unread.
      close();
      throw nb::value_error(("DLPack: the producer exported version " + std::to_string(major_) +
                             ".x, which this build of alphareq does not read (it reads 1.x)")
                                .c_str());
    }
    flags_ = managed->flags;
    tensor_ = &managed->dl_tensor;
  } else if (PyCapsule_IsValid(object, kLegacyName)) {
    auto* managed =
        static_cast<dlpack_abi::ManagedTensor*>(PyCapsule_GetPointer(object, kLegacyName));
    if (managed == nullptr || PyCapsule_SetName(object, kLegacyUsedName) != 0) {
      throw nb::python_error();
    }
    legacy_ = managed;
    tensor_ = &managed->dl_tensor;
  } else {
    throw nb::value_error(
        "DLPack: the capsule is not an unused \"dltensor\" or \"dltensor_versioned\" "
        "capsule (was it consumed already?)");
  }
}

DLPackTensor::~DLPackTensor() { close(); }

void DLPackTensor::close() noexcept {
  if (versioned_ != nullptr && versioned_->deleter != nullptr) versioned_->deleter(versioned_);
  if (legacy_ != nullptr && legacy_->deleter != nullptr) legacy_->deleter(legacy_);
  versioned_ = nullptr;
  legacy_ = nullptr;
  tensor_ = nullptr;
}

const dlpack_abi::Tensor& DLPackTensor::tensor() const {
  if (tensor_ == nullptr) throw nb::value_error("DLPack: the tensor was released already");
  return *tensor_;
}

std::uintptr_t DLPackTensor::data() const {
  return reinterpret_cast<std::uintptr_t>(tensor().data) + tensor().byte_offset;
}

nb::tuple DLPackTensor::shape() const {
  const dlpack_abi::Tensor& t = tensor();
  nb::list values;
  for (std::int32_t i = 0; i < t.ndim; ++i) values.append(t.shape[i]);
  return nb::tuple(values);
}

nb::tuple DLPackTensor::strides() const {
  const dlpack_abi::Tensor& t = tensor();
  std::vector<std::int64_t> strides(static_cast<std::size_t>(t.ndim > 0 ? t.ndim : 0), 1);
  if (t.strides != nullptr) {
    for (std::int32_t i = 0; i < t.ndim; ++i) strides[i] = t.strides[i];
  } else {
    // C order; a product beyond int64 (a producer's lying shape) is refused, not wrapped.
    for (std::int32_t i = t.ndim - 2; i >= 0; --i) {
      if (__builtin_mul_overflow(strides[i + 1], t.shape[i + 1], &strides[i])) {
        throw nb::value_error("DLPack: the shape's element count overflows a 64-bit stride");
      }
    }
  }
  nb::list values;
  for (const std::int64_t stride : strides) values.append(stride);
  return nb::tuple(values);
}

std::string DLPackTensor::dtype() const {
  const dlpack_abi::DataType& type = tensor().dtype;
  std::string name;
  switch (type.code) {
    case 0:
      name = "int";
      break;
    case 1:
      name = "uint";
      break;
    case 2:
      name = "float";
      break;
    case 4:
      name = "bfloat";
      break;
    case 5:
      name = "complex";
      break;
    case 6:
      name = "bool";
      break;
    default:
      name = "type code " + std::to_string(type.code) + " of ";
      break;
  }
  name += std::to_string(type.bits);
  if (type.lanes != 1) name += "x" + std::to_string(type.lanes);
  return name;
}

std::size_t DLPackTensor::itemsize() const {
  const dlpack_abi::DataType& type = tensor().dtype;
  return (static_cast<std::size_t>(type.bits) * type.lanes + 7) / 8;
}

int DLPackTensor::device_type() const { return tensor().device.device_type; }
int DLPackTensor::device_id() const { return tensor().device.device_id; }

void bind_dlpack_tensor(nb::module_& module) {
  nb::class_<DLPackTensor>(
      module, "DLPackTensor",
      "A consumed DLPack capsule (internal): read the array in place, then close().")
      .def(nb::init<nb::handle>(), nb::arg("capsule"))
      .def("close", &DLPackTensor::close)
      .def_prop_ro("closed", &DLPackTensor::closed)
      .def_prop_ro("data", &DLPackTensor::data)
      .def_prop_ro("shape", &DLPackTensor::shape)
      .def_prop_ro("strides", &DLPackTensor::strides)
      .def_prop_ro("dtype", &DLPackTensor::dtype)
      .def_prop_ro("itemsize", &DLPackTensor::itemsize)
      .def_prop_ro("device_type", &DLPackTensor::device_type)
      .def_prop_ro("device_id", &DLPackTensor::device_id)
      .def_prop_ro("read_only", &DLPackTensor::read_only)
      .def_prop_ro("copied", &DLPackTensor::copied)
      .def_prop_ro("version_major", &DLPackTensor::version_major)
      .def("__enter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__exit__", [](DLPackTensor& self, nb::args) { self.close(); });
}

}  // namespace alphareq::python
