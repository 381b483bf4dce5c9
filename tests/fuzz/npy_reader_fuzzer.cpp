// libFuzzer entry point for the .npy reader: see npy_reader_target.hpp for the properties.

#include <cstddef>
#include <cstdint>

#include "npy_reader_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return alphareq::fuzz::run_npy_reader_input(data, size);
}
