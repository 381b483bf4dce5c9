#pragma once
// Runs the alphareq command-line tool as a user would and captures its exit status,
// stdout and stderr. Shared by the CPU and GPU CLI tests.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

namespace alphareq::test {

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

/// A temporary path unique to the running test: CTest runs cases in parallel processes.
inline std::string test_temp_path(const std::string& prefix, const std::string& name) {
  return ::testing::TempDir() + prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         "_" + name;
}

inline CliResult run_cli(const std::string& cli, const std::string& arguments) {
  const std::string out = test_temp_path("alphareq_cli_", "stdout.txt");
  const std::string err = test_temp_path("alphareq_cli_", "stderr.txt");
  const std::string command = cli + " " + arguments + " > " + out + " 2> " + err + " < /dev/null";
  const int raw = std::system(command.c_str());
  CliResult result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return result;
}

/// Expects each of `pieces` in `text`; a failure names the missing piece and shows the text.
inline void expect_contains_all(const std::string& text, std::initializer_list<const char*> pieces) {
  for (const char* piece : pieces) {
    EXPECT_NE(text.find(piece), std::string::npos) << piece << " missing in " << text;
  }
}

inline std::size_t line_count(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

}  // namespace alphareq::test
