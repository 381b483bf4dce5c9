#pragma once
// Bootstrap replicates of an accumulation: every sample enters replicate b with a Poisson(1)
// multiplicity drawn from (seed, b, sample), so chunks can arrive in any split.

#include <alphareq/alpha.hpp>

#include <vector>

namespace alphareq::detail {

class BootstrapReplicates {
 public:
  BootstrapReplicates(std::int64_t dim, const AlphaOptions& options);
  /// Adds rows of a host chunk whose first row is sample `first_sample` of the data.
  void add_chunk(const MatrixView& chunk, std::int64_t first_sample);
  /// Fills the bootstrap fields of report.diagnostics from the replicates' α.
  void summarise(AlphaReport& report) const;

 private:
  AlphaOptions options_;
  std::vector<CovarianceAccumulator> replicates_;
  std::vector<double> scratch_;
};

}  // namespace alphareq::detail
