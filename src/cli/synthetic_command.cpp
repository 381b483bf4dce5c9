// `alphareq synthetic`: the paper's Figure 2 — gradient descent on overparameterised linear
// regression with power-law covariates, train and test MSE per α — as a table, JSON, and
// a self-contained SVG (or PNG) plot.

#include "cli/arguments.hpp"
#include "cli/json_text.hpp"
#include "cli/commands.hpp"
#include "cli/probe_command.hpp"

#include <alphareq/alphareq.hpp>
#include <alphareq/regression_experiment.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <type_traits>

namespace alphareq::cli {
namespace {

template <typename T>
std::vector<T> parse_list(const std::string& option, const std::string& text) {
  std::vector<T> values;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    errno = 0;
    char* end = nullptr;
    T value{};
    if constexpr (std::is_floating_point_v<T>) value = std::strtod(part.c_str(), &end);
    else value = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || errno == ERANGE) {
      throw UsageError(option + " expects a comma-separated list of numbers, got '" + text + "'");
    }
    values.push_back(value);
    if (comma == std::string::npos) return values;
    start = comma + 1;
  }
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string json_number(double value) { return cli::json_number(value, "%.10g"); }

std::size_t best_row(const RegressionExperiment& experiment) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < experiment.rows.size(); ++i) {
    if (experiment.rows[i].final_test_mse() < experiment.rows[best].final_test_mse()) best = i;
  }
  return best;
}

std::string describe(const RegressionExperimentOptions& o) {
  std::ostringstream out;
  out << "D = " << o.features << ", n = " << o.train_samples
      << (o.train_samples < o.features ? " (overparameterised)" : " (NOT overparameterised: n >= D)")
      << ", " << o.test_samples << " test samples, sigma = " << o.noise << ", teacher "
      << to_string(o.teacher);
  if (o.teacher == TeacherModel::fixed_task) out << " (beta = " << o.task_decay << ")";
  out << ", " << o.steps << " steps of eta = " << o.learning_rate_scale << "/lambda_max, seed " << o.seed;
  return out.str();
}

void print_text(const RegressionExperimentOptions& o, const RegressionExperiment& e, bool curves) {
  std::ostringstream out;
  out << "alphareq synthetic: the paper's Figure 2 on " << e.backend << "\n  " << describe(o) << "\n\n";
  const std::string threshold = format("%g", 100.0 * o.loss_threshold);
  out << "   alpha   lambda_max     train MSE      test MSE   steps to " << threshold << "% of the initial train MSE\n";
  for (const GradientDescentFit& row : e.rows) {
    char line[160];
    std::snprintf(line, sizeof line, "  %6.2f  %11.4g  %12.4g  %12.4g   %s\n", row.alpha, row.lambda_max,
                  row.final_train_mse(), row.final_test_mse(),
                  row.steps_to_threshold < 0 ? ("> " + std::to_string(o.steps)).c_str()
                                             : std::to_string(row.steps_to_threshold).c_str());
    out << line;
  }
  if (!e.rows.empty()) {
    const GradientDescentFit& best = e.rows[best_row(e)];
    out << "\n  lowest test MSE: alpha = " << format("%.2f", best.alpha) << " (" << format("%.4g", best.final_test_mse())
        << "; noise floor sigma^2 = " << format("%.4g", o.noise * o.noise) << ")\n";
  }
  if (curves) {
    out << "\n  curves (train MSE / test MSE after each number of steps):\n";
    for (const GradientDescentFit& row : e.rows) {
      out << "  alpha " << format("%.2f", row.alpha) << ":";
      for (const CurvePoint& p : row.curve) {
        out << "  " << p.step << ": " << format("%.3g", p.train_mse) << "/" << format("%.3g", p.test_mse);
      }
      out << "\n";
    }
  }
  out << "  time: " << format("%.2f", e.elapsed_ms / 1000.0) << " s\n";
  std::cout << out.str();
}

void print_json(const RegressionExperimentOptions& o, const RegressionExperiment& e) {
  std::ostringstream out;
  out << "{\"backend\": \"" << e.backend << "\", \"features\": " << o.features << ", \"train_samples\": "
      << o.train_samples << ", \"test_samples\": " << o.test_samples << ", \"noise\": " << json_number(o.noise)
      << ", \"teacher\": \"" << to_string(o.teacher) << "\", \"task_decay\": " << json_number(o.task_decay)
      << ", \"steps\": " << o.steps << ", \"learning_rate_scale\": " << json_number(o.learning_rate_scale)
      << ", \"loss_threshold\": " << json_number(o.loss_threshold) << ", \"seed\": " << o.seed
      << ", \"best_alpha\": " << (e.rows.empty() ? "null" : json_number(e.rows[best_row(e)].alpha))
      << ", \"elapsed_ms\": " << json_number(e.elapsed_ms) << ", \"rows\": [";
  for (std::size_t i = 0; i < e.rows.size(); ++i) {
    const GradientDescentFit& row = e.rows[i];
    out << (i ? ", " : "") << "{\"alpha\": " << json_number(row.alpha) << ", \"lambda_max\": "
        << json_number(row.lambda_max) << ", \"learning_rate\": " << json_number(row.learning_rate)
        << ", \"train_mse\": " << json_number(row.final_train_mse()) << ", \"test_mse\": "
        << json_number(row.final_test_mse()) << ", \"population_test_mse\": "
        << json_number(row.population_test_mse) << ", \"steps_to_threshold\": "
        << (row.steps_to_threshold < 0 ? "null" : std::to_string(row.steps_to_threshold)) << ", \"curve\": [";
    for (std::size_t c = 0; c < row.curve.size(); ++c) {
      out << (c ? ", " : "") << "{\"step\": " << row.curve[c].step << ", \"train_mse\": "
          << json_number(row.curve[c].train_mse) << ", \"test_mse\": " << json_number(row.curve[c].test_mse) << "}";
    }
    out << "]}";
  }
  out << "]}\n";
  std::cout << out.str();
}

// A plain SVG line plot of the final train and test MSE against α, linear axes.
std::string svg_plot(const RegressionExperimentOptions& o, const RegressionExperiment& e) {
  const double width = 720, height = 460, left = 80, right = 30, top = 60, bottom = 70;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x_min = e.rows.front().alpha, x_max = x_min, y_max = 0.0;
  for (const GradientDescentFit& row : e.rows) {
    x_min = std::min(x_min, row.alpha);
    x_max = std::max(x_max, row.alpha);
    y_max = std::max({y_max, row.final_train_mse(), row.final_test_mse()});
  }
  if (x_max == x_min) x_max = x_min + 1.0;
  // A round upper end for the y axis: 1, 2 or 5 times a power of ten, with 5 to 10 ticks.
  const double magnitude = std::pow(10.0, std::floor(std::log10(y_max > 0 ? y_max : 1.0)));
  double y_step = magnitude / 10;
  for (double factor : {0.2, 0.5, 1.0, 2.0}) {
    if (y_max / (magnitude * factor) <= 8) {
      y_step = magnitude * factor;
      break;
    }
  }
  const double y_top = y_step * std::ceil(y_max / y_step + 1e-9);
  auto px = [&](double a) { return left + (a - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double v) { return top + plot_h - v / y_top * plot_h; };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
      << "Overparameterised linear regression, gradient descent from 0 (paper's Fig. 2)</text>\n"
      << "<text x=\"" << width / 2 << "\" y=\"44\" text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">D = "
      << o.features << ", n = " << o.train_samples << ", sigma = " << o.noise << ", teacher " << to_string(o.teacher);
  if (o.teacher == TeacherModel::fixed_task) svg << " (beta = " << o.task_decay << ")";
  svg << ", " << o.steps << " steps, eta = " << o.learning_rate_scale << "/lambda_max</text>\n";
  // Grid and ticks.
  for (double v = 0.0; v <= y_top + 1e-12; v += y_step) {
    svg << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << py(v) << "\" y2=\"" << py(v)
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 8 << "\" y=\"" << py(v) + 4
        << "\" text-anchor=\"end\">" << format("%g", v) << "</text>\n";
  }
  const double x_step = (x_max - x_min) > 2.0 ? 0.5 : 0.25;
  for (double a = std::ceil(x_min / x_step) * x_step; a <= x_max + 1e-9; a += x_step) {
    svg << "<line x1=\"" << px(a) << "\" x2=\"" << px(a) << "\" y1=\"" << top << "\" y2=\"" << top + plot_h
        << "\" stroke=\"#eee\"/>\n<text x=\"" << px(a) << "\" y=\"" << top + plot_h + 20
        << "\" text-anchor=\"middle\">" << format("%g", a) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 22
      << "\" text-anchor=\"middle\">alpha (covariance spectrum i^-alpha)</text>\n"
      << "<text transform=\"translate(22," << top + plot_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">MSE after " << o.steps << " steps</text>\n";
  // The two series.
  const struct {
    const char* name;
    const char* colour;
    bool test;
  } series[] = {{"train MSE", "#1f77b4", false}, {"test MSE", "#d62728", true}};
  for (const auto& s : series) {
    svg << "<polyline fill=\"none\" stroke=\"" << s.colour << "\" stroke-width=\"2\" points=\"";
    for (const GradientDescentFit& row : e.rows) {
      svg << px(row.alpha) << "," << py(s.test ? row.final_test_mse() : row.final_train_mse()) << " ";
    }
    svg << "\"/>\n";
    for (const GradientDescentFit& row : e.rows) {
      svg << "<circle cx=\"" << px(row.alpha) << "\" cy=\"" << py(s.test ? row.final_test_mse() : row.final_train_mse())
          << "\" r=\"3.5\" fill=\"" << s.colour << "\"/>\n";
    }
  }
  // Legend, and the noise floor σ² that no predictor can beat on the test set.
  const double noise_floor = o.noise * o.noise;
  if (noise_floor <= y_top) {
    svg << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << py(noise_floor) << "\" y2=\""
        << py(noise_floor) << "\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n";
  }
  // The legend goes in the corner of the plot that covers the fewest points of the curves
  // (and of the midpoints between them).
  const double legend_w = 180, legend_h = 64;
  double lx = left + 16, ly = top + 14;
  std::size_t least = static_cast<std::size_t>(-1);
  for (const auto& [cx, cy] : {std::pair{left + 16, top + 14}, std::pair{left + plot_w - legend_w - 2, top + 14},
                                std::pair{left + plot_w - legend_w - 2, top + plot_h - legend_h},
                                std::pair{left + 16, top + plot_h - legend_h}}) {
    std::size_t covered = 0;
    for (const auto& s : series) {
      for (std::size_t i = 0; i < e.rows.size(); ++i) {
        const auto value = [&](std::size_t k) {
          return s.test ? e.rows[k].final_test_mse() : e.rows[k].final_train_mse();
        };
        for (double f : {0.0, 0.5}) {
          if (f > 0 && i + 1 == e.rows.size()) continue;
          const std::size_t j = f > 0 ? i + 1 : i;
          const double x = (1 - f) * px(e.rows[i].alpha) + f * px(e.rows[j].alpha);
          const double y = (1 - f) * py(value(i)) + f * py(value(j));
          covered += x >= cx - 14 && x <= cx - 8 + legend_w + 6 && y >= cy - 18 && y <= cy - 12 + legend_h + 6;
        }
      }
    }
    if (covered < least) {
      least = covered;
      lx = cx;
      ly = cy;
    }
  }
  svg << "<rect x=\"" << lx - 8 << "\" y=\"" << ly - 12 << "\" width=\"" << legend_w << "\" height=\"" << legend_h
      << "\" fill=\"white\" stroke=\"#ccc\"/>\n";
  for (int i = 0; i < 2; ++i) {
    svg << "<line x1=\"" << lx << "\" x2=\"" << lx + 24 << "\" y1=\"" << ly + 20 * i << "\" y2=\"" << ly + 20 * i
        << "\" stroke=\"" << series[i].colour << "\" stroke-width=\"2\"/>\n<text x=\"" << lx + 32 << "\" y=\""
        << ly + 20 * i + 4 << "\">" << series[i].name << "</text>\n";
  }
  svg << "<line x1=\"" << lx << "\" x2=\"" << lx + 24 << "\" y1=\"" << ly + 40 << "\" y2=\"" << ly + 40
      << "\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n<text x=\"" << lx + 32 << "\" y=\"" << ly + 44
      << "\">noise floor sigma^2</text>\n</svg>\n";
  return svg.str();
}

}  // namespace

int run_synthetic_command(const std::vector<std::string>& args) {
  const OptionList list = parse_option_list(
      args, {"--d", "--n", "--test-n", "--alphas", "--noise", "--steps", "--lr-scale", "--threshold",
             "--teacher", "--task-decay", "--checkpoints", "--seed", "--backend", "--plot"},
      {"--json", "--quiet", "--curves"});
  if (printed_usage(list, "synthetic")) return 0;
  RegressionExperimentOptions o;
  o.features = list.integer("--d", o.features);
  o.train_samples = list.integer("--n", o.train_samples);
  o.test_samples = list.integer("--test-n", o.test_samples);
  if (!list.value("--alphas").empty()) o.alphas = parse_list<double>("--alphas", list.value("--alphas"));
  o.noise = list.real("--noise", o.noise);
  o.steps = list.integer("--steps", o.steps);
  o.learning_rate_scale = list.real("--lr-scale", o.learning_rate_scale);
  o.loss_threshold = list.real("--threshold", o.loss_threshold);
  o.task_decay = list.real("--task-decay", o.task_decay);
  if (!list.value("--checkpoints").empty()) {
    o.checkpoints = parse_list<std::int64_t>("--checkpoints", list.value("--checkpoints"));
  }
  o.seed = list.seed("--seed");
  try {
    o.teacher = parse_teacher_model(list.value("--teacher", "fixed-task"));
    o.backend = parse_backend(list.value("--backend", "auto"));
  } catch (const invalid_input& e) {
    throw UsageError(e.what());
  }
  const std::string plot = list.value("--plot");
  if (!plot.empty()) check_picture_option("--plot", plot);  // before the experiment runs
  const bool quiet = list.has_flag("--quiet");
  std::string notice;
  resolve_backend(o.backend, &notice);
  if (!notice.empty() && !quiet) std::cerr << "alphareq: notice: " << notice << "\n";
  if (o.train_samples >= o.features && !quiet) {
    std::cerr << "alphareq: notice: n >= D: the problem is not overparameterised (the paper's Figure 2 has n < D)\n";
  }

  const RegressionExperiment experiment = run_regression_experiment(o);
  if (!plot.empty() && !experiment.rows.empty()) save_picture(plot, svg_plot(o, experiment));
  if (list.has_flag("--json")) print_json(o, experiment);
  else print_text(o, experiment, list.has_flag("--curves"));
  return 0;
}

}  // namespace alphareq::cli
