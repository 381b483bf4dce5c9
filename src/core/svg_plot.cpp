// SVG pictures written as text: log-log spectrum plots and per-layer profiles.

#include "core/picture_format.hpp"

#include <alphareq/error.hpp>
#include <alphareq/plot.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;
#include <string>

namespace alphareq {
namespace {

constexpr double kWidth = 640, kHeight = 440;
constexpr double kLeft = 80, kRight = 20, kTop = 40, kBottom = 60;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double value, int digits = 2) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// Maps data coordinates to the plot area [x0, x1] × [y0, y1] (pixels, y down).
struct Axes {
  double data_x0, data_x1, data_y0, data_y1;
  double x0, x1, y0, y1;
  double x(double value) const { return x0 + (value - data_x0) / (data_x1 - data_x0) * (x1 - x0); }
  double y(double value) const { return y1 - (value - data_y0) / (data_y1 - data_y0) * (y1 - y0); }
};

std::string header(double width, double height, const std::string& title) {
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty()) {
    svg << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
        << escape(title) << "</text>\n";
  }
  return svg.str();
}

// Decade ticks and labels 10^k on a log10 axis.
void log_ticks(std::ostringstream& svg, const Axes& axes, bool horizontal) {
  const double low = horizontal ? axes.data_x0 : axes.data_y0;
  const double high = horizontal ? axes.data_x1 : axes.data_y1;
  for (int k = static_cast<int>(std::ceil(low)); k <= static_cast<int>(std::floor(high)); ++k) {
    if (horizontal) {
      const double px = axes.x(k);
      svg << "<line x1=\"" << px << "\" y1=\"" << axes.y1 << "\" x2=\"" << px << "\" y2=\"" << axes.y0
          << "\" stroke=\"#ddd\"/>\n<text x=\"" << px << "\" y=\"" << axes.y1 + 18
          << "\" text-anchor=\"middle\">10<tspan dy=\"-6\" font-size=\"10\">" << k << "</tspan></text>\n";
    } else {
      const double py = axes.y(k);
      svg << "<line x1=\"" << axes.x0 << "\" y1=\"" << py << "\" x2=\"" << axes.x1 << "\" y2=\"" << py
          << "\" stroke=\"#ddd\"/>\n<text x=\"" << axes.x0 - 8 << "\" y=\"" << py + 4
          << "\" text-anchor=\"end\">10<tspan dy=\"-6\" font-size=\"10\">" << k << "</tspan></text>\n";
    }
  }
}

void frame(std::ostringstream& svg, const Axes& axes, const std::string& x_label, const std::string& y_label) {
  svg << "<rect x=\"" << axes.x0 << "\" y=\"" << axes.y0 << "\" width=\"" << axes.x1 - axes.x0
      << "\" height=\"" << axes.y1 - axes.y0 << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << (axes.x0 + axes.x1) / 2 << "\" y=\"" << axes.y1 + 40
      << "\" text-anchor=\"middle\">" << escape(x_label) << "</text>\n"
      << "<text x=\"18\" y=\"" << (axes.y0 + axes.y1) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
      << (axes.y0 + axes.y1) / 2 << ")\">" << escape(y_label) << "</text>\n";
}

}  // namespace

std::string spectrum_svg(const AlphaReport& report, const std::string& title) {
  std::vector<std::pair<double, double>> points;  // (log10 rank, log10 λ)
  for (std::size_t i = 0; i < report.eigenvalues.size(); ++i) {
    if (report.eigenvalues[i] > 0.0) {
      points.emplace_back(std::log10(static_cast<double>(i + 1)), std::log10(report.eigenvalues[i]));
    }
  }
  if (points.empty()) throw invalid_input("spectrum plot: no positive eigenvalue to draw");
  double low = points.front().second, high = low;
  for (const auto& p : points) {
    low = std::min(low, p.second);
    high = std::max(high, p.second);
  }
  const PowerLawFit& fit = report.fit;
  const auto fitted = [&](double rank) { return (fit.intercept - fit.alpha * std::log(rank)) / std::log(10.0); };
  const double x_high = std::max(points.back().first, 1.0);
  const Axes axes{0.0, x_high, std::floor(low), std::ceil(high) + (std::ceil(high) == high ? 0.5 : 0.0),
                  kLeft, kWidth - kRight, kTop, kHeight - kBottom};
  std::ostringstream svg;
  svg << header(kWidth, kHeight, title);
  log_ticks(svg, axes, true);
  log_ticks(svg, axes, false);
  frame(svg, axes, "rank i", "eigenvalue \u03bb_i");
  svg << "<polyline class=\"eigenvalues\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
  for (const auto& p : points) svg << fixed(axes.x(p.first)) << ',' << fixed(axes.y(p.second)) << ' ';
  svg << "\"/>\n";
  if (fit.last_rank > fit.first_rank) {
    const double first = static_cast<double>(fit.first_rank), last = static_cast<double>(fit.last_rank);
    svg << "<line class=\"fit\" x1=\"" << fixed(axes.x(std::log10(first))) << "\" y1=\""
        << fixed(axes.y(fitted(first))) << "\" x2=\"" << fixed(axes.x(std::log10(last))) << "\" y2=\""
        << fixed(axes.y(fitted(last))) << "\" stroke=\"#d62728\" stroke-width=\"2.5\"/>\n";
  }
  const double lx = axes.x1 - 310, ly = axes.y0 + 20;
  svg << "<rect x=\"" << lx - 10 << "\" y=\"" << ly - 15 << "\" width=\"305\" height=\"48\" fill=\"white\" stroke=\"#999\"/>\n"
      << "<line x1=\"" << lx << "\" y1=\"" << ly - 4 << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly - 4
      << "\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n<text x=\"" << lx + 30 << "\" y=\"" << ly
      << "\">eigenvalues (n = " << report.n << ", D = " << report.d << ")</text>\n"
      << "<line x1=\"" << lx << "\" y1=\"" << ly + 18 << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly + 18
      << "\" stroke=\"#d62728\" stroke-width=\"2.5\"/>\n<text class=\"legend-fit\" x=\"" << lx + 30 << "\" y=\""
      << ly + 22 << "\">\u03b1 = " << fixed(fit.alpha, 3) << ", R\u00b2 = " << fixed(fit.r2, 4) << " (ranks "
      << fit.first_rank << "\u2013" << fit.last_rank << ")</text>\n</svg>\n";
  return svg.str();
}

std::string layer_profile_svg(const std::vector<LayerPoint>& layers, const std::string& title) {
  if (layers.empty()) throw invalid_input("layer plot: no layers");
  double alpha_low = 0.0, alpha_high = 2.0;
  for (const LayerPoint& layer : layers) {
    alpha_low = std::min(alpha_low, std::floor(layer.alpha * 2) / 2);
    alpha_high = std::max(alpha_high, std::ceil(layer.alpha * 2) / 2);
  }
  const double count = static_cast<double>(layers.size());
  const double height = 560;
  const Axes top{-0.5, count - 0.5, alpha_low, alpha_high, kLeft, kWidth - kRight, kTop, 300};
  const Axes bottom{-0.5, count - 0.5, 0.0, 1.0, kLeft, kWidth - kRight, 340, height - 90};
  std::ostringstream svg;
  svg << header(kWidth, height, title);
  for (const Axes* axes : {&top, &bottom}) {
    svg << "<rect x=\"" << axes->x0 << "\" y=\"" << axes->y0 << "\" width=\"" << axes->x1 - axes->x0
        << "\" height=\"" << axes->y1 - axes->y0 << "\" fill=\"none\" stroke=\"black\"/>\n";
  }
  for (double a = alpha_low; a <= alpha_high + 1e-9; a += 0.5) {
    svg << "<text x=\"" << top.x0 - 8 << "\" y=\"" << top.y(a) + 4 << "\" text-anchor=\"end\">" << fixed(a, 1)
        << "</text>\n";
  }
  for (double r = 0.0; r <= 1.0 + 1e-9; r += 0.25) {
    svg << "<text x=\"" << bottom.x0 - 8 << "\" y=\"" << bottom.y(r) + 4 << "\" text-anchor=\"end\">"
        << fixed(r, 2) << "</text>\n";
  }
  svg << "<line class=\"goldilocks\" x1=\"" << top.x0 << "\" y1=\"" << top.y(1.0) << "\" x2=\"" << top.x1
      << "\" y2=\"" << top.y(1.0) << "\" stroke=\"#2ca02c\" stroke-dasharray=\"6 4\"/>\n"
      << "<text x=\"28\" y=\"" << (top.y0 + top.y1) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 28 "
      << (top.y0 + top.y1) / 2 << ")\">\u03b1</text>\n<text x=\"28\" y=\"" << (bottom.y0 + bottom.y1) / 2
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 28 " << (bottom.y0 + bottom.y1) / 2 << ")\">R\u00b2</text>\n";
  const auto series = [&](const Axes& axes, const char* name, const char* colour, auto value) {
    svg << "<polyline class=\"" << name << "\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      svg << fixed(axes.x(static_cast<double>(i))) << ',' << fixed(axes.y(value(layers[i]))) << ' ';
    }
    svg << "\"/>\n";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      svg << "<circle cx=\"" << fixed(axes.x(static_cast<double>(i))) << "\" cy=\"" << fixed(axes.y(value(layers[i])))
          << "\" r=\"4\" fill=\"" << colour << "\"/>\n";
    }
  };
  series(top, "alpha", "#1f77b4", [](const LayerPoint& l) { return l.alpha; });
  series(bottom, "r2", "#ff7f0e", [](const LayerPoint& l) { return l.r2; });
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const double px = bottom.x(static_cast<double>(i)), py = bottom.y1 + 14;
    svg << "<text x=\"" << fixed(px) << "\" y=\"" << py << "\" text-anchor=\"end\" transform=\"rotate(-35 "
        << fixed(px) << ' ' << py << ")\">" << escape(layers[i].name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

namespace detail {

PictureFormat picture_format(const std::string& path) {
  std::string extension = path.size() >= 4 ? path.substr(path.size() - 4) : std::string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension == ".svg") return PictureFormat::svg;
  if (extension == ".png") return PictureFormat::png;
  throw invalid_input(path + ": a picture's file name must end in .svg or .png (the extension "
                      "chooses SVG or PNG)");
}

}  // namespace detail

void save_picture(const std::string& path, const std::string& svg) {
  const bool png = detail::picture_format(path) == detail::PictureFormat::png;
  const std::string svg_path = png ? path + ".svg" : path;
  {
    std::ofstream file(svg_path, std::ios::binary);
    file << svg;
    if (!file) throw file_error(svg_path + ": cannot write: " + std::strerror(errno));
  }
  if (!png) return;
  // Run the converter without a shell, so that no path is ever interpreted by one.
  const char* argv[] = {"rsvg-convert", "-o", path.c_str(), svg_path.c_str(), nullptr};
  pid_t child = 0;
  const int spawned = posix_spawnp(&child, "rsvg-convert", nullptr, nullptr,
                                   const_cast<char* const*>(argv), environ);
  int status = -1;
  if (spawned == 0) waitpid(child, &status, 0);
  std::remove(svg_path.c_str());
  if (spawned != 0) {
    throw file_error(path + ": writing PNG needs rsvg-convert (Debian: apt-get install "
                     "librsvg2-bin); ask for an .svg file instead");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw file_error(path + ": rsvg-convert failed to write the PNG");
  }
}

}  // namespace alphareq
