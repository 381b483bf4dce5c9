#include "core/bootstrap.hpp"
#include "core/enum_check.hpp"
#include "core/fit_window.hpp"
#include "core/layer_stream.hpp"
#include "cpu/cpu_accumulator.hpp"
#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_accumulator.hpp"
#endif

#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/npy.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace alphareq {

namespace {

// Runs `work` and prefixes the file's path (or the layer's name) to its input and memory
// errors (a D in the header too wide for memory is the file's). A file_error names the
// file already; NaN/Inf rows count from the start of the file, since the accumulator
// numbers them over everything added, which is exactly the rows read before.
template <typename Work>
auto naming_file(const std::string& path, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const file_error&) {
    throw;
  } catch (const invalid_input& e) {
    throw invalid_input(path + ": " + e.what());
  } catch (const out_of_memory& e) {
    throw out_of_memory(path + ": " + e.what());
  }
}

// What the options alone decide, checked before a file is opened or a byte of data read:
// a typo in the window should not cost a pass over a file larger than memory.
void check_options(const AlphaOptions& options) {
  detail::check_bootstrap_options(options.bootstrap);
  detail::require_known_value(options.normalization, Normalization::by_n_minus_one, "normalization");
  detail::check_fit_options(options.fit);
}

// What the options and the shape decide (a window wider than min(n - 1, D) allows), once
// a header or a view has given the shape; fewer than 2 rows is refused later in its own
// words.
void check_options_for_shape(const AlphaOptions& options, std::int64_t dim, std::int64_t rows) {
  if (rows >= 2) detail::check_fit_options_for_shape(options.fit, dim, rows);
}

// The layers functions run no bootstrap: asking for one is refused, not ignored.
void check_layer_options(const AlphaOptions& options) {
  if (options.bootstrap.resamples != 0) {
    throw invalid_input("layers: no bootstrap interval is computed for several layers at once "
                        "(resamples must be 0; run one layer at a time for an interval)");
  }
  check_options(options);
}

// Each layer's accumulator checks that its own buffers fit; all of them must fit together,
// which is checked before the first is made: on a GPU its buffers, on the CPU every
// layer's D x D state plus one eigensolver copy (the reports run one after another). N
// layers could each pass alone and need N times the memory together, found only after a
// pass over the data (by the OOM killer, on the CPU).
// `names`: each layer's file or "layer i", which a layer too wide on its own is refused by.
void require_memory_for_layers(const std::vector<std::int64_t>& widths,
                               const std::vector<std::string>& names,
                               const AccumulatorOptions& options, bool host_batches) {
#ifdef ALPHAREQ_HAS_CUDA
  if (resolve_backend(options.backend) == Backend::cuda) {
    cuda::require_device_memory_for_layers(widths, options, host_batches);
    return;
  }
#else
  (void)host_batches;
  (void)options;
#endif
  for (std::size_t i = 0; i < widths.size(); ++i) {  // as its own accumulator would say it
    naming_file(names[i], [&] { cpu::require_host_memory_for_accumulator(widths[i]); });
  }
  cpu::require_host_memory_for_layers(widths);
}

}  // namespace

AlphaReport compute_alpha(const MatrixView& features, const AlphaOptions& options) {
  check_view_shape(features, "features");
  check_options(options);
  if (features.rows < 2) {
    throw invalid_input("features: needs at least 2 samples (rows) for a covariance, got " +
                        std::to_string(features.rows));
  }
  check_options_for_shape(options, features.cols, features.rows);
  CovarianceAccumulator accumulator(features.cols, options.accumulator);
  accumulator.add_batch(features);
  AlphaReport report = accumulator.report(options.fit, options.normalization);
  // Resampling runs where the accumulation ran: on the GPU for a CUDA accumulator (device
  // views included), else on the CPU.
  if (options.bootstrap.resamples > 0) {
    detail::check_bootstrap_reach(options.bootstrap, features.rows, report.fit.last_rank);
    detail::bootstrap_in_memory(features, options, accumulator.backend(), report);
  }
  return report;
}

AlphaReport compute_alpha_npy(const std::string& path, const AlphaOptions& options,
                              const ProgressCallback& progress, std::uint64_t chunk_bytes) {
  check_options(options);
  NpyReader reader(path);
  naming_file(path, [&] { check_options_for_shape(options, reader.cols(), reader.rows()); });
  const std::uint64_t row_bytes = static_cast<std::uint64_t>(reader.cols()) * size_of(reader.dtype());
  const std::int64_t chunk_rows =
      static_cast<std::int64_t>(std::max<std::uint64_t>(1, chunk_bytes / row_bytes));
  // The try spans report() too: the CUDA backend reports NaN/Inf from there.
  return naming_file(path, [&] {
    CovarianceAccumulator accumulator(reader.cols(), options.accumulator);
    std::unique_ptr<detail::BootstrapReplicates> replicates;
    if (options.bootstrap.resamples > 0) {
      // Built before any data is read, so a bootstrap that cannot fit fails at once.
      replicates = std::make_unique<detail::BootstrapReplicates>(reader.cols(), options,
                                                                 accumulator.backend());
    }
    if (progress) progress(0, reader.data_bytes());
    for (MatrixView chunk = reader.next_chunk(chunk_rows); chunk.rows > 0;
         chunk = reader.next_chunk(chunk_rows)) {
      accumulator.add_batch(chunk);
      if (replicates) replicates->add_chunk(chunk, reader.rows_read() - chunk.rows);
      if (progress) progress(static_cast<std::uint64_t>(reader.rows_read()) * row_bytes,
                             reader.data_bytes());
    }
    AlphaReport report = accumulator.report(options.fit, options.normalization);
    if (replicates) {
      detail::check_bootstrap_reach(options.bootstrap, reader.rows(), report.fit.last_rank);
      replicates->summarise(report);
    }
    return report;
  });
}

std::vector<AlphaReport> compute_alpha_layers(const std::vector<MatrixView>& layers,
                                              const AlphaOptions& options) {
  if (layers.empty()) throw invalid_input("layers: no layer given");
  check_layer_options(options);
  std::vector<std::int64_t> widths;
  std::vector<std::string> names;
  bool host_batches = false;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string& name = names.emplace_back("layer " + std::to_string(i));
    check_view_shape(layers[i], name.c_str());
    if (layers[i].rows != layers[0].rows) {
      throw invalid_input("layers: layer " + std::to_string(i) + " has " + std::to_string(layers[i].rows) +
                          " samples, layer 0 has " + std::to_string(layers[0].rows));
    }
    if (layers[i].rows < 2) {
      throw invalid_input("layers: needs at least 2 samples (rows) for a covariance, got " +
                          std::to_string(layers[i].rows));
    }
    naming_file(name, [&] { check_options_for_shape(options, layers[i].cols, layers[i].rows); });
    widths.push_back(layers[i].cols);
    host_batches = host_batches || layers[i].space == MemorySpace::host;
  }
  require_memory_for_layers(widths, names, options.accumulator, host_batches);
  const detail::LayerStream stream(options.accumulator);  // outlives the accumulators
  std::vector<CovarianceAccumulator> accumulators;
  for (const MatrixView& layer : layers) accumulators.emplace_back(layer.cols, stream.options());
  // Errors name the layer, as the files' functions name the file (naming_file's prefix).
  for (std::size_t i = 0; i < layers.size(); ++i) {
    naming_file("layer " + std::to_string(i), [&] { accumulators[i].add_batch(layers[i]); });
  }
  std::vector<AlphaReport> reports;
  for (std::size_t i = 0; i < accumulators.size(); ++i) {
    reports.push_back(naming_file("layer " + std::to_string(i), [&] {
      return accumulators[i].report(options.fit, options.normalization);
    }));
  }
  return reports;
}

std::vector<AlphaReport> compute_alpha_layers_npy(const std::vector<std::string>& paths,
                                                  const AlphaOptions& options,
                                                  const ProgressCallback& progress,
                                                  std::uint64_t chunk_bytes) {
  if (paths.empty()) throw invalid_input("layers: no file given");
  check_layer_options(options);
  std::vector<std::unique_ptr<NpyReader>> readers;
  std::vector<std::int64_t> widths;
  std::uint64_t total_bytes = 0, widest_row = 0;
  for (const std::string& path : paths) {
    readers.push_back(std::make_unique<NpyReader>(path));
    const NpyReader& reader = *readers.back();
    if (reader.rows() != readers.front()->rows()) {
      throw invalid_input(path + ": has " + std::to_string(reader.rows()) + " samples but " +
                          paths.front() + " has " + std::to_string(readers.front()->rows()) +
                          " (layers must describe the same samples)");
    }
    naming_file(path, [&] { check_options_for_shape(options, reader.cols(), reader.rows()); });
    widths.push_back(reader.cols());
    total_bytes += reader.data_bytes();
    widest_row = std::max<std::uint64_t>(widest_row, static_cast<std::uint64_t>(reader.cols()) * size_of(reader.dtype()));
  }
  require_memory_for_layers(widths, paths, options.accumulator, true);
  const detail::LayerStream stream(options.accumulator);  // outlives the accumulators
  std::vector<CovarianceAccumulator> accumulators;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    naming_file(paths[i], [&] { accumulators.emplace_back(widths[i], stream.options()); });
  }
  const std::int64_t chunk_rows =
      static_cast<std::int64_t>(std::max<std::uint64_t>(1, chunk_bytes / widest_row));
  std::uint64_t done = 0;
  if (progress) progress(0, total_bytes);
  for (std::int64_t first = 0; first < readers.front()->rows(); first += chunk_rows) {
    for (std::size_t i = 0; i < readers.size(); ++i) {
      const MatrixView chunk = readers[i]->next_chunk(chunk_rows);
      naming_file(paths[i], [&] { accumulators[i].add_batch(chunk); });
      done += static_cast<std::uint64_t>(chunk.rows * chunk.cols) * size_of(chunk.dtype);
    }
    if (progress) progress(done, total_bytes);
  }
  std::vector<AlphaReport> reports;
  for (std::size_t i = 0; i < accumulators.size(); ++i) {
    reports.push_back(naming_file(paths[i], [&] {
      return accumulators[i].report(options.fit, options.normalization);
    }));
  }
  return reports;
}

}  // namespace alphareq
