// SVG pictures (well-formed, holding the expected series) and the many-layer pipeline.

#include "cli_runner.hpp"
#include "reference.hpp"

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/plot.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace alphareq {
namespace {

// A small XML well-formedness check: every tag closed in order, attributes quoted, the
// declaration first. Returns "" when well formed, else what is wrong.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  std::size_t at = 0;
  if (xml.rfind("<?xml", 0) != 0) return "no XML declaration";
  at = xml.find("?>") + 2;
  while ((at = xml.find('<', at)) != std::string::npos) {
    const std::size_t end = xml.find('>', at);
    if (end == std::string::npos) return "unterminated tag";
    const std::string tag = xml.substr(at + 1, end - at - 1);
    std::size_t quotes = 0;
    for (char c : tag) quotes += c == '"';
    if (quotes % 2) return "unbalanced quotes in <" + tag + ">";
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return "</" + tag.substr(1) + "> closes nothing open";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    at = end + 1;
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

std::size_t points_in(const std::string& svg, const std::string& polyline_class) {
  const std::size_t at = svg.find("<polyline class=\"" + polyline_class + "\"");
  if (at == std::string::npos) return 0;
  const std::size_t begin = svg.find("points=\"", at) + 8, end = svg.find('"', begin);
  std::size_t pairs = 0;
  for (std::size_t i = begin; i < end; ++i) pairs += svg[i] == ',';
  return pairs;
}

AlphaReport report_of(std::int64_t n, std::int64_t d, double alpha, std::uint64_t seed) {
  SyntheticSpec spec;
  spec.n = n;
  spec.d = d;
  spec.alpha = alpha;
  spec.seed = seed;
  const auto x = synthetic_power_law_features(spec);
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  return compute_alpha(host_matrix(x.data(), n, d), options);
}

TEST(SpectrumSvg, IsWellFormedWithEveryPositiveEigenvalueTheFitAndTheLegend) {
  AlphaReport report = report_of(3000, 150, 1.0, 1);
  report.eigenvalues.back() = -1e-18;  // rounding noise below zero is not drawn
  const std::string svg = spectrum_svg(report, "a <title> & more");
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(points_in(svg, "eigenvalues"), 149u);
  EXPECT_NE(svg.find("<line class=\"fit\""), std::string::npos);
  char legend[64];
  std::snprintf(legend, sizeof legend, "\u03b1 = %.3f, R\u00b2 = %.4f", report.fit.alpha, report.fit.r2);
  EXPECT_NE(svg.find(legend), std::string::npos) << legend;
  EXPECT_NE(svg.find("a &lt;title&gt; &amp; more"), std::string::npos);
}

TEST(LayerProfileSvg, HasOnePointPerLayerInBothPanels) {
  const std::vector<LayerPoint> layers = {{"block1", 2.1, 0.95}, {"block<2>", 1.4, 0.99}, {"head", 0.9, 0.97}};
  const std::string svg = layer_profile_svg(layers, "profile");
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(points_in(svg, "alpha"), 3u);
  EXPECT_EQ(points_in(svg, "r2"), 3u);
  EXPECT_NE(svg.find("block&lt;2&gt;"), std::string::npos);
  EXPECT_NE(svg.find("class=\"goldilocks\""), std::string::npos);
  EXPECT_THROW(layer_profile_svg({}), invalid_input);
}

TEST(SavePicture, WritesSvgAndPngOrSaysWhatIsMissing) {
  const std::string svg = layer_profile_svg({{"a", 1.0, 0.9}, {"b", 1.2, 0.8}});
  const std::string path = ::testing::TempDir() + "alphareq_plot.svg";
  save_picture(path, svg);
  EXPECT_EQ(test::slurp(path), svg);
  std::remove(path.c_str());
  const std::string png = ::testing::TempDir() + "alphareq_plot.png";
  try {
    save_picture(png, svg);
    const std::string bytes = test::slurp(png);
    EXPECT_EQ(bytes.substr(1, 3), "PNG");
    std::remove(png.c_str());
  } catch (const file_error& e) {
    EXPECT_NE(std::string(e.what()).find("rsvg-convert"), std::string::npos) << e.what();
  }
}

// Any other extension was written as SVG text (x.pdf held an SVG). The extension chooses
// the format, in either case; any other is refused naming the path, and nothing is written.
TEST(SavePicture, RefusesAnExtensionThatIsNeitherSvgNorPng) {
  const std::string svg = layer_profile_svg({{"a", 1.0, 0.9}, {"b", 1.2, 0.8}});
  for (const std::string name : {"alphareq_plot.pdf", "alphareq_plot", "alphareq_plot.svg.txt"}) {
    const std::string path = ::testing::TempDir() + name;
    try {
      save_picture(path, svg);
      ADD_FAILURE() << path << " was accepted";
    } catch (const invalid_input& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(".svg or .png"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << path;
    std::remove(path.c_str());
  }
  const std::string upper = ::testing::TempDir() + "alphareq_plot_upper.SVG";
  save_picture(upper, svg);
  EXPECT_EQ(test::slurp(upper), svg);
  std::remove(upper.c_str());
}

TEST(Layers, EachLayerEqualsItsOwnComputation) {
  std::vector<std::vector<double>> data;
  std::vector<MatrixView> views;
  const std::int64_t n = 2500;
  const std::int64_t widths[] = {40, 96, 150};
  const double alphas[] = {0.7, 1.2, 2.0};
  for (int i = 0; i < 3; ++i) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = widths[i];
    spec.alpha = alphas[i];
    spec.seed = 20 + i;
    data.push_back(synthetic_power_law_features(spec));
  }
  for (int i = 0; i < 3; ++i) views.push_back(host_matrix(data[i].data(), n, widths[i]));
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const std::vector<AlphaReport> reports = compute_alpha_layers(views, options);
  ASSERT_EQ(reports.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const AlphaReport alone = compute_alpha(views[i], options);
    EXPECT_EQ(reports[i].d, widths[i]);
    EXPECT_EQ(reports[i].fit.alpha, alone.fit.alpha);
  }
  EXPECT_LT(reports[0].fit.alpha, reports[1].fit.alpha);
  EXPECT_LT(reports[1].fit.alpha, reports[2].fit.alpha);
  views[1].rows = n - 1;
  EXPECT_THROW(compute_alpha_layers(views, options), invalid_input);
}

// On the CPU, N layers hold N D x D states at once, and the reports one eigensolver copy:
// each layer alone checked only its own two, so layers that fit one at a time passed and
// met the OOM killer together after the pass. Widths are chosen from this machine's memory
// M: one layer needs 0.8 M (fits), three need 1.6 M, refused before anything is allocated
// (the views share one small buffer of 200 rows).
TEST(Layers, LayersThatFitOnlyOneAtATimeAreRefusedBeforeAllocating) {
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  ASSERT_GT(memory, 0.0);
  const auto width = static_cast<std::int64_t>(std::sqrt(memory / (2.5 * sizeof(double))));
  constexpr std::int64_t n = 200;
  const std::vector<double> data = test::random_matrix(n, width, 5);
  const MatrixView layer = host_matrix(data.data(), n, width);
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  try {
    compute_alpha_layers({layer, layer, layer}, options);
    FAIL() << "no out_of_memory thrown";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("states of 3 layers"), std::string::npos) << e.what();
  }
  // A layer too wide on its own is named, as its own accumulator would be (the view is
  // refused before a byte of it is read).
  const MatrixView too_wide = host_matrix(data.data(), 150, 1000000);
  try {
    compute_alpha_layers({host_matrix(data.data(), 150, 30), too_wide}, options);
    FAIL() << "no out_of_memory thrown";
  } catch (const out_of_memory& e) {
    EXPECT_EQ(std::string(e.what()).rfind("layer 1: the D x D float64 covariance for D = 1000000", 0), 0u)
        << e.what();
  }
}

// The in-memory layers name the layer in their errors, as the files' functions name the file.
TEST(Layers, ErrorsNameTheLayer) {
  constexpr std::int64_t n = 300;
  std::vector<double> first = test::random_matrix(n, 30, 6), second = test::random_matrix(n, 20, 7);
  second[50 * 20 + 3] = std::nan("");
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  options.fit.first_rank = 2;
  options.fit.last_rank = 15;
  const std::string nan = test::invalid_input_of([&] {
    compute_alpha_layers({host_matrix(first.data(), n, 30), host_matrix(second.data(), n, 20)}, options);
  });
  EXPECT_EQ(nan.rfind("layer 1: NaN in the features at row 50, column 3", 0), 0u) << nan;
  options.fit.tail_rank = 25;
  second[50 * 20 + 3] = 0.0;
  const std::string tail = test::invalid_input_of([&] {
    compute_alpha_layers({host_matrix(first.data(), n, 30), host_matrix(second.data(), n, 20)}, options);
  });
  EXPECT_EQ(tail.rfind("layer 1: ", 0), 0u) << tail;
  const std::string one_row = test::invalid_input_of([&] {
    compute_alpha_layers({host_matrix(first.data(), 1, 30)}, AlphaOptions{});
  });
  EXPECT_NE(one_row.find("needs at least 2 samples"), std::string::npos) << one_row;
}

TEST(Layers, FilesReadInLockstepEqualTheInMemoryResult) {
  const std::int64_t n = 3000;
  std::vector<std::string> paths;
  std::vector<std::vector<double>> data;
  std::vector<MatrixView> views;
  for (int i = 0; i < 2; ++i) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = 60 + 50 * i;
    spec.seed = 40 + i;
    data.push_back(synthetic_power_law_features(spec));
    paths.push_back(::testing::TempDir() + "alphareq_layer" + std::to_string(i) + ".npy");
    save_npy(paths.back(), data.back().data(), {n, spec.d});
    views.push_back(host_matrix(data.back().data(), n, spec.d));
  }
  AlphaOptions options;
  options.accumulator.backend = Backend::cpu;
  const auto in_memory = compute_alpha_layers(views, options);
  const auto streamed = compute_alpha_layers_npy(paths, options, {}, 110 * 8 * 257);  // uneven chunks
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(streamed[i].fit.alpha, in_memory[i].fit.alpha, 1e-10);
  const std::string short_path = ::testing::TempDir() + "alphareq_layer_short.npy";
  save_npy(short_path, data[0].data(), {n - 1, 60});
  try {
    compute_alpha_layers_npy({paths[0], short_path}, options);
    FAIL() << "no invalid_input thrown";
  } catch (const invalid_input& e) {
    EXPECT_NE(std::string(e.what()).find("must describe the same samples"), std::string::npos) << e.what();
  }
  for (const auto& p : paths) std::remove(p.c_str());
  std::remove(short_path.c_str());
}

TEST(CliLayers, ReportsEveryLayerAndDrawsTheProfile) {
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) {
    SyntheticSpec spec;
    spec.n = 1500;
    spec.d = 30 + 20 * i;
    spec.alpha = 0.8 + 0.5 * i;
    spec.seed = 60 + i;
    const auto x = synthetic_power_law_features(spec);
    paths.push_back(test::test_temp_path("alphareq_cli_layers_", std::to_string(i) + ".npy"));
    save_npy(paths.back(), x.data(), {spec.n, spec.d});
  }
  const std::string plot = test::test_temp_path("alphareq_cli_layers_", "profile.svg");
  const test::CliResult r = test::run_cli(ALPHAREQ_CLI_PATH, "layers " + paths[0] + " " + paths[1] + " " +
                                                                 paths[2] + " --backend cpu --last 25 --json --plot " + plot);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& p : paths) EXPECT_NE(r.out.find("\"file\": \"" + p + "\""), std::string::npos) << r.out;
  EXPECT_EQ(xml_problem(test::slurp(plot)), "");
  EXPECT_EQ(points_in(test::slurp(plot), "alpha"), 3u);
  const test::CliResult none = test::run_cli(ALPHAREQ_CLI_PATH, "layers --json");
  EXPECT_EQ(none.status, 2);
  for (const auto& p : paths) std::remove(p.c_str());
  std::remove(plot.c_str());
}

// `layers` printed its report and then failed on the picture (exit 1 after a complete
// looking report); a flat spectrum's alpha was "-0.0000" in the table and -0 in JSON, and a
// '|' in a file name split its table cell.
TEST(CliLayers, APictureThatCannotBeWrittenLeavesNoReportAndCellsHoldTheirValues) {
  // Rows +-3 e_i: every eigenvalue is equal, and LAPACK's rounding gives alpha = -0.0.
  constexpr std::int64_t d = 20;
  std::vector<double> flat(2 * d * d, 0.0);
  for (std::int64_t i = 0; i < d; ++i) {
    flat[i * d + i] = 3.0;
    flat[(d + i) * d + i] = -3.0;
  }
  const std::string path = test::test_temp_path("alphareq_cli_layers_", "flat|spectrum.npy");
  save_npy(path, flat.data(), {2 * d, d});
  const std::string quoted = "'" + path + "'";
  const test::CliResult failed = test::run_cli(
      ALPHAREQ_CLI_PATH, "layers " + quoted + " --json --quiet --first 2 --last 15 --plot /nonexistent/x.svg");
  EXPECT_EQ(failed.status, 1);
  EXPECT_EQ(failed.out, "");
  EXPECT_NE(failed.err.find("/nonexistent/x.svg"), std::string::npos) << failed.err;

  const test::CliResult json = test::run_cli(ALPHAREQ_CLI_PATH, "layers " + quoted + " --json --quiet --first 2 --last 15");
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_NE(json.out.find("\"alpha\": 0, "), std::string::npos) << json.out;
  const test::CliResult table = test::run_cli(ALPHAREQ_CLI_PATH, "layers " + quoted + " --quiet --first 2 --last 15");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_EQ(table.out.find("-0.0000"), std::string::npos) << table.out;
  const std::string escaped = path.substr(0, path.find('|')) + "\\|spectrum.npy";
  EXPECT_NE(table.out.find("| " + escaped + " | 20 | 0.0000 | "), std::string::npos) << table.out;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace alphareq

