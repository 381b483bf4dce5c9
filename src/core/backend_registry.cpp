#include "core/accumulator_backend.hpp"
#include "cpu/cpu_accumulator.hpp"

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

Backend resolve_backend(Backend requested, std::string* notice) {
#ifdef ALPHAREQ_HAS_CUDA
#error "CUDA backend selection is added together with the CUDA backend"
#else
  constexpr const char* kWhyNoCuda =
      "alphareq was built without the CUDA backend (configure with -DALPHAREQ_WITH_CUDA=ON "
      "on a machine with the CUDA toolkit)";
  if (requested == Backend::cuda) throw backend_unavailable(std::string("backend cuda: ") + kWhyNoCuda);
  if (requested == Backend::automatic && notice != nullptr) {
    *notice = std::string(kWhyNoCuda) + "; using the CPU backend";
  }
  return Backend::cpu;
#endif
}

namespace detail {

std::unique_ptr<AccumulatorBackend> make_accumulator_backend(std::int64_t dim,
                                                              const AccumulatorOptions& options) {
  switch (resolve_backend(options.backend)) {
    case Backend::cpu: return std::make_unique<cpu::CpuAccumulator>(dim, options.precision);
    default: break;
  }
  throw backend_unavailable("backend " + to_string(options.backend) + " is not available");
}

}  // namespace detail
}  // namespace alphareq
