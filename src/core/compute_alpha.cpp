#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include <algorithm>
#include <string>

namespace alphareq {

AlphaReport compute_alpha(const MatrixView& features, const AlphaOptions& options) {
  check_view_shape(features, "features");
  if (features.rows < 2) {
    throw invalid_input("features: needs at least 2 samples (rows) for a covariance, got " +
                        std::to_string(features.rows));
  }
  CovarianceAccumulator accumulator(features.cols, options.accumulator);
  accumulator.add_batch(features);
  return accumulator.report(options.fit, options.normalization);
}

AlphaReport compute_alpha_npy(const std::string& path, const AlphaOptions& options,
                              const ProgressCallback& progress, std::uint64_t chunk_bytes) {
  NpyReader reader(path);
  const std::uint64_t row_bytes = static_cast<std::uint64_t>(reader.cols()) * size_of(reader.dtype());
  const std::int64_t chunk_rows =
      static_cast<std::int64_t>(std::max<std::uint64_t>(1, chunk_bytes / row_bytes));
  CovarianceAccumulator accumulator(reader.cols(), options.accumulator);
  if (progress) progress(0, reader.data_bytes());
  try {
    for (MatrixView chunk = reader.next_chunk(chunk_rows); chunk.rows > 0;
         chunk = reader.next_chunk(chunk_rows)) {
      accumulator.add_batch(chunk);
      if (progress) progress(static_cast<std::uint64_t>(reader.rows_read()) * row_bytes,
                             reader.data_bytes());
    }
    return accumulator.report(options.fit, options.normalization);
  } catch (const file_error&) {
    throw;  // names the file already
  } catch (const invalid_input& e) {
    // Rows in a NaN/Inf message count from the start of the file: the accumulator numbers
    // them over everything added, which here is exactly the rows read before. (The CUDA
    // backend reports them from report(), hence the try around both.)
    throw invalid_input(path + ": " + e.what());
  }
}

}  // namespace alphareq
