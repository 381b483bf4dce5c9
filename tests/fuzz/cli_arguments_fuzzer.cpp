// libFuzzer entry point for the command-line parser: see cli_arguments_target.hpp.

#include <cstddef>
#include <cstdint>

#include "cli_arguments_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return alphareq::fuzz::run_cli_arguments_input(data, size);
}
