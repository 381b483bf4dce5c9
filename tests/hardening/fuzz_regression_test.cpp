// Every committed fuzz input replayed through the fuzz targets' properties, one test case
// per file: the seed corpora (tests/fuzz/corpus/) and the inputs the fuzzers found
// (tests/fuzz/regressions/ and known_issues/, see tests/fuzz/README.md). A violated property aborts
// the case with the property's name on stderr; a memory error is caught where a sanitizer is on.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "cli_arguments_target.hpp"
#include "npy_reader_target.hpp"

namespace alphareq {
namespace {

namespace fs = std::filesystem;

struct FuzzInput {
  std::string path;  // relative to tests/fuzz
  std::string name;  // test-name-safe
};

// Files under tests/fuzz/<kind>/<target>/ for kind regressions, known_issues and corpus,
// sorted. (A known issue is a finding in code outside the hardening change; its input is
// replayed with the property it breaks carved out of the target, see its comment.)
std::vector<FuzzInput> inputs_for(const std::string& target) {
  std::vector<FuzzInput> inputs;
  for (const char* kind : {"regressions", "known_issues", "corpus"}) {
    const fs::path dir = fs::path(ALPHAREQ_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename().string()[0] == '.') continue;
      FuzzInput input;
      input.path = std::string(kind) + "/" + target + "/" + entry.path().filename().string();
      input.name = std::string(kind) + "_" + entry.path().stem().string();
      for (char& c : input.name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      inputs.push_back(input);
    }
  }
  std::sort(inputs.begin(), inputs.end(),
            [](const FuzzInput& a, const FuzzInput& b) { return a.path < b.path; });
  return inputs;
}

// gtest prints a parameter in failure messages and in `ctest` names.
void PrintTo(const FuzzInput& input, std::ostream* out) { *out << input.path; }

std::vector<unsigned char> read_input(const std::string& relative) {
  std::ifstream file(fs::path(ALPHAREQ_FUZZ_DIR) / relative, std::ios::binary);
  EXPECT_TRUE(file.good()) << "cannot read " << relative;
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(file), {});
}

std::string input_name(const ::testing::TestParamInfo<FuzzInput>& info) { return info.param.name; }

class NpyReaderFuzzInput : public ::testing::TestWithParam<FuzzInput> {};

TEST_P(NpyReaderFuzzInput, KeepsEveryReaderAndPipelineProperty) {
  const std::vector<unsigned char> bytes = read_input(GetParam().path);
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", GetParam().path.c_str(), bytes.size());
  EXPECT_EQ(fuzz::run_npy_reader_input(bytes.data(), bytes.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Committed, NpyReaderFuzzInput, ::testing::ValuesIn(inputs_for("npy")),
                         input_name);

class CliArgumentsFuzzInput : public ::testing::TestWithParam<FuzzInput> {};

TEST_P(CliArgumentsFuzzInput, ParsesOrRefusesWithAUsageError) {
  const std::vector<unsigned char> bytes = read_input(GetParam().path);
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", GetParam().path.c_str(), bytes.size());
  EXPECT_EQ(fuzz::run_cli_arguments_input(bytes.data(), bytes.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Committed, CliArgumentsFuzzInput, ::testing::ValuesIn(inputs_for("cli")),
                         input_name);

// The regressions are what the fuzzers found; each must stay in the tree and keep passing.
TEST(FuzzRegressions, TheFindingsAreCommitted) {
  EXPECT_FALSE(inputs_for("npy").empty());
  const auto npy = inputs_for("npy");
  EXPECT_TRUE(std::any_of(npy.begin(), npy.end(), [](const FuzzInput& input) {
    return input.path.rfind("regressions/", 0) == 0;
  })) << "tests/fuzz/regressions/npy/ holds the reader findings";
  EXPECT_FALSE(inputs_for("cli").empty());
}

}  // namespace
}  // namespace alphareq
