#include <alphareq/error.hpp>
#include <alphareq/version.hpp>

namespace alphareq {

const char* version() { return "0.2.0"; }

}  // namespace alphareq
