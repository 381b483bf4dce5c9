#pragma once
// Parsing of the header dict of a .npy file, shared by the reader: private to the library.

#include <alphareq/npy.hpp>

#include <string>

namespace alphareq::detail {

/// Throws file_error("<path>: <message>").
[[noreturn]] void npy_fail(const std::string& path, const std::string& message);

bool host_is_big_endian();

/// Parses the header dict `text` ({'descr': ..., 'fortran_order': ..., 'shape': ...}) and
/// fills dtype, byte order, order, shape, rows and cols of `header`. Throws file_error
/// naming `path` for a mangled header or an array alphareq cannot use.
void interpret_npy_header_dict(const std::string& text, NpyHeader& header,
                               const std::string& path);

/// The same for a labels file: int32 or int64 (either byte order), shape (n,) or (n, 1).
/// Fills byte order, shape, rows (n) and cols (1); returns the element size (4 or 8).
int interpret_npy_labels_header_dict(const std::string& text, NpyHeader& header,
                                     const std::string& path);

}  // namespace alphareq::detail
