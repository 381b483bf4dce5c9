// `alphareq select` and `alphareq synthetic`, run as a user would: exit status, stdout and
// stderr.

#include "cli_runner.hpp"

#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace alphareq {
namespace {

using test::CliResult;
using test::line_count;
using test::slurp;

CliResult run_cli(const std::string& arguments) { return test::run_cli(ALPHAREQ_CLI_PATH, arguments); }

// A file in the test's own temporary directory (CTest runs cases in parallel).
std::string temp_file(const std::string& name) { return test::test_temp_path("alphareq_cmd_", name); }

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = temp_file(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CliSelect, RanksByDistanceToTheGoldilocksZoneWithoutAccuracies) {
  const std::string path = write_text("plain.json", R"({"candidates": [
    {"name": "collapsed", "alpha": 2.4},
    {"name": "dense", "alpha": 0.4},
    {"name": "good", "alpha": 1.02},
    {"name": "close", "alpha": 0.85}
  ]})");
  const CliResult r = run_cli("select " + path + " --top-k 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("default Goldilocks zone [0.8000, 1.2000]"), std::string::npos) << r.out;
  const auto good = r.out.find("    1  good"), close = r.out.find("    2  close");
  const auto dense = r.out.find("    3  dense"), collapsed = r.out.find("    4  collapsed");
  EXPECT_NE(good, std::string::npos) << r.out;
  EXPECT_LT(good, close);
  EXPECT_LT(close, dense);
  EXPECT_LT(dense, collapsed);
  EXPECT_NE(r.out.find("chosen (the K candidates nearest the zone):\n    good"), std::string::npos) << r.out;
  std::remove(path.c_str());
}

TEST(CliSelect, RunsAlgorithmOneWithAccuraciesAndPrintsJson) {
  const std::string path = write_text("measured.json", R"([
    {"name": "a", "alpha": 0.5, "accuracy": 60},
    {"name": "b", "alpha": 1.0, "accuracy": 80},
    {"name": "c", "alpha": 1.5, "accuracy": 70},
    {"name": "d \"quoted\"", "alpha": 1.1, "accuracy": null}
  ])");
  const CliResult text = run_cli("select " + path);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("Algorithm 1 interval  [1.0000, 1.0000]   (from [0.0000, inf], top K = 3)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("most accurate first):\n    b   alpha 1.0000, accuracy 80\n    c "), std::string::npos)
      << text.out;

  const CliResult json = run_cli("select " + path + " --json --top-k 1");
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(line_count(json.out), 1u);
  test::expect_contains_all(json.out, {"\"interval\": {\"min\": 1, \"max\": 1, \"empty\": false}",
                                       "\"previous_interval\": {\"min\": 0, \"max\": null, \"empty\": false}",
                                       "\"zone_from_accuracies\": true", "\"chosen\": [\"b\"]",
                                       "{\"rank\": 2, \"name\": \"d \\\"quoted\\\"\", \"alpha\": 1.1000000000000001, "
                                       "\"accuracy\": null"});
  std::remove(path.c_str());
}

// A tie for the top accuracy between alphas 0.5 and 1.0 empties the interval ([1, 0.5]),
// which the distance measures as [0.5, 1]: a and b were printed "in zone" beside the note
// that the interval admits no model.
TEST(CliSelect, AnEmptyIntervalHoldsNoModel) {
  const std::string path = write_text("tied.json", R"([
    {"name": "a", "alpha": 0.5, "accuracy": 80},
    {"name": "b", "alpha": 1.0, "accuracy": 80},
    {"name": "c", "alpha": 1.5, "accuracy": 70}
  ])");
  const CliResult json = run_cli("select " + path + " --json");
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_NE(json.out.find("\"interval\": {\"min\": 1, \"max\": 0.5, \"empty\": true}"), std::string::npos)
      << json.out;
  EXPECT_EQ(json.out.find("\"in_zone\": true"), std::string::npos) << json.out;
  const CliResult text = run_cli("select " + path);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.find(" yes "), std::string::npos) << text.out;
  std::remove(path.c_str());
}

TEST(CliSelect, ComputesAlphaOfAFeatureFileRelativeToTheCandidatesFile) {
  SyntheticSpec spec;
  spec.n = 4000;
  spec.d = 128;
  spec.alpha = 1.5;
  const std::vector<double> features = synthetic_power_law_features(spec);
  const std::string npy = temp_file("features.npy");
  save_npy(npy, features.data(), {spec.n, spec.d});
  const std::string base = npy.substr(npy.find_last_of('/') + 1);
  const std::string path = write_text("files.json", "{\"candidates\": [{\"name\": \"from-file\", \"features\": \"" +
                                                        base + "\"}, {\"name\": \"given\", \"alpha\": 1.0}]}");
  const CliResult r = run_cli("select " + path + " --json --backend cpu --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string key = "\"name\": \"from-file\", \"alpha\": ";
  const auto at = r.out.find(key);
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_NEAR(std::stod(r.out.substr(at + key.size())), 1.5, 0.1) << r.out;
  EXPECT_NE(r.out.find("\"features\": \"" + npy + "\""), std::string::npos) << r.out;
  std::remove(npy.c_str());
  std::remove(path.c_str());
}

TEST(CliSelect, BadCandidatesFileNamesTheLineAndColumn) {
  const std::string trailing = write_text("trailing.json", "[\n  {\"name\": \"a\", \"alpha\": 1.0},\n]");
  CliResult r = run_cli("select " + trailing);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("alphareq: error: " + trailing + ":3:1: unexpected ']'"), std::string::npos) << r.err;

  const std::string typo = write_text("typo.json", "[{\"name\": \"a\", \"alpah\": 1.0}]");
  r = run_cli("select " + typo);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(typo + ":1:25: unknown key \"alpah\""), std::string::npos) << r.err;

  const std::string both = write_text("both.json", "[{\"name\": \"a\", \"alpha\": 1, \"features\": \"x.npy\"}]");
  r = run_cli("select " + both);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(both + ":1:2: candidate 'a' needs exactly one of \"alpha\" and \"features\""),
            std::string::npos)
      << r.err;
  for (const std::string& p : {trailing, typo, both}) std::remove(p.c_str());
}

// A row was formatted into a 512-byte buffer: a long name cut it, newline included, and the
// next row ran on. And a candidates "file" that cannot be read (a directory) said
// "unexpected end of file", as if it were empty.
TEST(CliSelect, LongNamesKeepTheirRowAndUnreadableFilesSaySo) {
  const std::string long_name(500, 'y');
  const std::string path = write_text("long.json", "[{\"name\": \"" + long_name +
                                                       "\", \"alpha\": 1.0}, {\"name\": \"far\", \"alpha\": 3.0}]");
  const CliResult r = run_cli("select " + path + " --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(long_name + "   1.0000          -     0.0000  yes      given\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n      2  far "), std::string::npos) << r.out;
  std::remove(path.c_str());
  const std::string folder = temp_file("a_folder.json");
  std::filesystem::create_directories(folder);
  const CliResult unreadable = run_cli("select " + folder);
  EXPECT_EQ(unreadable.status, 1);
  EXPECT_NE(unreadable.err.find(folder + ": cannot read the file: Is a directory"), std::string::npos)
      << unreadable.err;
  std::filesystem::remove(folder);
}

TEST(CliSelect, UsageErrors) {
  EXPECT_EQ(run_cli("select").status, 2);
  const std::string path = write_text("ok.json", "[{\"name\": \"a\", \"alpha\": 1.0}]");
  EXPECT_EQ(run_cli("select " + path + " --top-k 0").status, 2);
  EXPECT_EQ(run_cli("select " + path + " --zone 1.2,0.8").status, 2);
  EXPECT_EQ(run_cli("select " + path + " --frobnicate").status, 2);
  EXPECT_EQ(run_cli("select " + path + " " + path).status, 2);
  // An unknown option with a value is named, not counted as a second candidates file.
  const CliResult unknown = run_cli("select " + path + " --plot s.svg");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown option '--plot'"), std::string::npos) << unknown.err;
  std::remove(path.c_str());
}

TEST(CliSelect, ReadsAFileWithAByteOrderMark) {
  const std::string path = write_text("bom.json", "\xEF\xBB\xBF[{\"name\": \"a\", \"alpha\": 1.0}]");
  const CliResult r = run_cli("select " + path + " --quiet");
  EXPECT_EQ(r.status, 0) << r.err;
  std::remove(path.c_str());
}

TEST(CliSynthetic, PrintsATableAndTheLowestTestMse) {
  const CliResult r = run_cli("synthetic --d 300 --n 60 --test-n 300 --steps 300 --alphas 0,1,3 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("D = 300, n = 60 (overparameterised)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("   alpha   lambda_max     train MSE      test MSE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n    3.00 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lowest test MSE: alpha = "), std::string::npos) << r.out;
}

TEST(CliSynthetic, JsonAndSvgPlot) {
  const std::string svg = temp_file("figure2.svg");
  const CliResult r = run_cli("synthetic --d 200 --n 40 --test-n 200 --steps 100 --alphas 0.5,1.5 --json "
                              "--quiet --plot " + svg);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(line_count(r.out), 1u);
  test::expect_contains_all(r.out, {"\"features\": 200", "\"train_samples\": 40", "\"teacher\": \"fixed-task\"",
                                    "\"rows\": [{\"alpha\": 0.5, ", "\"steps_to_threshold\": ", "\"curve\": [{\"step\": 0, ",
                                    "\"best_alpha\": "});
  const std::string picture = slurp(svg);
  EXPECT_EQ(picture.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << picture.substr(0, 80);
  EXPECT_NE(picture.find("<polyline"), std::string::npos);
  EXPECT_NE(picture.find("test MSE"), std::string::npos);
  EXPECT_NE(picture.find("</svg>"), std::string::npos);
  std::remove(svg.c_str());
}

TEST(CliSynthetic, BadArgumentsAreUsageOrInputErrors) {
  EXPECT_EQ(run_cli("synthetic --alphas 0,x").status, 2);
  EXPECT_EQ(run_cli("synthetic --teacher gaussian").status, 2);
  EXPECT_EQ(run_cli("synthetic --steps").status, 2);
  const CliResult r = run_cli("synthetic --d 50 --n 10 --lr-scale 2.5 --quiet");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("learning-rate scale must lie in (0, 2)"), std::string::npos) << r.err;
}

// `select /dev/zero` read until memory ran out: what is read is bounded.
TEST(CliSelect, AnEndlessFileIsRefusedOnceItPassesTheBound) {
  if (!std::filesystem::exists("/dev/zero")) GTEST_SKIP() << "no /dev/zero on this system";
  const CliResult r = run_cli("select /dev/zero");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/dev/zero: more than 256 MiB: too large for a JSON file of candidates"), std::string::npos)
      << r.err;
}

// A negative alpha (a sign slip) was accepted, then dropped silently by the starting
// interval [0, inf) however accurate the model.
TEST(CliSelect, ANegativeAlphaIsRefusedWhereItIsWritten) {
  const std::string path = write_text("negative.json", R"([
    {"name": "neg", "alpha": -0.5, "accuracy": 99},
    {"name": "b", "alpha": 1.0, "accuracy": 80}
  ])");
  const CliResult r = run_cli("select " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(path + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"alpha\" must be >= 0"), std::string::npos) << r.err;
  std::remove(path.c_str());
}

// `--interval` had no test of its effect (a select that ignored it passed every test).
TEST(CliSelect, IntervalOptionIsWhereTheRoundStarts) {
  const std::string path = write_text("interval.json", R"([
    {"name": "a", "alpha": 0.5, "accuracy": 95},
    {"name": "b", "alpha": 1.2, "accuracy": 80},
    {"name": "c", "alpha": 1.5, "accuracy": 85},
    {"name": "d", "alpha": 1.8, "accuracy": 70}
  ])");
  const CliResult r = run_cli("select " + path + " --interval 1,2 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  test::expect_contains_all(r.out, {"\"previous_interval\": {\"min\": 1, \"max\": 2, \"empty\": false}",
                                    "\"interval\": {\"min\": 1.5, \"max\": 1.5, \"empty\": false}",
                                    "\"chosen\": [\"c\", \"b\", \"d\"]"});
  std::remove(path.c_str());
}

}  // namespace
}  // namespace alphareq
