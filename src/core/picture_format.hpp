#pragma once
// The format of a picture file, chosen by its extension. Shared by save_picture and the
// command line, which refuses a bad --plot name before any data is read.

#include <string>

namespace alphareq::detail {

enum class PictureFormat { svg, png };

/// SVG for a path ending in .svg, PNG for one ending in .png (either case). Throws
/// invalid_input naming the path and the accepted extensions for any other: written as
/// SVG, "x.pdf" would be a PDF in name only.
PictureFormat picture_format(const std::string& path);

}  // namespace alphareq::detail
