#pragma once
/// @file plot.hpp
/// Self-contained SVG pictures of a report (no plotting runtime needed).

#include <alphareq/spectrum.hpp>

#include <string>
#include <vector>

namespace alphareq {

/// The eigenspectrum on log-log axes — every positive eigenvalue against its rank — with
/// the fitted power law over the fit window and α, R² in the legend (the paper's Fig. 1B).
std::string spectrum_svg(const AlphaReport& report, const std::string& title = "");

/// One layer of a per-layer profile.
struct LayerPoint {
  std::string name;
  double alpha = 0.0;
  double r2 = 0.0;
};

/// α (top panel, with the α = 1 line) and R² (bottom panel) per layer, in the given
/// order (the paper's Fig. 3/4 style). Throws invalid_input for an empty list.
std::string layer_profile_svg(const std::vector<LayerPoint>& layers, const std::string& title = "");

/// Writes an SVG to `path` when it ends in .svg, or a PNG when it ends in .png (either case;
/// converted with rsvg-convert, which must be installed: Debian's librsvg2-bin). Throws
/// invalid_input naming the path, before writing anything, when it ends in neither (an SVG
/// under another name, x.pdf say, would be that format in name only); file_error naming the
/// path when it cannot be written.
void save_picture(const std::string& path, const std::string& svg);

}  // namespace alphareq
