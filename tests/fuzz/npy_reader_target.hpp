#pragma once
// The .npy fuzz target: any byte string, written to a file, must either be refused with
// alphareq::file_error or be read back exactly as the format says, chunk by chunk; and the
// α pipeline on what was read must give finite numbers or a clear alphareq::error.
// Shared by the libFuzzer binary (npy_reader_fuzzer.cpp) and the regression replay test
// (tests/hardening/fuzz_regression_test.cpp).

#include <algorithm>
#include <alphareq/alphareq.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.hpp"

namespace alphareq::fuzz {

namespace npy_detail {

// Rows per chunk: small and odd, so chunks end in the middle of the data.
constexpr std::int64_t kChunkRows = 3;
// The numerical stage runs on small arrays only, so that each input stays fast.
constexpr std::int64_t kMaxNumericCols = 64;

inline bool all_finite(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

// The element at C-order row `row`, flattened column `col`, decoded straight from the file
// bytes as the format defines it (an oracle independent of the reader's chunking,
// Fortran-order transposition and byte swapping).
inline void expected_element(const unsigned char* data, const NpyHeader& header, std::int64_t row,
                             std::int64_t col, unsigned char* out) {
  const std::size_t item = size_of(header.dtype);
  std::uint64_t index = 0;
  if (!header.fortran_order) {
    index = static_cast<std::uint64_t>(row) * static_cast<std::uint64_t>(header.cols) +
            static_cast<std::uint64_t>(col);
  } else {
    // C-order multi-index (i1, ..., ik) of `col` over shape[1:], then the Fortran offset
    // row + s0 * (i1 + s1 * (i2 + ...)).
    const std::vector<std::int64_t>& shape = header.shape;
    std::vector<std::uint64_t> digits(shape.size(), 0);
    std::uint64_t remaining = static_cast<std::uint64_t>(col);
    for (std::size_t d = shape.size() - 1; d >= 1; --d) {
      digits[d] = remaining % static_cast<std::uint64_t>(shape[d]);
      remaining /= static_cast<std::uint64_t>(shape[d]);
    }
    digits[0] = static_cast<std::uint64_t>(row);
    for (std::size_t d = shape.size(); d-- > 0;) {
      index = index * static_cast<std::uint64_t>(shape[d]) + digits[d];
    }
  }
  const unsigned char* source = data + header.data_offset + index * item;
  std::uint16_t probe = 1;
  unsigned char host_little = 0;
  std::memcpy(&host_little, &probe, 1);
  const bool swap = header.big_endian == (host_little == 1);
  for (std::size_t b = 0; b < item; ++b) out[b] = source[swap ? item - 1 - b : b];
}

// α pipeline on the array: the same numbers through chunked and one-batch accumulation and
// through compute_alpha_npy. Every result is finite; every refusal is an alphareq::error.
inline void check_numerics(const std::vector<unsigned char>& matrix, const NpyHeader& header) {
  const std::int64_t rows = header.rows, cols = header.cols;
  const std::size_t row_bytes = static_cast<std::size_t>(cols) * size_of(header.dtype);
  const auto view = [&](std::int64_t first, std::int64_t count) {
    MatrixView v{matrix.data() + static_cast<std::size_t>(first) * row_bytes,
                 count,
                 cols,
                 cols,
                 header.dtype,
                 MemorySpace::host,
                 nullptr};
    return v;
  };
  const AccumulatorOptions options{Backend::cpu, AccumulationPrecision::float64};
  CovarianceAccumulator chunked(cols, options);
  bool refused = false;
  for (std::int64_t first = 0; first < rows && !refused; first += kChunkRows) {
    const std::int64_t before = chunked.count();
    try {
      chunked.add_batch(view(first, std::min(kChunkRows, rows - first)));
    } catch (const invalid_input&) {
      // Refused input (NaN/Inf, values too large) leaves the accumulator as it was.
      ALPHAREQ_FUZZ_CHECK(chunked.count() == before);
      refused = true;
    }
  }
  if (refused) return;
  ALPHAREQ_FUZZ_CHECK(chunked.count() == rows);

  const std::vector<double> covariance = chunked.covariance();
  ALPHAREQ_FUZZ_CHECK(all_finite(covariance));
  ALPHAREQ_FUZZ_CHECK(all_finite(chunked.mean()));
  for (std::int64_t c = 0; c < cols; ++c) ALPHAREQ_FUZZ_CHECK(covariance[c * cols + c] >= 0.0);

  for (const auto precision : {AccumulationPrecision::float64, AccumulationPrecision::float32}) {
    CovarianceAccumulator whole(cols, AccumulatorOptions{Backend::cpu, precision});
    try {
      whole.add_batch(view(0, rows));
    } catch (const invalid_input&) {
      ALPHAREQ_FUZZ_CHECK(whole.count() == 0);
      continue;
    }
    const std::vector<double> c = whole.covariance();
    ALPHAREQ_FUZZ_CHECK(all_finite(c));
    for (std::int64_t i = 0; i < cols; ++i) ALPHAREQ_FUZZ_CHECK(c[i * cols + i] >= 0.0);
  }

  std::vector<double> eigenvalues;
  try {
    eigenvalues = chunked.eigenvalues();
  } catch (const numerical_error&) {
    return;  // LAPACK's own failure, reported as such
  }
  ALPHAREQ_FUZZ_CHECK(all_finite(eigenvalues));
  ALPHAREQ_FUZZ_CHECK(std::is_sorted(eigenvalues.rbegin(), eigenvalues.rend()));

  AlphaReport report;
  try {
    report = chunked.report(FitOptions{FitMethod::weighted, 1, 100});
  } catch (const invalid_input&) {
    return;  // too few usable ranks: a clear error, the expected answer for many inputs
  }
  const PowerLawFit& fit = report.fit;
  ALPHAREQ_FUZZ_CHECK(all_finite(report.eigenvalues));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(fit.alpha) && std::isfinite(fit.intercept));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(fit.r2) && fit.r2 <= 1.0 + 1e-9);
  ALPHAREQ_FUZZ_CHECK(all_finite(fit.residuals));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.metrics.effective_rank));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.metrics.participation_ratio));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.metrics.stable_rank));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.metrics.tail_ratio));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.diagnostics.robust_alpha));
  ALPHAREQ_FUZZ_CHECK(std::isfinite(report.diagnostics.suggested_alpha));
  ALPHAREQ_FUZZ_CHECK(1 <= fit.first_rank && fit.first_rank + 2 <= fit.last_rank);
  ALPHAREQ_FUZZ_CHECK(fit.last_rank <= fit.rank_limit);
  ALPHAREQ_FUZZ_CHECK(fit.rank_limit <= std::min(rows - 1, cols));
  ALPHAREQ_FUZZ_CHECK(fit.residuals.size() ==
                      static_cast<std::size_t>(fit.last_rank - fit.first_rank + 1));
  ALPHAREQ_FUZZ_CHECK(fit.clipped == (fit.last_rank < 100));
  ALPHAREQ_FUZZ_CHECK(fit.clipped != fit.clip_reason.empty());
  // Every rank in the window is a positive eigenvalue (its log entered the fit).
  ALPHAREQ_FUZZ_CHECK(report.eigenvalues[static_cast<std::size_t>(fit.last_rank - 1)] > 0.0);

  // The streaming API, fed the same chunks, gives the same bits (determinism).
  AlphaOptions alpha_options;
  alpha_options.accumulator = options;
  alpha_options.fit = FitOptions{FitMethod::weighted, 1, 100};
  const AlphaReport streamed = compute_alpha_npy(
      scratch_path(), alpha_options, {}, static_cast<std::uint64_t>(kChunkRows) * row_bytes);
  ALPHAREQ_FUZZ_CHECK(std::memcmp(&streamed.fit.alpha, &fit.alpha, sizeof(double)) == 0);
  ALPHAREQ_FUZZ_CHECK(streamed.eigenvalues == report.eigenvalues);
}

// The labels reader on the same bytes: labels exactly as the format stores them (int32 or
// int64, either byte order, shape (n,) or (n, 1)), each a class index, or file_error.
inline void check_labels(const unsigned char* data, std::size_t size) {
  std::vector<std::int32_t> labels;
  try {
    labels = load_npy_labels(scratch_path());
  } catch (const file_error&) {
    return;
  }
  ALPHAREQ_FUZZ_CHECK(!labels.empty());
  // Decoded independently of the reader: preamble, then the dtype from the header text (the
  // only string a valid header holds is the descr; an escaped character still matches).
  ALPHAREQ_FUZZ_CHECK(size >= 10 && data[6] >= 1 && data[6] <= 3);
  const std::size_t length_bytes = data[6] == 1 ? 2 : 4;
  std::uint64_t length = 0;
  for (std::size_t i = length_bytes; i-- > 0;) length = length << 8 | data[8 + i];
  const std::uint64_t data_offset = 8 + length_bytes + length;
  ALPHAREQ_FUZZ_CHECK(data_offset <= size);
  const std::string text(reinterpret_cast<const char*>(data) + 8 + length_bytes,
                         static_cast<std::size_t>(length));
  const bool eight = text.find("i8") != std::string::npos;
  const bool big = text.find(">i") != std::string::npos;
  const std::size_t element = eight ? 8 : 4;
  ALPHAREQ_FUZZ_CHECK((size - data_offset) / element >= labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const unsigned char* source = data + data_offset + i * element;
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < element; ++b) {
      bits |= static_cast<std::uint64_t>(source[big ? element - 1 - b : b]) << (8 * b);
    }
    const std::int64_t value = eight ? static_cast<std::int64_t>(bits)
                                     : static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    ALPHAREQ_FUZZ_CHECK(value >= 0 && value == labels[i]);
  }
}

}  // namespace npy_detail

/// Runs one input through the reader and the α pipeline. Returns 0 (libFuzzer's convention);
/// a violated property aborts.
inline int run_npy_reader_input(const unsigned char* data, std::size_t size) {
  write_scratch_file(data, size);
  npy_detail::check_labels(data, size);
  NpyHeader header;
  std::vector<unsigned char> matrix;
  try {
    NpyReader reader(scratch_path());
    header = reader.header();
    // What a successfully opened file guarantees.
    ALPHAREQ_FUZZ_CHECK(header.major_version >= 1 && header.major_version <= 3);
    ALPHAREQ_FUZZ_CHECK(header.minor_version == 0);
    ALPHAREQ_FUZZ_CHECK(header.dtype == DType::float32 || header.dtype == DType::float64);
    ALPHAREQ_FUZZ_CHECK(header.shape.size() >= 2);
    ALPHAREQ_FUZZ_CHECK(header.rows == header.shape[0] && header.rows >= 2);
    std::int64_t cols = 1;
    for (std::size_t d = 1; d < header.shape.size(); ++d) cols *= header.shape[d];
    ALPHAREQ_FUZZ_CHECK(header.cols == cols && header.cols >= 1);
    ALPHAREQ_FUZZ_CHECK(reader.data_bytes() == static_cast<std::uint64_t>(header.rows) *
                                                   static_cast<std::uint64_t>(header.cols) *
                                                   size_of(header.dtype));
    ALPHAREQ_FUZZ_CHECK(header.data_offset <= size &&
                        reader.data_bytes() <= size - header.data_offset);

    // Chunked reading returns every row once, in order, with the right shape...
    const std::size_t item = size_of(header.dtype);
    const std::size_t row_bytes = static_cast<std::size_t>(header.cols) * item;
    for (MatrixView chunk = reader.next_chunk(npy_detail::kChunkRows); chunk.rows > 0;
         chunk = reader.next_chunk(npy_detail::kChunkRows)) {
      ALPHAREQ_FUZZ_CHECK(chunk.rows <= npy_detail::kChunkRows);
      ALPHAREQ_FUZZ_CHECK(chunk.cols == header.cols && chunk.row_stride == header.cols);
      ALPHAREQ_FUZZ_CHECK(chunk.dtype == header.dtype && chunk.space == MemorySpace::host);
      const auto* bytes = static_cast<const unsigned char*>(chunk.data);
      matrix.insert(matrix.end(), bytes, bytes + static_cast<std::size_t>(chunk.rows) * row_bytes);
    }
    ALPHAREQ_FUZZ_CHECK(reader.rows_read() == header.rows);
    ALPHAREQ_FUZZ_CHECK(matrix.size() == reader.data_bytes());

    // ...with exactly the values the format puts there...
    unsigned char expected[8];
    for (std::int64_t r = 0; r < header.rows; ++r) {
      for (std::int64_t c = 0; c < header.cols; ++c) {
        npy_detail::expected_element(data, header, r, c, expected);
        ALPHAREQ_FUZZ_CHECK(std::memcmp(expected, &matrix[(r * header.cols + c) * item], item) ==
                            0);
      }
    }
    // ...and one chunk after a rewind reads the same bytes.
    reader.rewind();
    const MatrixView all = reader.next_chunk(header.rows);
    ALPHAREQ_FUZZ_CHECK(all.rows == header.rows);
    ALPHAREQ_FUZZ_CHECK(std::memcmp(all.data, matrix.data(), matrix.size()) == 0);
    ALPHAREQ_FUZZ_CHECK(reader.next_chunk(1).rows == 0);
  } catch (const file_error&) {
    return 0;  // the expected answer to a broken file
  }
  if (header.cols <= npy_detail::kMaxNumericCols) npy_detail::check_numerics(matrix, header);
  return 0;
}

}  // namespace alphareq::fuzz
