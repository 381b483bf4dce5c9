#pragma once
// Numbers in error messages: "NaN", "Inf", or the shortest "%g" form ("-1", where
// std::to_string writes "-1.000000" and prints every value below 5e-7 as 0).

#include <cmath>
#include <cstdio>
#include <string>

namespace alphareq::detail {

inline std::string number_text(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Inf" : "-Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}

}  // namespace alphareq::detail
