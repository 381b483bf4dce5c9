#pragma once
/// @file alpha.hpp
/// One call from features to the α report.

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace alphareq {

/// Options of the whole pipeline: accumulator, normalisation and fit.
struct AlphaOptions {
  AccumulatorOptions accumulator;
  Normalization normalization = Normalization::by_n;
  FitOptions fit;
};

/// Covariance, eigenvalues and power-law fit of a whole matrix of features (rows = n
/// samples, columns = D features) in one call. Throws what CovarianceAccumulator::add_batch
/// and report() throw.
AlphaReport compute_alpha(const MatrixView& features, const AlphaOptions& options = {});

/// Called while a file is streamed: bytes of array data read so far, and in all.
using ProgressCallback = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

/// Streams a .npy file (see NpyReader) through the accumulator in chunks of about
/// `chunk_bytes` and returns the report; memory use is one chunk plus the D×D state, so
/// files larger than memory work. A NaN/Inf is reported with its row and column in the
/// file. Throws file_error for a bad file and what compute_alpha throws.
AlphaReport compute_alpha_npy(const std::string& path, const AlphaOptions& options = {},
                              const ProgressCallback& progress = {},
                              std::uint64_t chunk_bytes = std::uint64_t{64} << 20);

}  // namespace alphareq
