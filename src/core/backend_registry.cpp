#include "core/accumulator_backend.hpp"
#include "core/enum_check.hpp"
#include "cpu/cpu_accumulator.hpp"
#ifdef ALPHAREQ_HAS_CUDA
#include "cuda/cuda_accumulator.hpp"
#endif

#include <alphareq/accumulator.hpp>
#include <alphareq/error.hpp>

namespace alphareq {

std::string to_string(Backend backend) {
  switch (backend) {
    case Backend::automatic: return "auto";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
  }
  return "unknown backend";
}

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::automatic;
  if (name == "cpu") return Backend::cpu;
  if (name == "cuda") return Backend::cuda;
  throw invalid_input("unknown backend '" + name + "' (expected auto, cpu or cuda)");
}

#ifndef ALPHAREQ_HAS_CUDA
bool cuda_available(std::string* why) {
  if (why != nullptr) {
    *why = "alphareq was built without the CUDA backend (configure with "
           "-DALPHAREQ_WITH_CUDA=ON, or pip install with -C cmake.define.ALPHAREQ_WITH_CUDA=ON, "
           "on a machine with the CUDA toolkit)";
  }
  return false;
}
#endif

Backend resolve_backend(Backend requested, std::string* notice) {
  detail::require_known_value(requested, Backend::cuda, "backend");
  if (requested == Backend::cpu) return Backend::cpu;
  std::string why;
  if (cuda_available(&why)) return Backend::cuda;
  if (requested == Backend::cuda) throw backend_unavailable("backend cuda: " + why);
#ifdef ALPHAREQ_HAS_CUDA
  // Only a build that could have used a GPU says why it did not; a CPU-only build has no
  // other choice to report.
  if (notice != nullptr) *notice = why + "; using the CPU backend";
#else
  (void)notice;
#endif
  return Backend::cpu;
}

namespace detail {

std::unique_ptr<AccumulatorBackend> make_accumulator_backend(std::int64_t dim,
                                                              const AccumulatorOptions& options) {
  require_known_value(options.precision, AccumulationPrecision::tf32, "accumulation precision");
  require_known_value(options.solver, SolverPrecision::float32, "solver precision");
  switch (resolve_backend(options.backend)) {
    // The CPU backend is bit-reproducible always for a fixed OpenBLAS thread count (the
    // blocking of its products follows the threads), so options.deterministic asks nothing
    // more of it; device and stream do not apply.
    case Backend::cpu: return std::make_unique<cpu::CpuAccumulator>(dim, options.precision);
#ifdef ALPHAREQ_HAS_CUDA
    case Backend::cuda: return std::make_unique<cuda::CudaAccumulator>(dim, options);
#endif
    default: break;
  }
  throw backend_unavailable("backend " + to_string(options.backend) + " is not available");
}

}  // namespace detail
}  // namespace alphareq
