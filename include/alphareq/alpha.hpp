#pragma once
/// @file alpha.hpp
/// One call from features to the α report.

#include <alphareq/accumulator.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/spectrum.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace alphareq {

/// A bootstrap confidence interval for α, resampling samples (not eigenvalues).
struct BootstrapOptions {
  /// Number of resamples B; 0 turns the bootstrap off. Each costs one more accumulation.
  std::int64_t resamples = 0;
  std::uint64_t seed = 0;
  double confidence = 0.95;
};

/// Options of the whole pipeline: accumulator, normalisation and fit.
struct AlphaOptions {
  AccumulatorOptions accumulator;
  Normalization normalization = Normalization::by_n;
  FitOptions fit;
  /// Resampling is the Poisson bootstrap (each sample enters each resample k ~ Poisson(1)
  /// times), the streaming form of drawing n with replacement. On the CUDA backend the
  /// replicates accumulate on the GPU as a batch (device views included); on the CPU,
  /// host float32/float64 features.
  BootstrapOptions bootstrap;
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

/// Several layers' activations of the same samples (one view per layer, equal rows, any
/// widths) accumulated in one pass, one accumulator per layer with the same options. On the
/// CUDA backend every layer runs on one stream: options.accumulator.stream if given, else
/// one the call creates. One report a layer.
std::vector<AlphaReport> compute_alpha_layers(const std::vector<MatrixView>& layers,
                                              const AlphaOptions& options = {});

/// The same from .npy files, one per layer, read in lockstep chunks (one pass over the
/// data; memory is one chunk per file plus each layer's D × D state and, on CUDA, each
/// layer's staging for host chunks: two device and two pinned buffers of 32 MiB, 64 MiB with
/// float32/TF32 products). On CUDA all layers' buffers are checked against the free device
/// memory together before the first accumulator is made (out_of_memory with the bytes; the
/// libraries' own workspaces, tens of MiB a layer, are not counted); on the CPU all layers'
/// states and one eigensolver copy against the machine's memory. All files must hold the
/// same number of samples. Progress counts bytes over all files.
std::vector<AlphaReport> compute_alpha_layers_npy(const std::vector<std::string>& paths,
                                                  const AlphaOptions& options = {},
                                                  const ProgressCallback& progress = {},
                                                  std::uint64_t chunk_bytes = std::uint64_t{64} << 20);

}  // namespace alphareq
