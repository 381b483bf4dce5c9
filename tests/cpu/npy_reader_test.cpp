// NpyReader: every accepted layout is read exactly, every malformed file is rejected with a
// file_error that names the file and the problem. Files are built byte by byte by
// npy_test_files.hpp, never by save_npy.

#include "npy_test_files.hpp"

#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using alphareq::DType;
using alphareq::MatrixView;
using alphareq::NpyReader;
using alphareq_test::encode;
using alphareq_test::NpySpec;
using alphareq_test::TempDir;

// Values that are never zero and have varied signs and magnitudes, so a misplaced element
// cannot go unnoticed. Exactly representable as float as well as double.
std::vector<double> random_values(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.5f, 1000.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<double> values(count);
  for (double& value : values) value = (negative(rng) ? -1.0 : 1.0) * magnitude(rng);
  return values;
}

template <typename T>
std::vector<T> as(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

// Reads the rest of the file in chunks of `chunk` rows, checking every view's layout.
template <typename T>
std::vector<T> read_all(NpyReader& reader, std::int64_t chunk) {
  const DType expected_dtype = sizeof(T) == 4 ? DType::float32 : DType::float64;
  std::vector<T> all;
  for (;;) {
    const std::int64_t remaining = reader.rows() - reader.rows_read();
    const MatrixView view = reader.next_chunk(chunk);
    EXPECT_EQ(view.rows, std::min(chunk, remaining));
    EXPECT_EQ(view.cols, reader.cols());
    EXPECT_EQ(view.row_stride, reader.cols());
    EXPECT_EQ(view.dtype, expected_dtype);
    EXPECT_EQ(view.space, alphareq::MemorySpace::host);
    if (view.rows == 0) break;
    const T* data = static_cast<const T*>(view.data);
    all.insert(all.end(), data, data + view.rows * view.cols);
  }
  EXPECT_EQ(reader.rows_read(), reader.rows());
  return all;
}

std::string error_message_of(const std::string& path) {
  try {
    NpyReader reader(path);
  } catch (const alphareq::file_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected alphareq::file_error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected alphareq::file_error for " << path << ", nothing was thrown";
  return "";
}

// Opening `path` (with NpyReader and with read_npy_header) throws file_error, one line,
// starting with the path, containing `phrase`.
void expect_file_error(const std::string& path, const std::string& phrase) {
  const std::string message = error_message_of(path);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(phrase), std::string::npos) << "'" << phrase << "' not in: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_THROW(alphareq::read_npy_header(path), alphareq::file_error);
}

// Names for parametrised cases.
std::string order_name(const ::testing::TestParamInfo<bool>& test_info) {
  return test_info.param ? "fortran" : "c_order";
}
template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& test_info) {
  return test_info.param.name;
}

class NpyReaderTest : public ::testing::Test {
 protected:
  std::string write(const NpySpec& spec, const std::string& name = "array.npy") {
    const std::string path = dir_.file(name);
    alphareq_test::write_npy(path, spec);
    return path;
  }
  TempDir dir_;
};

NpySpec float64_spec(const std::vector<std::int64_t>& shape, const std::vector<double>& file_order,
                     bool fortran = false) {
  NpySpec spec;
  spec.shape = shape;
  spec.fortran_order = fortran;
  spec.data = encode(file_order, false);
  return spec;
}

// ---- Versions, dtypes and byte orders -------------------------------------------------

class NpyReaderVersion : public NpyReaderTest, public ::testing::WithParamInterface<int> {};

TEST_P(NpyReaderVersion, ReadsFormatVersion) {
  const std::vector<double> values = random_values(7 * 4, 11);
  NpySpec spec = float64_spec({7, 4}, values);
  spec.major = GetParam();
  NpyReader reader(write(spec));
  EXPECT_EQ(reader.header().major_version, GetParam());
  EXPECT_EQ(reader.header().minor_version, 0);
  EXPECT_EQ(reader.header().data_offset % 64, 0u);
  EXPECT_EQ(read_all<double>(reader, 3), values);
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReaderVersion, ::testing::Values(1, 2, 3),
                         [](const auto& test_info) {
                           return "v" + std::to_string(test_info.param) + "_0";
                         });

struct DtypeCase {
  std::string name;
  std::string descr;
  bool float32;
  bool big_endian;  // byte order of the bytes in the file
};

class NpyReaderDtype : public NpyReaderTest, public ::testing::WithParamInterface<DtypeCase> {};

TEST_P(NpyReaderDtype, ReadsValuesExactlyInHostByteOrderKeepingDtype) {
  const DtypeCase& param = GetParam();
  const std::vector<double> values = random_values(9 * 5, 12);
  NpySpec spec;
  spec.descr = param.descr;
  spec.shape = {9, 5};
  spec.data = param.float32 ? encode(as<float>(values), param.big_endian)
                            : encode(values, param.big_endian);
  NpyReader reader(write(spec));
  EXPECT_EQ(reader.dtype(), param.float32 ? DType::float32 : DType::float64);
  EXPECT_EQ(reader.header().big_endian, param.big_endian);
  EXPECT_EQ(reader.data_bytes(), 9u * 5u * (param.float32 ? 4u : 8u));
  if (param.float32) {
    EXPECT_EQ(read_all<float>(reader, 4), as<float>(values));
  } else {
    EXPECT_EQ(read_all<double>(reader, 4), values);
  }
}

const bool kHostBig = alphareq_test::host_is_big_endian();
INSTANTIATE_TEST_SUITE_P(
    Npy, NpyReaderDtype,
    ::testing::Values(DtypeCase{"float32_little", "<f4", true, false},
                      DtypeCase{"float32_big", ">f4", true, true},
                      DtypeCase{"float32_native", "=f4", true, kHostBig},
                      DtypeCase{"float64_little", "<f8", false, false},
                      DtypeCase{"float64_big", ">f8", false, true},
                      DtypeCase{"float64_native", "=f8", false, kHostBig}),
    case_name<DtypeCase>);

TEST_F(NpyReaderTest, ReadsBigEndianFloat64) {
  const std::vector<double> values = {1.5, -2.25, 3e300, -4e-300, 5.0, 6.125};
  NpySpec spec;
  spec.descr = ">f8";
  spec.shape = {3, 2};
  spec.data = encode(values, true);
  ASSERT_EQ(spec.data[0], 0x3f);  // 1.5 is 0x3FF8000000000000: most significant byte first
  NpyReader reader(write(spec));
  EXPECT_EQ(read_all<double>(reader, 10), values);
}

TEST_F(NpyReaderTest, ReportsHeaderFieldsAndReadNpyHeaderAgrees) {
  NpySpec spec;
  spec.descr = ">f4";
  spec.fortran_order = true;
  spec.shape = {6, 2, 5};
  spec.data = encode(as<float>(random_values(60, 13)), true);
  const std::string path = write(spec);
  NpyReader reader(path);
  const alphareq::NpyHeader& header = reader.header();
  EXPECT_EQ(reader.path(), path);
  EXPECT_EQ(header.major_version, 1);
  EXPECT_EQ(header.dtype, DType::float32);
  EXPECT_TRUE(header.big_endian);
  EXPECT_TRUE(header.fortran_order);
  EXPECT_EQ(header.shape, (std::vector<std::int64_t>{6, 2, 5}));
  EXPECT_EQ(reader.rows(), 6);
  EXPECT_EQ(reader.cols(), 10);
  EXPECT_EQ(reader.data_bytes(), 240u);
  EXPECT_EQ(reader.rows_read(), 0);
  const alphareq::NpyHeader again = alphareq::read_npy_header(path);
  EXPECT_EQ(again.shape, header.shape);
  EXPECT_EQ(again.data_offset, header.data_offset);
  EXPECT_EQ(again.rows, 6);
  EXPECT_EQ(again.cols, 10);
  EXPECT_TRUE(again.fortran_order);
}

// ---- C and Fortran order, N-D flattening ----------------------------------------------

TEST_F(NpyReaderTest, ReadsFortranOrder2DAsRowMajor) {
  const std::int64_t n = 6, d = 4;
  const std::vector<double> logical = random_values(n * d, 21);  // logical[i * d + j]
  std::vector<double> file(n * d);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) file[i + n * j] = logical[i * d + j];
  }
  NpyReader reader(write(float64_spec({n, d}, file, true)));
  EXPECT_EQ(read_all<double>(reader, 4), logical);
}

// A 3-D array a[i][j][k] of shape (s0, s1, s2) flattens to column j * s2 + k, as
// x.reshape(n, -1) does, whatever the order in the file.
class NpyReader3D : public NpyReaderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NpyReader3D, FlattensLikeNumpyReshape) {
  const bool fortran = GetParam();
  const std::int64_t s0 = 5, s1 = 3, s2 = 4;
  const std::vector<double> a = random_values(s0 * s1 * s2, 31);  // a[(i*s1 + j)*s2 + k]
  std::vector<double> file(a.size());
  for (std::int64_t i = 0; i < s0; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) {
        const std::int64_t at = fortran ? i + s0 * (j + s1 * k) : (i * s1 + j) * s2 + k;
        file[at] = a[(i * s1 + j) * s2 + k];
      }
    }
  }
  NpyReader reader(write(float64_spec({s0, s1, s2}, file, fortran)));
  ASSERT_EQ(reader.rows(), s0);
  ASSERT_EQ(reader.cols(), s1 * s2);
  const std::vector<double> matrix = read_all<double>(reader, 2);
  for (std::int64_t i = 0; i < s0; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) {
        ASSERT_EQ(matrix[i * s1 * s2 + j * s2 + k], a[(i * s1 + j) * s2 + k])
            << "i=" << i << " j=" << j << " k=" << k;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReader3D, ::testing::Bool(),
                         order_name);

// 4-D, float32, big-endian: a[i][j][k][l] of shape (s0, s1, s2, s3) is column
// (j * s2 + k) * s3 + l.
class NpyReader4D : public NpyReaderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NpyReader4D, FlattensBigEndianFloat32LikeNumpyReshape) {
  const bool fortran = GetParam();
  const std::int64_t s0 = 4, s1 = 2, s2 = 3, s3 = 5;
  const std::vector<float> a = as<float>(random_values(s0 * s1 * s2 * s3, 41));
  auto c_index = [&](auto i, auto j, auto k, auto l) { return ((i * s1 + j) * s2 + k) * s3 + l; };
  std::vector<float> file(a.size());
  for (std::int64_t i = 0; i < s0; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) {
        for (std::int64_t l = 0; l < s3; ++l) {
          const std::int64_t at = fortran ? i + s0 * (j + s1 * (k + s2 * l)) : c_index(i, j, k, l);
          file[at] = a[c_index(i, j, k, l)];
        }
      }
    }
  }
  NpySpec spec;
  spec.descr = ">f4";
  spec.fortran_order = fortran;
  spec.shape = {s0, s1, s2, s3};
  spec.data = encode(file, true);
  NpyReader reader(write(spec));
  ASSERT_EQ(reader.cols(), s1 * s2 * s3);
  const std::vector<float> matrix = read_all<float>(reader, 3);
  for (std::int64_t i = 0; i < s0; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) {
        for (std::int64_t l = 0; l < s3; ++l) {
          ASSERT_EQ(matrix[i * s1 * s2 * s3 + (j * s2 + k) * s3 + l], a[c_index(i, j, k, l)]);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReader4D, ::testing::Bool(),
                         order_name);

// The reader transposes Fortran columns in blocks; 10 * 14 = 140 columns span two full
// blocks and a partial one, read in chunks that do not divide the rows.
TEST_F(NpyReaderTest, FlattensFortranArrayWiderThanOneColumnBlock) {
  const std::int64_t s0 = 37, s1 = 10, s2 = 14;
  const std::vector<double> a = random_values(s0 * s1 * s2, 45);  // a[(i*s1 + j)*s2 + k]
  std::vector<double> file(a.size());
  for (std::int64_t i = 0; i < s0; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) file[i + s0 * (j + s1 * k)] = a[(i * s1 + j) * s2 + k];
    }
  }
  NpySpec spec;
  spec.descr = ">f8";
  spec.fortran_order = true;
  spec.shape = {s0, s1, s2};
  spec.data = encode(file, true);
  NpyReader reader(write(spec));
  EXPECT_EQ(read_all<double>(reader, 5), a);  // C-order a is exactly x.reshape(s0, -1)
}

// ---- Chunking and rewind --------------------------------------------------------------

// (fortran order, chunk rows) for a 53-row file: chunks of 1, 7 (does not divide 53), n and
// more than n must all give the same matrix.
class NpyReaderChunks
    : public NpyReaderTest,
      public ::testing::WithParamInterface<std::tuple<bool, std::int64_t>> {};

TEST_P(NpyReaderChunks, AnyChunkSizeGivesIdenticalData) {
  const auto [fortran, chunk] = GetParam();
  const std::int64_t n = 53, s1 = 3, s2 = 2;
  const std::vector<double> a = random_values(n * s1 * s2, 51);
  std::vector<double> file(a.size());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < s1; ++j) {
      for (std::int64_t k = 0; k < s2; ++k) {
        file[fortran ? i + n * (j + s1 * k) : (i * s1 + j) * s2 + k] = a[(i * s1 + j) * s2 + k];
      }
    }
  }
  NpyReader reader(write(float64_spec({n, s1, s2}, file, fortran)));
  EXPECT_EQ(read_all<double>(reader, chunk), a);
  EXPECT_EQ(reader.next_chunk(chunk).rows, 0) << "stays at the end of the file";
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReaderChunks,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values<std::int64_t>(1, 7, 53, 80)),
                         [](const auto& test_info) {
                           const bool fortran = std::get<0>(test_info.param);
                           return std::string(fortran ? "fortran" : "c_order") + "_chunk" +
                                  std::to_string(std::get<1>(test_info.param));
                         });

class NpyReaderRewind : public NpyReaderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NpyReaderRewind, RewindRestartsFromTheFirstRow) {
  const std::vector<double> values = random_values(10 * 3, 61);
  std::vector<double> file(values.size());
  for (std::size_t i = 0; i < 10; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      file[GetParam() ? i + 10 * j : i * 3 + j] = values[i * 3 + j];
    }
  }
  NpyReader reader(write(float64_spec({10, 3}, file, GetParam())));
  reader.next_chunk(4);
  reader.next_chunk(4);
  EXPECT_EQ(reader.rows_read(), 8);
  reader.rewind();
  EXPECT_EQ(reader.rows_read(), 0);
  EXPECT_EQ(read_all<double>(reader, 3), values);
  reader.rewind();
  EXPECT_EQ(read_all<double>(reader, 100), values);
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReaderRewind, ::testing::Bool(),
                         order_name);

class NpyReaderLarge : public NpyReaderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NpyReaderLarge, StreamsALargeFloat32FileInChunks) {
  const bool fortran = GetParam();
  const std::int64_t n = 20000, d = 64, chunk = 4096;  // 4096 does not divide 20000
  const std::vector<float> values = as<float>(random_values(n * d, 71));
  std::vector<float> file(values.size());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) file[fortran ? i + n * j : i * d + j] = values[i * d + j];
  }
  NpySpec spec;
  spec.descr = "<f4";
  spec.fortran_order = fortran;
  spec.shape = {n, d};
  spec.data = encode(file, false);
  NpyReader reader(write(spec));
  std::int64_t row = 0;
  for (MatrixView view = reader.next_chunk(chunk); view.rows > 0; view = reader.next_chunk(chunk)) {
    ASSERT_EQ(view.rows, std::min(chunk, n - row));
    const float* data = static_cast<const float*>(view.data);
    ASSERT_TRUE(std::equal(data, data + view.rows * d, values.begin() + row * d)) << "row " << row;
    row += view.rows;
  }
  EXPECT_EQ(row, n);
}

INSTANTIATE_TEST_SUITE_P(Npy, NpyReaderLarge, ::testing::Bool(),
                         order_name);

TEST_F(NpyReaderTest, NextChunkRejectsNonPositiveMaxRows) {
  const std::string path = write(float64_spec({3, 2}, random_values(6, 81)));
  NpyReader reader(path);
  for (const std::int64_t bad : {0, -1}) {
    try {
      reader.next_chunk(bad);
      ADD_FAILURE() << "max_rows " << bad << " was accepted";
    } catch (const alphareq::invalid_input& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("max_rows"), std::string::npos) << e.what();
    }
  }
}

// ---- Header layout and syntax ---------------------------------------------------------

TEST_F(NpyReaderTest, DataOffsetOfHelperFilesIsAlignedTo64Bytes) {
  for (const int major : {1, 2, 3}) {
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{2, 1}, {123456, 7}, {2, 3, 4, 5, 6, 7, 8}}) {
      std::int64_t count = 1;
      for (const std::int64_t dim : shape) count *= dim;
      NpySpec spec = float64_spec(shape, random_values(static_cast<std::size_t>(count), 90));
      spec.major = major;
      const std::vector<unsigned char> bytes = alphareq_test::npy_bytes(spec);
      const std::string path = dir_.file("aligned.npy");
      alphareq_test::write_bytes(path, bytes);
      const alphareq::NpyHeader header = alphareq::read_npy_header(path);
      EXPECT_EQ(header.data_offset % 64, 0u) << "version " << major;
      EXPECT_EQ(header.data_offset, bytes.size() - spec.data.size());
    }
  }
}

TEST_F(NpyReaderTest, ReadsUnalignedHeaderWithoutPadding) {
  const std::vector<double> values = random_values(4 * 3, 91);
  NpySpec spec = float64_spec({4, 3}, values);
  spec.pad = false;
  NpyReader reader(write(spec));
  EXPECT_NE(reader.header().data_offset % 64, 0u);
  EXPECT_EQ(read_all<double>(reader, 3), values);
}

TEST_F(NpyReaderTest, AcceptsExtraBytesAfterTheData) {
  const std::vector<double> values = random_values(4 * 3, 92);
  NpySpec spec = float64_spec({4, 3}, values);
  spec.data.insert(spec.data.end(), 100, 0xAB);
  NpyReader reader(write(spec));
  EXPECT_EQ(read_all<double>(reader, 3), values);
}

class NpyReaderHeaderSyntax : public NpyReaderTest,
                              public ::testing::WithParamInterface<std::string> {};

TEST_P(NpyReaderHeaderSyntax, AcceptsAnyKeyOrderQuotesAndWhitespace) {
  const std::vector<double> values = random_values(4 * 3, 93);
  NpySpec spec = float64_spec({4, 3}, values);
  spec.raw_header = GetParam();
  NpyReader reader(write(spec));
  EXPECT_EQ(reader.rows(), 4);
  EXPECT_EQ(reader.cols(), 3);
  EXPECT_EQ(read_all<double>(reader, 3), values);
}

INSTANTIATE_TEST_SUITE_P(
    Npy, NpyReaderHeaderSyntax,
    ::testing::Values("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }",
                      "{'shape': (4, 3), 'fortran_order': False, 'descr': '<f8'}",
                      "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (4, 3)}",
                      "{'fortran_order': False, \"descr\": '<f8', 'shape': (4,3,),}",
                      "{ 'descr' :'<f8' ,\t'fortran_order':False,\r\n 'shape' : ( 4 , 3 ) , }",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': ((4), 3)}"));

// ---- Rejected dtypes -------------------------------------------------------------------

struct RejectedDtype {
  std::string descr;
  std::string name;  // how the message names it
};

class NpyReaderRejectsDtype : public NpyReaderTest,
                              public ::testing::WithParamInterface<RejectedDtype> {};

TEST_P(NpyReaderRejectsDtype, NamesTheDtypeAndTheSupportedOnes) {
  NpySpec spec;
  spec.descr = GetParam().descr;
  spec.shape = {4, 3};
  spec.data.assign(4 * 3 * 16, 0x11);
  const std::string path = write(spec);
  expect_file_error(path, "'" + GetParam().descr + "' (" + GetParam().name + ")");
  expect_file_error(path, "only float32 and float64 are supported");
}

INSTANTIATE_TEST_SUITE_P(
    Npy, NpyReaderRejectsDtype,
    ::testing::Values(RejectedDtype{"<i8", "int64"}, RejectedDtype{"<i4", "int32"},
                      RejectedDtype{"|i1", "int8"}, RejectedDtype{"|u1", "uint8"},
                      RejectedDtype{">u2", "uint16"}, RejectedDtype{"|b1", "bool"},
                      RejectedDtype{"<c8", "complex64"}, RejectedDtype{"<c16", "complex128"},
                      RejectedDtype{"<f2", "float16"}, RejectedDtype{"<f16", "float128"},
                      RejectedDtype{"<U5", "str"}, RejectedDtype{"|S3", "bytes"},
                      RejectedDtype{"|O", "object"}, RejectedDtype{"<M8[ns]", "datetime64"}),
    [](const auto& test_info) { return "descr_" + std::to_string(test_info.index); });

TEST_F(NpyReaderTest, RejectsStructuredDtype) {
  NpySpec spec;
  spec.raw_header =
      "{'descr': [('a', '<f4'), ('b', '<f4', (2,))], 'fortran_order': False, 'shape': (4, 3), }";
  spec.data.assign(4 * 3 * 12, 0x11);
  const std::string path = write(spec);
  expect_file_error(path, "unsupported structured dtype [('a', '<f4'), ('b', '<f4', (2,))]");
  expect_file_error(path, "only float32 and float64 are supported");
}

TEST_F(NpyReaderTest, RejectsNotApplicableByteOrderForFloats) {
  NpySpec spec = float64_spec({4, 3}, random_values(12, 94));
  spec.descr = "|f8";
  expect_file_error(write(spec), "byte order '|' is only valid for 1-byte types");
}

// ---- Rejected shapes and sizes --------------------------------------------------------

TEST_F(NpyReaderTest, Rejects1DArray) {
  expect_file_error(write(float64_spec({5}, random_values(5, 95))),
                    "needs a 2-D array (samples x features), got shape (5,)");
}

TEST_F(NpyReaderTest, Rejects0DArray) {
  expect_file_error(write(float64_spec({}, random_values(1, 96))),
                    "needs a 2-D array (samples x features), got shape ()");
}

TEST_F(NpyReaderTest, RejectsEmptyArrays) {
  for (const std::vector<std::int64_t>& shape :
       {std::vector<std::int64_t>{0, 5}, {5, 0}, {0, 0}, {4, 0, 3}}) {
    const std::string path = write(float64_spec(shape, {}));
    expect_file_error(path, "empty array: shape " + alphareq_test::shape_repr(shape));
  }
}

TEST_F(NpyReaderTest, RejectsSingleRow) {
  expect_file_error(write(float64_spec({1, 5}, random_values(5, 97))),
                    "needs at least 2 samples (rows), got shape (1, 5)");
  expect_file_error(write(float64_spec({1, 2, 3}, random_values(6, 98))),
                    "needs at least 2 samples (rows), got shape (1, 2, 3)");
}

TEST_F(NpyReaderTest, RejectsShapeWhoseByteCountOverflows) {
  expect_file_error(write(float64_spec({2, std::int64_t{1} << 62}, {})), "is too large");
  expect_file_error(write(float64_spec({2, 3037000500, 3037000500}, {})), "is too large");
  expect_file_error(write(float64_spec({200, 99999999999999999}, {})), "is too large");
}

TEST_F(NpyReaderTest, RejectsTruncatedData) {
  NpySpec spec = float64_spec({5, 3}, random_values(15, 99));
  spec.data.resize(100);
  expect_file_error(write(spec), "truncated: header promises 120 bytes of data, file has 100");
}

TEST_F(NpyReaderTest, RejectsTruncatedHeader) {
  const NpySpec valid = float64_spec({5, 3}, random_values(15, 100));
  for (const std::size_t cut : {7, 9, 11, 40, 63}) {
    NpySpec spec = valid;
    spec.truncate_to = cut;
    expect_file_error(write(spec, "cut" + std::to_string(cut) + ".npy"), "truncated header");
  }
}

// The file is larger than any stdio buffer, so the shrinking cannot be hidden by data
// that was already buffered.
TEST_F(NpyReaderTest, ReadFailsWhenTheFileShrinksAfterOpening) {
  const std::int64_t n = 2000, d = 64;
  for (const bool fortran : {false, true}) {
    const std::string path = write(float64_spec({n, d}, random_values(n * d, 101), fortran));
    NpyReader reader(path);
    reader.next_chunk(4);
    std::filesystem::resize_file(path, reader.header().data_offset + 8 * d * 100);
    try {
      reader.next_chunk(1000);
      ADD_FAILURE() << "no error after the file shrank";
    } catch (const alphareq::file_error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path + ": read failed at row 4", 0), 0u) << message;
    }
  }
}

// ---- Mangled headers ------------------------------------------------------------------

struct MangledCase {
  std::string name;
  std::string header;
  std::string phrase;
};

class NpyReaderMangled : public NpyReaderTest,
                         public ::testing::WithParamInterface<MangledCase> {};

TEST_P(NpyReaderMangled, SaysWhatIsWrong) {
  NpySpec spec = float64_spec({4, 3}, random_values(12, 102));
  spec.raw_header = GetParam().header;
  const std::string path = write(spec);
  expect_file_error(path, "mangled header: ");
  expect_file_error(path, GetParam().phrase);
}

const std::string kTail = "'fortran_order': False, 'shape': (4, 3), }";
INSTANTIATE_TEST_SUITE_P(
    Npy, NpyReaderMangled,
    ::testing::Values(
        MangledCase{"missing_shape", "{'descr': '<f8', 'fortran_order': False, }",
                    "missing key 'shape'"},
        MangledCase{"missing_descr", "{'fortran_order': False, 'shape': (4, 3), }",
                    "missing key 'descr'"},
        MangledCase{"missing_fortran_order", "{'descr': '<f8', 'shape': (4, 3), }",
                    "missing key 'fortran_order'"},
        MangledCase{"unknown_key", "{'descr': '<f8', 'version': 1, " + kTail,
                    "unknown key 'version'"},
        MangledCase{"duplicate_key", "{'descr': '<f8', 'descr': '<f8', " + kTail,
                    "duplicate key 'descr'"},
        MangledCase{"missing_closing_brace",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), ",
                    "missing closing '}'"},
        MangledCase{"missing_brace_and_comma",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)",
                    "missing closing '}'"},
        MangledCase{"shape_unclosed", "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3, }",
                    "unexpected '}'"},
        MangledCase{"shape_semicolon", "{'descr': '<f8', 'fortran_order': False, 'shape': (4; 3)}",
                    "expected ',' or ')'"},
        MangledCase{"shape_float", "{'descr': '<f8', 'fortran_order': False, 'shape': (4.0, 3)}",
                    "expected ',' or ')'"},
        MangledCase{"shape_list", "{'descr': '<f8', 'fortran_order': False, 'shape': [4, 3]}",
                    "'shape' must be a tuple of non-negative integers such as (5, 3), got [4, 3]"},
        MangledCase{"shape_scalar", "{'descr': '<f8', 'fortran_order': False, 'shape': (4)}",
                    "'shape' must be a tuple of non-negative integers such as (5, 3), got (4)"},
        MangledCase{"shape_negative", "{'descr': '<f8', 'fortran_order': False, 'shape': (-4, 3)}",
                    "'shape' must be a tuple of non-negative integers"},
        MangledCase{"shape_string", "{'descr': '<f8', 'fortran_order': False, 'shape': '(4, 3)'}",
                    "'shape' must be a tuple"},
        MangledCase{"shape_huge_integer",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 3)}",
                    "integer too large"},
        MangledCase{"descr_not_a_string", "{'descr': 8, " + kTail, "'descr' must be a dtype"},
        MangledCase{"descr_garbage", "{'descr': 'zz', " + kTail, "descr 'zz' is not a valid dtype"},
        MangledCase{"descr_nul_byte_order", std::string("{'descr': '\0f8', ", 17) + kTail,
                    "descr '\\x00f8' is not a valid dtype"},
        MangledCase{"descr_empty", "{'descr': '', " + kTail, "descr '' is not a valid dtype"},
        MangledCase{"descr_float_without_size", "{'descr': '<f', " + kTail,
                    "descr '<f' is not a valid dtype"},
        MangledCase{"fortran_order_string",
                    "{'descr': '<f8', 'fortran_order': 'False', 'shape': (4, 3)}",
                    "'fortran_order' must be True or False, got 'False'"},
        MangledCase{"fortran_order_integer",
                    "{'descr': '<f8', 'fortran_order': 0, 'shape': (4, 3)}",
                    "'fortran_order' must be True or False, got 0"},
        MangledCase{"fortran_order_lowercase",
                    "{'descr': '<f8', 'fortran_order': false, 'shape': (4, 3)}", "unexpected 'f'"},
        MangledCase{"unterminated_string", "{'descr': '<f8, " + kTail, "expected ',' or '}'"},
        MangledCase{"unterminated_string_at_end", "{'descr': '<f8", "unterminated string"},
        MangledCase{"key_not_a_string", "{5: '<f8', " + kTail, "dict key 5 is not a string"},
        MangledCase{"missing_colon", "{'descr' '<f8', " + kTail, "expected ':'"},
        MangledCase{"not_a_dict", "['descr', '<f8']", "expected '{'"},
        MangledCase{"garbage", "hello, world", "expected '{'"},
        MangledCase{"empty", "", "expected '{'"},
        MangledCase{"multiline_value_quoted_on_one_line",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': [4,\n 3]}",
                    "got [4,\\x0a 3]"},
        MangledCase{"latin1_key_quoted_as_ascii", "{'descr': '<f8', 'd\xe9': 1, " + kTail,
                    "unknown key 'd\\xe9'"},
        MangledCase{"text_after_dict",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)} extra",
                    "unexpected text after the closing '}'"},
        MangledCase{"nul_after_dict",
                    std::string("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)}\0", 58),
                    "unexpected text after the closing '}'"}),
    case_name<MangledCase>);

// ---- Not a .npy file, unsupported versions, unreadable paths --------------------------

TEST_F(NpyReaderTest, RejectsTextFile) {
  const std::string path = dir_.file("features.npy");
  alphareq_test::write_bytes(path, std::vector<unsigned char>(
                                       {'x', ',', 'y', '\n', '1', ',', '2', '\n', '3', ',', '4'}));
  expect_file_error(path, "not a .npy file");
}

TEST_F(NpyReaderTest, RejectsWrongMagicAndFilesShorterThanTheMagic) {
  NpySpec spec = float64_spec({4, 3}, random_values(12, 103));
  std::vector<unsigned char> bytes = alphareq_test::npy_bytes(spec);
  bytes[5] = 'X';  // "\x93NUMPX"
  const std::string wrong = dir_.file("wrong_magic.npy");
  alphareq_test::write_bytes(wrong, bytes);
  expect_file_error(wrong, "not a .npy file");

  const std::string short_file = dir_.file("short.npy");
  alphareq_test::write_bytes(short_file, {0x93, 'N', 'U'});
  expect_file_error(short_file, "not a .npy file");

  const std::string empty = dir_.file("empty.npy");
  alphareq_test::write_bytes(empty, {});
  expect_file_error(empty, "not a .npy file");
}

TEST_F(NpyReaderTest, RejectsUnsupportedFormatVersions) {
  for (const auto& [major, minor] : {std::pair{4, 0}, std::pair{0, 0}, std::pair{1, 1}}) {
    NpySpec spec = float64_spec({4, 3}, random_values(12, 104));
    spec.major = major;
    spec.minor = minor;
    const std::string version = std::to_string(major) + "." + std::to_string(minor);
    expect_file_error(write(spec), "unsupported .npy format version " + version);
  }
}

TEST_F(NpyReaderTest, RejectsNonexistentFileWithTheSystemReason) {
  const std::string path = dir_.file("does_not_exist.npy");
  expect_file_error(path, "cannot open");
  expect_file_error(path, std::strerror(ENOENT));
}

TEST_F(NpyReaderTest, RejectsADirectoryWithTheSystemReason) {
  expect_file_error(dir_.path().string(), std::strerror(EISDIR));
}

}  // namespace
