// save_npy: files round-trip through NpyReader, and their bytes are what numpy expects
// (checked against the format directly, not against our reader).

#include "npy_test_files.hpp"

#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using alphareq::DType;
using alphareq::NpyReader;
using alphareq::save_npy;
using alphareq_test::TempDir;

std::vector<double> random_values(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> value(-1000.0, 1000.0);
  std::vector<double> values(count);
  for (double& v : values) v = value(rng);
  return values;
}

// The pieces of a .npy file, split by reading the bytes by hand.
struct ParsedNpy {
  int major = 0;
  int minor = 0;
  std::size_t data_offset = 0;
  std::string header;  // the dict text, padding and '\n' included
  std::vector<unsigned char> data;
};

ParsedNpy parse_npy_bytes(const std::vector<unsigned char>& bytes) {
  ParsedNpy parsed;
  EXPECT_GE(bytes.size(), 10u);
  if (bytes.size() < 10) return parsed;
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 6), "\x93NUMPY");
  parsed.major = bytes[6];
  parsed.minor = bytes[7];
  const std::size_t length_bytes = parsed.major == 1 ? 2 : 4;
  std::size_t header_length = 0;
  for (std::size_t i = 0; i < length_bytes; ++i) {
    header_length |= std::size_t{bytes[8 + i]} << (8 * i);
  }
  parsed.data_offset = 8 + length_bytes + header_length;
  EXPECT_LE(parsed.data_offset, bytes.size());
  if (parsed.data_offset > bytes.size()) return parsed;
  parsed.header.assign(bytes.begin() + 8 + length_bytes, bytes.begin() + parsed.data_offset);
  parsed.data.assign(bytes.begin() + parsed.data_offset, bytes.end());
  return parsed;
}

// What numpy's header parser needs: the 64-byte alignment, a '\n' at the end after only
// spaces of padding, and the dict numpy itself writes.
void expect_numpy_header(const ParsedNpy& parsed, const std::string& descr,
                         const std::string& shape) {
  EXPECT_EQ(parsed.data_offset % 64, 0u);
  ASSERT_FALSE(parsed.header.empty());
  EXPECT_EQ(parsed.header.back(), '\n');
  const std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                           shape + ", }";
  EXPECT_EQ(parsed.header.substr(0, dict.size()), dict);
  const std::string padding =
      parsed.header.substr(dict.size(), parsed.header.size() - dict.size() - 1);
  EXPECT_EQ(padding.find_first_not_of(' '), std::string::npos) << "padding: '" << padding << "'";
}

template <typename T>
std::vector<T> read_matrix(const std::string& path) {
  NpyReader reader(path);
  const alphareq::MatrixView view = reader.next_chunk(reader.rows());
  const T* data = static_cast<const T*>(view.data);
  return std::vector<T>(data, data + view.rows * view.cols);
}

std::string expect_error_starting_with_path(const std::string& path, const double* data,
                                            const std::vector<std::int64_t>& shape) {
  try {
    save_npy(path, data, shape);
  } catch (const alphareq::file_error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "save_npy(" << path << ") did not throw file_error";
  return "";
}

class NpyWriterTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(NpyWriterTest, RoundTripsFloat64MatrixExactly) {
  const std::vector<double> values = random_values(13 * 7, 1);
  const std::string path = dir_.file("m.npy");
  save_npy(path, values.data(), {13, 7});
  NpyReader reader(path);
  EXPECT_EQ(reader.dtype(), DType::float64);
  EXPECT_EQ(reader.header().major_version, 1);
  EXPECT_FALSE(reader.header().big_endian);
  EXPECT_FALSE(reader.header().fortran_order);
  EXPECT_EQ(reader.rows(), 13);
  EXPECT_EQ(reader.cols(), 7);
  EXPECT_EQ(read_matrix<double>(path), values);
}

TEST_F(NpyWriterTest, RoundTripsFloat32MatrixExactly) {
  const std::vector<double> doubles = random_values(9 * 4, 2);
  const std::vector<float> values(doubles.begin(), doubles.end());
  const std::string path = dir_.file("m.npy");
  save_npy(path, values.data(), {9, 4});
  EXPECT_EQ(alphareq::read_npy_header(path).dtype, DType::float32);
  EXPECT_EQ(read_matrix<float>(path), values);
}

TEST_F(NpyWriterTest, RoundTrips3DArrayAsFlattenedMatrix) {
  const std::vector<double> values = random_values(4 * 3 * 2, 3);
  const std::string path = dir_.file("m.npy");
  save_npy(path, values.data(), {4, 3, 2});
  EXPECT_EQ(alphareq::read_npy_header(path).shape, (std::vector<std::int64_t>{4, 3, 2}));
  EXPECT_EQ(read_matrix<double>(path), values);  // C order: flattening keeps the order
}

TEST_F(NpyWriterTest, Writes1DFloat64WithNumpyHeaderAndLittleEndianData) {
  const std::vector<double> eigenvalues = {3.5, 1.25, 0.5, 0.125, 1e-3, 1e-5, 1e-9};
  const std::string path = dir_.file("eigenvalues.npy");
  save_npy(path, eigenvalues.data(), {7});
  const ParsedNpy parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
  EXPECT_EQ(parsed.major, 1);
  EXPECT_EQ(parsed.minor, 0);
  expect_numpy_header(parsed, "<f8", "(7,)");
  EXPECT_EQ(parsed.data, alphareq_test::encode(eigenvalues, false));
}

TEST_F(NpyWriterTest, Writes2DFloat32WithNumpyHeaderAndLittleEndianData) {
  const std::vector<double> doubles = random_values(5 * 3, 4);
  const std::vector<float> values(doubles.begin(), doubles.end());
  const std::string path = dir_.file("m.npy");
  save_npy(path, values.data(), {5, 3});
  const ParsedNpy parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
  expect_numpy_header(parsed, "<f4", "(5, 3)");
  EXPECT_EQ(parsed.data, alphareq_test::encode(values, false));
}

TEST_F(NpyWriterTest, AlignsTheDataTo64BytesForEveryHeaderLength) {
  const std::vector<double> values = random_values(2, 5);
  // Each extra dim of 1 adds 3 bytes ("1, ") to the dict; 3 is coprime with 64, so these
  // shapes hit every header length modulo 64, the exactly-filled block included.
  std::vector<std::int64_t> shape = {2};
  std::string shape_text = "(2,)";
  for (int extra_dims = 0; extra_dims < 64; ++extra_dims) {
    const std::string path = dir_.file("a.npy");
    save_npy(path, values.data(), shape);
    const ParsedNpy parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
    expect_numpy_header(parsed, "<f8", shape_text);
    EXPECT_EQ(parsed.data, alphareq_test::encode(values, false));
    shape.push_back(1);
    shape_text = alphareq_test::shape_repr(shape);
  }
}

TEST_F(NpyWriterTest, UsesVersion2WhenTheHeaderExceeds65535Bytes) {
  std::vector<std::int64_t> shape(22000, 1);  // "1, " per dim: a header of ~66000 bytes
  shape[0] = 2;
  const std::vector<double> values = {1.5, -2.5};
  const std::string path = dir_.file("huge_header.npy");
  save_npy(path, values.data(), shape);
  const ParsedNpy parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
  EXPECT_EQ(parsed.major, 2);
  EXPECT_EQ(parsed.minor, 0);
  EXPECT_GT(parsed.header.size(), 65535u);
  EXPECT_EQ(parsed.data_offset % 64, 0u);
  EXPECT_EQ(parsed.data, alphareq_test::encode(values, false));
  NpyReader reader(path);
  EXPECT_EQ(reader.header().major_version, 2);
  EXPECT_EQ(reader.header().shape.size(), 22000u);
  EXPECT_EQ(reader.cols(), 1);
  EXPECT_EQ(read_matrix<double>(path), values);
}

TEST_F(NpyWriterTest, WritesEmptyAndScalarShapes) {
  const std::string path = dir_.file("e.npy");
  save_npy(path, static_cast<const double*>(nullptr), {0, 3});
  ParsedNpy parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
  expect_numpy_header(parsed, "<f8", "(0, 3)");
  EXPECT_TRUE(parsed.data.empty());

  const double scalar = 2.75;
  save_npy(path, &scalar, {});
  parsed = parse_npy_bytes(alphareq_test::read_bytes(path));
  expect_numpy_header(parsed, "<f8", "()");
  EXPECT_EQ(parsed.data, alphareq_test::encode(std::vector<double>{scalar}, false));
}

TEST_F(NpyWriterTest, OverwritesAnExistingFile) {
  const std::vector<double> big = random_values(100 * 10, 6);
  const std::vector<double> small = random_values(2 * 2, 7);
  const std::string path = dir_.file("m.npy");
  save_npy(path, big.data(), {100, 10});
  save_npy(path, small.data(), {2, 2});
  EXPECT_EQ(std::filesystem::file_size(path), 128u + 4u * 8u);
  EXPECT_EQ(read_matrix<double>(path), small);
}

TEST_F(NpyWriterTest, UnwritablePathThrowsFileErrorWithTheSystemReason) {
  const std::vector<double> values = random_values(4, 8);
  const std::string missing_dir = dir_.file("no_such_dir/m.npy");
  EXPECT_NE(expect_error_starting_with_path(missing_dir, values.data(), {2, 2})
                .find(std::strerror(ENOENT)),
            std::string::npos);
  const std::string directory = dir_.path().string();
  EXPECT_NE(expect_error_starting_with_path(directory, values.data(), {2, 2})
                .find(std::strerror(EISDIR)),
            std::string::npos);
}

TEST_F(NpyWriterTest, FullDiskThrowsFileError) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const std::vector<double> values = random_values(64 * 64, 9);
  const std::string message =
      expect_error_starting_with_path("/dev/full", values.data(), {64, 64});
  EXPECT_NE(message.find("write failed"), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(ENOSPC)), std::string::npos) << message;
}

TEST_F(NpyWriterTest, RejectsNegativeDimensionsAndNullData) {
  const std::vector<double> values = random_values(4, 10);
  const std::string path = dir_.file("bad.npy");
  try {
    save_npy(path, values.data(), {2, -2});
    ADD_FAILURE() << "a negative dimension was accepted";
  } catch (const alphareq::invalid_input& e) {
    EXPECT_NE(std::string(e.what()).find("negative dimension -2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(save_npy(path, static_cast<const float*>(nullptr), {2, 2}),
               alphareq::invalid_input);
  EXPECT_FALSE(std::filesystem::exists(path)) << "nothing is written for invalid input";
}

}  // namespace
