#include "cli/report_printer.hpp"

#include "cli/json_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace alphareq::cli {
namespace {

// Text and JSON alike print a value that cannot be computed as null.
std::string number(double value, const char* format = "%.17g") { return json_number(value, format); }


// Time the stages do not account for: reading the file, generating the demo data (not
// writing the picture or the eigenvalues, which wall includes).
double other_ms(const AlphaReport& report, const ReportContext& context) {
  return std::max(0.0, context.computed_ms - report.timings.total_ms);
}

}  // namespace

std::string format_text(const AlphaReport& report, const ReportContext& context) {
  const PowerLawFit& fit = report.fit;
  std::ostringstream out;
  out << "alphareq: " << context.source << "\n";
  out << "  samples n         " << report.n << "\n";
  out << "  features D        " << report.d << "\n";
  out << "  backend           " << report.backend << "\n";
  if (context.true_alpha) out << "  true alpha        " << number(*context.true_alpha, "%.4f") << "\n";
  out << "  alpha             " << number(fit.alpha, "%.4f") << "   ("
      << (fit.method == FitMethod::weighted ? "least squares weighted 1/rank" : "ordinary least squares")
      << ")\n";
  out << "  R^2               " << number(fit.r2, "%.4f") << "\n";
  out << "  intercept         " << number(fit.intercept, "%.4f") << "   (log lambda at rank 1)\n";
  out << "  window            ranks " << fit.first_rank << ".." << fit.last_rank;
  if (fit.clipped) {
    out << "   (asked " << fit.requested_first_rank << ".." << fit.requested_last_rank
        << "; " << fit.clip_reason << ")";
  }
  out << "\n";
  const FitDiagnostics& diagnostics = report.diagnostics;
  out << "  robust alpha      " << number(diagnostics.robust_alpha, "%.4f");
  if (diagnostics.robust_subwindow > 0) {
    out << "   (median over " << diagnostics.robust_subwindow << "-rank sub-windows, as the authors' code)\n";
  } else {
    out << "   (the fit's: the window is too short for sub-windows)\n";
  }
  out << "  suggested window  ranks " << diagnostics.suggested_first_rank << ".."
      << diagnostics.suggested_last_rank << ", alpha " << number(diagnostics.suggested_alpha, "%.4f")
      << "   (longest run with local alpha within " << number(diagnostics.stability, "%.2g")
      << "; not used for the fit)\n";
  if (diagnostics.bootstrap_resamples > 0) {
    out << "  alpha interval    [" << number(diagnostics.alpha_interval_low, "%.4f") << ", "
        << number(diagnostics.alpha_interval_high, "%.4f") << "]   ("
        << number(100.0 * diagnostics.bootstrap_confidence, "%.4g") << "% basic bootstrap, "
        << diagnostics.bootstrap_resamples << " resamples; standard error "
        << number(diagnostics.alpha_standard_error, "%.4f") << ", bias "
        << number(diagnostics.bootstrap_bias, "%.4f") << ")\n";
  }
  const SpectrumMetrics& metrics = report.metrics;
  out << "  effective rank    " << number(metrics.effective_rank, "%.2f") << "   (RankMe)\n";
  out << "  participation     " << number(metrics.participation_ratio, "%.2f") << "   (sum^2 / sum of squares)\n";
  out << "  stable rank       " << number(metrics.stable_rank, "%.2f") << "\n";
  out << "  numerical rank    " << metrics.numerical_rank << "\n";
  out << "  tail ratio r_" << metrics.tail_rank << "     " << number(metrics.tail_ratio, "%.4f") << "\n";
  out << "  covariance        divided by " << context.normalization << "\n";
  out << "  timings (ms)      accumulate " << number(report.timings.accumulate_ms, "%.2f")
      << " | eigenvalues " << number(report.timings.eigenvalues_ms, "%.2f") << " | fit "
      << number(report.timings.fit_ms, "%.3f") << " | other " << number(other_ms(report, context), "%.2f")
      << " | wall " << number(context.wall_ms, "%.2f") << "\n";
  return out.str();
}

std::string format_json(const AlphaReport& report, const ReportContext& context) {
  const PowerLawFit& fit = report.fit;
  std::ostringstream out;
  out << "{\"source\": " << json_string(context.source)
      << ", \"alpha\": " << number(fit.alpha)
      << ", \"intercept\": " << number(fit.intercept)
      << ", \"r2\": " << number(fit.r2)
      << ", \"method\": " << json_string(to_string(fit.method))
      << ", \"first_rank\": " << fit.first_rank
      << ", \"last_rank\": " << fit.last_rank
      << ", \"requested_first_rank\": " << fit.requested_first_rank
      << ", \"requested_last_rank\": " << fit.requested_last_rank
      << ", \"rank_limit\": " << fit.rank_limit
      << ", \"window_clipped\": " << (fit.clipped ? "true" : "false")
      << ", \"clip_reason\": " << (fit.clipped ? json_string(fit.clip_reason) : "null")
      << ", \"n\": " << report.n
      << ", \"d\": " << report.d
      << ", \"backend\": " << json_string(report.backend)
      << ", \"normalization\": " << json_string(context.normalization);
  if (context.true_alpha) out << ", \"true_alpha\": " << number(*context.true_alpha);
  const SpectrumMetrics& metrics = report.metrics;
  out << ", \"effective_rank\": " << number(metrics.effective_rank)
      << ", \"participation_ratio\": " << number(metrics.participation_ratio)
      << ", \"stable_rank\": " << number(metrics.stable_rank)
      << ", \"numerical_rank\": " << metrics.numerical_rank
      << ", \"tail_rank\": " << metrics.tail_rank
      << ", \"tail_ratio\": " << number(metrics.tail_ratio);
  const FitDiagnostics& diagnostics = report.diagnostics;
  out << ", \"robust_alpha\": " << number(diagnostics.robust_alpha)
      << ", \"robust_subwindow\": " << diagnostics.robust_subwindow
      << ", \"suggested_first_rank\": " << diagnostics.suggested_first_rank
      << ", \"suggested_last_rank\": " << diagnostics.suggested_last_rank
      << ", \"suggested_alpha\": " << number(diagnostics.suggested_alpha)
      << ", \"bootstrap_resamples\": " << diagnostics.bootstrap_resamples;
  if (diagnostics.bootstrap_resamples > 0) {
    out << ", \"alpha_interval\": [" << number(diagnostics.alpha_interval_low) << ", "
        << number(diagnostics.alpha_interval_high) << "], \"bootstrap_confidence\": "
        << number(diagnostics.bootstrap_confidence) << ", \"alpha_standard_error\": "
        << number(diagnostics.alpha_standard_error) << ", \"bootstrap_bias\": "
        << number(diagnostics.bootstrap_bias);
  }
  out << ", \"residuals\": [";
  for (std::size_t i = 0; i < fit.residuals.size(); ++i) {
    out << (i ? ", " : "") << number(fit.residuals[i], "%.6g");
  }
  out << "]";
  out << ", \"timings_ms\": {\"accumulate\": " << number(report.timings.accumulate_ms)
      << ", \"eigenvalues\": " << number(report.timings.eigenvalues_ms)
      << ", \"fit\": " << number(report.timings.fit_ms)
      << ", \"stages_total\": " << number(report.timings.total_ms)
      << ", \"other\": " << number(other_ms(report, context))
      << ", \"wall\": " << number(context.wall_ms) << "}}\n";
  return out.str();
}

}  // namespace alphareq::cli
