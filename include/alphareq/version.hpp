#pragma once
/// @file version.hpp
/// Library version.

namespace alphareq {
/// "major.minor.patch" of the library that was linked.
const char* version();
}  // namespace alphareq
