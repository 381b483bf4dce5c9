#pragma once
// What the fuzz targets share: the invariant check that turns a violated property into a
// crash libFuzzer records, and the scratch file the .npy target writes its inputs to.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

/// Aborts (a finding for libFuzzer, a failed test for the regression replay) when `condition`
/// is false, naming the property that broke.
#define ALPHAREQ_FUZZ_CHECK(condition)                                                             \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "alphareq fuzz: property violated: %s (%s:%d)\n", #condition, __FILE__, \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)

namespace alphareq::fuzz {

namespace detail {
inline std::string make_scratch_path() {
  // ALPHAREQ_FUZZ_SCRATCH_DIR lets a run keep its files in a folder it removes afterwards;
  // otherwise /dev/shm (memory, so millions of rewrites cost no disk) or /tmp.
  const char* configured = std::getenv("ALPHAREQ_FUZZ_SCRATCH_DIR");
  std::string dir = configured != nullptr && *configured != '\0' ? configured
                    : ::access("/dev/shm", W_OK) == 0            ? "/dev/shm"
                                                                 : "/tmp";
  return dir + "/alphareq_fuzz_" + std::to_string(::getpid()) + ".npy";
}
inline void remove_scratch_file();
}  // namespace detail

/// The per-process file the .npy target rewrites for every input (the reader takes a
/// path, not a buffer). Removed at normal exit.
inline const std::string& scratch_path() {
  static const std::string path = detail::make_scratch_path();
  // Registered after `path` is constructed, so it runs before `path` is destroyed.
  static const bool remove_at_exit = std::atexit(detail::remove_scratch_file) == 0;
  (void)remove_at_exit;
  return path;
}

inline void detail::remove_scratch_file() { std::remove(scratch_path().c_str()); }

/// Replaces the scratch file's contents with `size` bytes of `data`.
inline void write_scratch_file(const unsigned char* data, std::size_t size) {
  std::FILE* file = std::fopen(scratch_path().c_str(), "wb");
  ALPHAREQ_FUZZ_CHECK(file != nullptr);
  ALPHAREQ_FUZZ_CHECK(size == 0 || std::fwrite(data, 1, size, file) == size);
  ALPHAREQ_FUZZ_CHECK(std::fclose(file) == 0);
}

}  // namespace alphareq::fuzz
