// The alphareq command-line tool with --backend cuda and auto, run as a user would. The
// no-device cases run (and must pass) on machines without a GPU; the others skip there.

#include "gpu_test_support.hpp"
#include "cli_runner.hpp"
#include "reference.hpp"

#include <alphareq/npy.hpp>
#include <alphareq/synthetic.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace alphareq {
namespace {

using test::CliResult;
using test::line_count;
using test::slurp;

// CTest runs test cases in parallel processes: every file carries the test's name.
std::string temp_path(const std::string& name) { return test::test_temp_path("alphareq_cuda_cli_", name); }

CliResult run_cli(const std::string& arguments) { return test::run_cli(ALPHAREQ_CLI_PATH, arguments); }

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The value after `"key": ` in the one-line JSON report.
double json_number(const std::string& json, const std::string& key) {
  const std::string tag = "\"" + key + "\": ";
  const auto at = json.find(tag);
  if (at == std::string::npos) return NAN;
  return std::stod(json.substr(at + tag.size()));
}

// float32 power-law features (α = 1.1, D = 150) written with save_npy.
std::string write_features(const std::string& name) {
  SyntheticSpec spec;
  spec.n = 4000;
  spec.d = 150;
  spec.alpha = 1.1;
  spec.seed = 9;
  spec.offset = 3.0;
  const auto x = test::to_float(synthetic_power_law_features(spec));
  const std::string path = temp_path(name);
  save_npy(path, x.data(), {spec.n, spec.d});
  return path;
}

// All eigenvalues from a 1-D float64 .npy file written by --eigenvalues-out (read by hand:
// the features reader wants 2-D arrays).
std::vector<double> read_eigenvalues(const std::string& path) {
  const std::string bytes = slurp(path);
  if (bytes.size() < 10 || bytes.substr(1, 5) != "NUMPY") return {};
  const std::size_t header_length =
      static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  const std::size_t count = (bytes.size() - 10 - header_length) / sizeof(double);
  std::vector<double> values(count);
  std::memcpy(values.data(), bytes.data() + 10 + header_length, count * sizeof(double));
  return values;
}

TEST(CudaCli, CudaBackendGivesTheCpuAlpha) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const std::string path = write_features("features.npy");
  const std::string cuda_eigenvalues = temp_path("cuda_eigenvalues.npy");
  const std::string cpu_eigenvalues = temp_path("cpu_eigenvalues.npy");
  const CliResult cuda =
      run_cli(path + " --backend cuda --json --quiet --eigenvalues-out " + cuda_eigenvalues);
  const CliResult cpu =
      run_cli(path + " --backend cpu --json --quiet --eigenvalues-out " + cpu_eigenvalues);
  ASSERT_EQ(cuda.status, 0) << cuda.err;
  ASSERT_EQ(cpu.status, 0) << cpu.err;
  EXPECT_EQ(line_count(cuda.out), 1u) << cuda.out;
  EXPECT_NE(cuda.out.find("\"backend\": \"cuda\""), std::string::npos) << cuda.out;
  EXPECT_NE(cpu.out.find("\"backend\": \"cpu\""), std::string::npos) << cpu.out;
  EXPECT_NE(cuda.out.find("\"n\": 4000"), std::string::npos) << cuda.out;
  EXPECT_NE(cuda.out.find("\"d\": 150"), std::string::npos) << cuda.out;
  const double alpha_cuda = json_number(cuda.out, "alpha"), alpha_cpu = json_number(cpu.out, "alpha");
  EXPECT_NEAR(alpha_cuda, 1.1, 0.05) << cuda.out;
  EXPECT_NEAR(alpha_cuda, alpha_cpu, 1e-9) << cuda.out << cpu.out;
  EXPECT_NEAR(json_number(cuda.out, "r2"), json_number(cpu.out, "r2"), 1e-9);
  const auto on_cuda = read_eigenvalues(cuda_eigenvalues), on_cpu = read_eigenvalues(cpu_eigenvalues);
  ASSERT_EQ(on_cuda.size(), 150u);
  EXPECT_LT(test::relative_error(on_cuda, on_cpu), 1e-12);
  std::remove(path.c_str());
  std::remove(cuda_eigenvalues.c_str());
  std::remove(cpu_eigenvalues.c_str());
}

TEST(CudaCli, CudaBackendRunsTheDemo) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const CliResult r = run_cli("demo --n 6000 --d 128 --alpha 1.5 --quiet --backend cuda --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"backend\": \"cuda\""), std::string::npos) << r.out;
  EXPECT_NEAR(json_number(r.out, "alpha"), 1.5, 0.05) << r.out;
}

// --deterministic: two processes print the same α to the last digit (17 significant digits
// round-trip float64) and write byte-identical eigenvalue files; the default run agrees to the
// rounding of float32 products (cuBLAS may pick another kernel for another workspace: 1e-6).
TEST(CudaCli, DeterministicFlagGivesBitIdenticalResultsAcrossProcesses) {
  ALPHAREQ_REQUIRE_CUDA_DEVICE();
  const std::string path = write_features("features.npy");
  std::vector<std::string> outputs, eigenvalue_files;
  for (int run = 0; run < 2; ++run) {
    const std::string eigenvalues = temp_path("deterministic_" + std::to_string(run) + ".npy");
    const CliResult r = run_cli(path + " --backend cuda --precision float32 --deterministic --json --quiet "
                                "--eigenvalues-out " + eigenvalues);
    ASSERT_EQ(r.status, 0) << r.err;
    outputs.push_back(r.out);
    eigenvalue_files.push_back(slurp(eigenvalues));
    std::remove(eigenvalues.c_str());
  }
  EXPECT_EQ(json_number(outputs[0], "alpha"), json_number(outputs[1], "alpha")) << outputs[0] << outputs[1];
  EXPECT_EQ(json_number(outputs[0], "r2"), json_number(outputs[1], "r2"));
  EXPECT_FALSE(eigenvalue_files[0].empty());
  EXPECT_EQ(eigenvalue_files[0], eigenvalue_files[1]);
  const CliResult plain = run_cli(path + " --backend cuda --precision float32 --json --quiet");
  ASSERT_EQ(plain.status, 0) << plain.err;
  // The default run may use another SSYRK kernel (the shared workspace pool): float32
  // rounding then moves α by about 1e-5.
  EXPECT_NEAR(json_number(plain.out, "alpha"), json_number(outputs[0], "alpha"), 1e-4);
  std::remove(path.c_str());
}

TEST(CudaCli, AutoBackendPicksCudaExactlyWhenADeviceIsPresent) {
  const bool device_present = test::cuda_device_count() > 0;
  const std::string path = write_features("features.npy");
  const CliResult r = run_cli(path + " --backend auto --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string backend = device_present ? "cuda" : "cpu";
  EXPECT_NE(r.out.find("\"backend\": \"" + backend + "\""), std::string::npos) << r.out;
  if (!device_present) {
    // Falling back is explained, on stderr, without failing.
    EXPECT_NE(r.err.find("alphareq: notice: "), std::string::npos) << r.err;
  }
  std::remove(path.c_str());
}

// Runs on machines without a device (this is where it matters); skips where there is one.
TEST(CudaCliErrors, CudaBackendWithoutDeviceExitsWithOneLineError) {
  std::string why;
  if (test::cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  const std::string path = write_features("features.npy");
  for (const std::string& arguments :
       {path + " --backend cuda --quiet", path + " --backend cuda", std::string("demo --backend cuda --quiet")}) {
    const CliResult r = run_cli(arguments);
    EXPECT_EQ(r.status, 1) << arguments << "\n" << r.out << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << arguments << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("alphareq: error: ", 0), 0u) << r.err;
    EXPECT_NE(lower(r.err).find("cuda"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace alphareq
