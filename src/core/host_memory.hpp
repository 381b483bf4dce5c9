#pragma once
// Host allocations that fail with a message giving the size, instead of a bare bad_alloc
// or, worse, the kernel's OOM killer after overcommit.

#include <alphareq/error.hpp>

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace alphareq::detail {

/// "1.50 GiB" style.
std::string format_bytes(double bytes);

/// Throws out_of_memory when `bytes` exceed the machine's physical memory: such an
/// allocation could only succeed by overcommit and end in the OOM killer.
void require_host_memory(double bytes, const std::string& what);

/// Resizes `buffer` to `count` zeroed elements or throws out_of_memory naming `what`.
template <typename T>
void allocate_or_throw(std::vector<T>& buffer, std::uint64_t count, const std::string& what) {
  try {
    buffer.assign(static_cast<std::size_t>(count), T{});
  } catch (const std::bad_alloc&) {
    throw out_of_memory("could not allocate " + format_bytes(static_cast<double>(count) * sizeof(T)) +
                        " of host memory for " + what);
  } catch (const std::length_error&) {
    throw out_of_memory("could not allocate " + format_bytes(static_cast<double>(count) * sizeof(T)) +
                        " of host memory for " + what);
  }
}

}  // namespace alphareq::detail
