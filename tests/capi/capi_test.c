/* The C API from a plain C11 program: create, add (strided, several batches), merge,
 * report, one-call and .npy entry points, and the status and message of bad calls. */

#include <alphareq/alphareq.h>

#include "capi_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>




enum { kRows = 3000, kCols = 40, kPaddedStride = kCols + 3 };

/* Seeded Gaussian features whose population covariance is diag(i^-1), i = 1..kCols. */
static void make_features(double* out) {
  uint64_t state = 12345u;
  for (int i = 0; i < kRows * kCols; i += 2) {
    double u[2];
    for (int k = 0; k < 2; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      u[k] = ((double)(state >> 11) + 0.5) / 9007199254740992.0;
    }
    const double radius = sqrt(-2.0 * log(u[0]));
    out[i] = radius * cos(6.283185307179586 * u[1]);
    out[i + 1] = radius * sin(6.283185307179586 * u[1]);
  }
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) out[r * kCols + c] = 5.0 + out[r * kCols + c] / sqrt(c + 1.0);
  }
}

static int close_to(double a, double b, double tolerance) {
  return fabs(a - b) <= tolerance * fmax(1.0, fabs(b));
}

/* A C-order little-endian float64 .npy file (format 1.0). */
static int write_npy(const char* path, const double* data, int rows, int cols) {
  char header[128];
  int length =
      snprintf(header, sizeof header,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
  const int total = 10 + length + 1;
  const int padding = (64 - total % 64) % 64;
  FILE* file = fopen(path, "wb");
  if (file == NULL) return 0;
  const uint16_t header_length = (uint16_t)(length + padding + 1);
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const unsigned char length_bytes[2] = {(unsigned char)(header_length & 0xFF),
                                         (unsigned char)(header_length >> 8)};
  fwrite(magic, 1, 8, file);
  fwrite(length_bytes, 1, 2, file);
  fwrite(header, 1, (size_t)length, file);
  for (int i = 0; i < padding; ++i) fputc(' ', file);
  fputc('\n', file);
  fwrite(data, sizeof(double), (size_t)rows * cols, file);
  return fclose(file) == 0;
}

static void test_streaming_merge_and_one_call(const double* features) {
  const int half = kRows / 2;
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_fit_options fit = alphareq_fit_options_default();
  CHECK(fit.method == ALPHAREQ_FIT_WEIGHTED && fit.first_rank == 11 && fit.last_rank == 100);
  fit.first_rank = 2;
  fit.last_rank = 30;

  /* The second half goes in with a padded row stride. */
  double* padded = calloc((size_t)half * kPaddedStride, sizeof(double));
  for (int r = 0; r < half; ++r)
    memcpy(padded + r * kPaddedStride, features + (half + r) * kCols, kCols * sizeof(double));

  alphareq_accumulator* whole = NULL;
  alphareq_accumulator* first = NULL;
  alphareq_accumulator* second = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &whole));
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &first));
  CHECK_OK(alphareq_accumulator_create(kCols, NULL, &second));
  CHECK(whole != NULL && first != NULL && second != NULL);
  if (whole == NULL || first == NULL || second == NULL) return;

  CHECK_OK(alphareq_accumulator_add_batch(whole, features, ALPHAREQ_DTYPE_FLOAT64, half, kCols, 0,
                                          ALPHAREQ_MEMORY_HOST, NULL));
  CHECK_OK(alphareq_accumulator_add_batch(whole, padded, ALPHAREQ_DTYPE_FLOAT64, half, kCols,
                                          kPaddedStride, ALPHAREQ_MEMORY_HOST, NULL));
  CHECK_OK(alphareq_accumulator_add_batch(first, features, ALPHAREQ_DTYPE_FLOAT64, half, kCols,
                                          kCols, ALPHAREQ_MEMORY_HOST, NULL));
  CHECK_OK(alphareq_accumulator_add_batch(second, features + half * kCols, ALPHAREQ_DTYPE_FLOAT64,
                                          half, kCols, 0, ALPHAREQ_MEMORY_HOST, NULL));
  CHECK_OK(alphareq_accumulator_merge(first, second));

  /* The state another process would send: merged, it equals merging the accumulator. */
  int64_t sent_count = -1;
  double* sent_mean = malloc(sizeof(double) * kCols);
  double* sent_m2 = malloc(sizeof(double) * kCols * kCols);
  alphareq_accumulator* by_state = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &by_state));
  CHECK_OK(alphareq_accumulator_add_batch(by_state, features, ALPHAREQ_DTYPE_FLOAT64, half, kCols, 0,
                                          ALPHAREQ_MEMORY_HOST, NULL));
  int sent_rounded = -1;
  CHECK_OK(alphareq_accumulator_state(second, kCols, &sent_count, sent_mean, sent_m2, &sent_rounded));
  CHECK(sent_count == half);
  CHECK(sent_rounded == 0); /* float64 products */
  sent_m2[1] = NAN; /* row 1, column 0: the lower triangle, not read */
  CHECK_OK(alphareq_accumulator_merge_state(by_state, kCols, sent_count, sent_mean, sent_m2,
                                            sent_rounded));
  CHECK_STATUS(alphareq_accumulator_merge_state(by_state, kCols, -1, sent_mean, sent_m2, 0),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "negative sample count") != NULL);
  CHECK_STATUS(alphareq_accumulator_merge_state(by_state, kCols, 1, NULL, sent_m2, 0),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(
      alphareq_accumulator_merge_state(by_state, kCols, sent_count, sent_mean, sent_m2, 2),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "float32_rounded must be 0 or 1") != NULL);
  sent_m2[0] = -1.0;
  CHECK_STATUS(
      alphareq_accumulator_merge_state(by_state, kCols, sent_count, sent_mean, sent_m2, 0),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_state(second, kCols, &sent_count, NULL, sent_m2, &sent_rounded),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_state(second, kCols, &sent_count, sent_mean, sent_m2, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  {
    /* A float32-products accumulator's state says so, and a float64 one that merges it too. */
    alphareq_accumulator_options single = cpu;
    single.precision = ALPHAREQ_PRECISION_FLOAT32;
    alphareq_accumulator *worker = NULL, *root = NULL;
    CHECK_OK(alphareq_accumulator_create(kCols, &single, &worker));
    CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &root));
    CHECK_OK(alphareq_accumulator_add_batch(worker, features, ALPHAREQ_DTYPE_FLOAT64, half, kCols, 0,
                                            ALPHAREQ_MEMORY_HOST, NULL));
    CHECK_OK(alphareq_accumulator_state(worker, kCols, &sent_count, sent_mean, sent_m2, &sent_rounded));
    CHECK(sent_rounded == 1);
    CHECK_OK(alphareq_accumulator_merge_state(root, kCols, sent_count, sent_mean, sent_m2,
                                              sent_rounded));
    CHECK_OK(alphareq_accumulator_state(root, kCols, &sent_count, sent_mean, sent_m2, &sent_rounded));
    CHECK(sent_rounded == 1);
    CHECK_OK(alphareq_accumulator_free(worker));
    CHECK_OK(alphareq_accumulator_free(root));
  }
  CHECK_OK(alphareq_accumulator_count(by_state, &sent_count));
  CHECK(sent_count == kRows);
  {
    double first_mean[kCols], state_mean[kCols];
    double* first_m2 = malloc(sizeof(double) * kCols * kCols);
    int64_t first_count = 0;
    int first_rounded = -1;
    CHECK_OK(alphareq_accumulator_state(first, kCols, &first_count, first_mean, first_m2, &first_rounded));
    CHECK_OK(alphareq_accumulator_state(by_state, kCols, &sent_count, state_mean, sent_m2, &sent_rounded));
    CHECK(first_rounded == 0 && sent_rounded == 0);
    CHECK(first_count == sent_count && memcmp(first_mean, state_mean, sizeof first_mean) == 0);
    for (int c = 0; c < kCols; ++c) {
      for (int r = 0; r <= c; ++r) CHECK(first_m2[c * kCols + r] == sent_m2[c * kCols + r]);
    }
    free(first_m2);
  }
  CHECK_OK(alphareq_accumulator_free(by_state));
  free(sent_mean);
  free(sent_m2);

  int64_t value = -1;
  CHECK_OK(alphareq_accumulator_dim(whole, &value));
  CHECK(value == kCols);
  CHECK_OK(alphareq_accumulator_count(first, &value));
  CHECK(value == kRows);
  CHECK_OK(alphareq_accumulator_count(second, &value));
  CHECK(value == half);
  alphareq_backend backend = ALPHAREQ_BACKEND_AUTO;
  CHECK_OK(alphareq_accumulator_backend(whole, &backend));
  CHECK(backend == ALPHAREQ_BACKEND_CPU);

  alphareq_report* streamed = NULL;
  alphareq_report* merged = NULL;
  alphareq_report* one_call = NULL;
  CHECK_OK(alphareq_accumulator_report(whole, &fit, ALPHAREQ_NORMALIZE_BY_N, &streamed));
  CHECK_OK(alphareq_accumulator_report(first, &fit, ALPHAREQ_NORMALIZE_BY_N, &merged));
  CHECK_OK(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, kRows, kCols, 0,
                                  ALPHAREQ_MEMORY_HOST, NULL, &cpu, &fit, ALPHAREQ_NORMALIZE_BY_N,
                                  &one_call));
  if (streamed != NULL && merged != NULL && one_call != NULL) {
    alphareq_report_values s, m, o;
    CHECK_OK(alphareq_report_get_values(streamed, &s));
    CHECK_OK(alphareq_report_get_values(merged, &m));
    CHECK_OK(alphareq_report_get_values(one_call, &o));
    CHECK(s.n == kRows && s.d == kCols);
    CHECK(close_to(s.alpha, o.alpha, 1e-9) && close_to(m.alpha, o.alpha, 1e-9));
    CHECK(close_to(s.r2, o.r2, 1e-9) && close_to(m.intercept, o.intercept, 1e-9));
    CHECK(fabs(o.alpha - 1.0) < 0.15);
    CHECK(o.r2 > 0.9);
    CHECK(o.first_rank == 2 && o.last_rank == 30 && o.clipped == 0 &&
          o.method == ALPHAREQ_FIT_WEIGHTED);
    CHECK(o.total_ms >= 0.0);

    const double* eigenvalues = NULL;
    int64_t count = 0;
    CHECK_OK(alphareq_report_eigenvalues(one_call, &eigenvalues, &count));
    CHECK(count == kCols && eigenvalues != NULL);
    for (int64_t i = 1; i < count; ++i) CHECK(eigenvalues[i] <= eigenvalues[i - 1]);
    CHECK(close_to(eigenvalues[0], 1.0, 0.2)); /* λ_1 of diag(i^-1) is 1 */
    const double* residuals = NULL;
    CHECK_OK(alphareq_report_residuals(one_call, &residuals, &count));
    CHECK(count == 29);
    const char* text = NULL;
    CHECK_OK(alphareq_report_backend(one_call, &text));
    CHECK(text != NULL && strcmp(text, "cpu") == 0);
    CHECK_OK(alphareq_report_clip_reason(one_call, &text));
    CHECK(text != NULL && text[0] == '\0');
  }
  CHECK_OK(alphareq_report_free(streamed));
  CHECK_OK(alphareq_report_free(merged));
  CHECK_OK(alphareq_report_free(one_call));

  /* The default window 11..100 is clipped to D = 40 ranks, and that is reported. */
  alphareq_report* clipped = NULL;
  CHECK_OK(alphareq_accumulator_report(whole, NULL, ALPHAREQ_NORMALIZE_BY_N_MINUS_ONE, &clipped));
  if (clipped != NULL) {
    alphareq_report_values c;
    CHECK_OK(alphareq_report_get_values(clipped, &c));
    CHECK(c.clipped == 1 && c.first_rank == 11 && c.last_rank <= kCols &&
          c.requested_last_rank == 100);
    const char* reason = NULL;
    CHECK_OK(alphareq_report_clip_reason(clipped, &reason));
    CHECK(reason != NULL && strlen(reason) > 0);
  }
  CHECK_OK(alphareq_report_free(clipped));

  CHECK_OK(alphareq_accumulator_free(whole));
  CHECK_OK(alphareq_accumulator_free(first));
  CHECK_OK(alphareq_accumulator_free(second));
  free(padded);
}

/* A state of another width is refused by merge_state before its arrays are read (they
 * hold exactly that width's values: read as the accumulator's width, a narrower state's
 * would be read past their end, a wider one's m2 scrambled), with both widths in the
 * message, and the accumulator keeps its count and its report. */
static void test_merge_state_refuses_another_width(const double* features) {
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_fit_options fit = alphareq_fit_options_default();
  fit.first_rank = 2;
  fit.last_rank = 30;
  alphareq_accumulator* into = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &into));
  if (into == NULL) return;
  CHECK_OK(alphareq_accumulator_add_batch(into, features, ALPHAREQ_DTYPE_FLOAT64, 1000, kCols, 0,
                                          ALPHAREQ_MEMORY_HOST, NULL));
  alphareq_report* before = NULL;
  CHECK_OK(alphareq_accumulator_report(into, &fit, ALPHAREQ_NORMALIZE_BY_N, &before));

  const int widths[2] = {kCols - 1, kCols + 1};
  for (int w = 0; w < 2; ++w) {
    const int width = widths[w];
    /* The sender: the first `width` features (a padded copy for the wider one). */
    double* rows = calloc((size_t)1000 * width, sizeof(double));
    for (int r = 0; r < 1000; ++r) {
      for (int c = 0; c < width; ++c) rows[r * width + c] = features[r * kCols + c % kCols];
    }
    alphareq_accumulator* sender = NULL;
    CHECK_OK(alphareq_accumulator_create(width, &cpu, &sender));
    CHECK_OK(alphareq_accumulator_add_batch(sender, rows, ALPHAREQ_DTYPE_FLOAT64, 1000, width, 0,
                                            ALPHAREQ_MEMORY_HOST, NULL));
    /* Exactly the sender's sizes, so that a read past them is a sanitizer's error. */
    double* mean = malloc(sizeof(double) * width);
    double* m2 = malloc(sizeof(double) * width * width);
    int64_t count = -1;
    int rounded = -1;
    CHECK_OK(alphareq_accumulator_state(sender, width, &count, mean, m2, &rounded));
    CHECK(count == 1000);
    CHECK_STATUS(alphareq_accumulator_merge_state(into, width, count, mean, m2, rounded),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    char expected[64];
    snprintf(expected, sizeof expected, "state has %d features", width);
    CHECK(strstr(alphareq_last_error(), expected) != NULL);
    snprintf(expected, sizeof expected, "the accumulator %d", (int)kCols);
    CHECK(strstr(alphareq_last_error(), expected) != NULL);
    free(mean);
    free(m2);
    free(rows);
    CHECK_OK(alphareq_accumulator_free(sender));
  }

  int64_t count = -1;
  CHECK_OK(alphareq_accumulator_count(into, &count));
  CHECK(count == 1000);
  alphareq_report* after = NULL;
  CHECK_OK(alphareq_accumulator_report(into, &fit, ALPHAREQ_NORMALIZE_BY_N, &after));
  if (before != NULL && after != NULL) {
    alphareq_report_values b, a;
    CHECK_OK(alphareq_report_get_values(before, &b));
    CHECK_OK(alphareq_report_get_values(after, &a));
    CHECK(a.n == b.n && memcmp(&a.alpha, &b.alpha, sizeof(double)) == 0 &&
          memcmp(&a.intercept, &b.intercept, sizeof(double)) == 0 &&
          memcmp(&a.r2, &b.r2, sizeof(double)) == 0);
    const double* ev_before = NULL;
    const double* ev_after = NULL;
    int64_t n_before = 0, n_after = 0;
    CHECK_OK(alphareq_report_eigenvalues(before, &ev_before, &n_before));
    CHECK_OK(alphareq_report_eigenvalues(after, &ev_after, &n_after));
    CHECK(n_before == kCols && n_after == kCols);
    if (ev_before != NULL && ev_after != NULL && n_before == n_after) {
      CHECK(memcmp(ev_before, ev_after, (size_t)n_before * sizeof(double)) == 0);
    }
  }
  alphareq_report_free(before);
  alphareq_report_free(after);
  CHECK_OK(alphareq_accumulator_free(into));
}

/* The power-law fit of (log i, log λ_i), i = first..last, computed here from a report's
 * eigenvalues, independently of the library: least squares with weights 1/i (weighted) or
 * 1 (OLS). R² is weighted as the fit is. */
typedef struct {
  double alpha, intercept, r2;
} reference_fit;

static reference_fit fit_reference(const double* eigenvalues, int64_t first, int64_t last,
                                   int weighted) {
  double weight_sum = 0.0, x_mean = 0.0, y_mean = 0.0;
  for (int64_t i = first; i <= last; ++i) {
    const double w = weighted ? 1.0 / (double)i : 1.0;
    weight_sum += w;
    x_mean += w * log((double)i);
    y_mean += w * log(eigenvalues[i - 1]);
  }
  x_mean /= weight_sum;
  y_mean /= weight_sum;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (int64_t i = first; i <= last; ++i) {
    const double w = weighted ? 1.0 / (double)i : 1.0;
    const double dx = log((double)i) - x_mean, dy = log(eigenvalues[i - 1]) - y_mean;
    sxx += w * dx * dx;
    sxy += w * dx * dy;
    syy += w * dy * dy;
  }
  reference_fit fit;
  fit.alpha = -sxy / sxx;
  fit.intercept = y_mean + fit.alpha * x_mean;
  fit.r2 = sxy * sxy / (sxx * syy); /* = 1 − residual SS / total SS for a least-squares line */
  return fit;
}

/* α, intercept, R² and residuals of both fit methods against fit_reference on the report's
 * own eigenvalues; the window and rank fields; and the n − 1 normalisation against n. */
static void test_report_values_against_references(const double* features) {
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_accumulator* accumulator = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &accumulator));
  if (accumulator == NULL) return;
  CHECK_OK(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, kRows,
                                          kCols, 0, ALPHAREQ_MEMORY_HOST, NULL));
  double alpha_of_method[2] = {0.0, 0.0};
  const int32_t methods[2] = {ALPHAREQ_FIT_WEIGHTED, ALPHAREQ_FIT_OLS};
  for (int m = 0; m < 2; ++m) {
    alphareq_fit_options fit = alphareq_fit_options_default();
    fit.method = methods[m];
    fit.first_rank = 2;
    fit.last_rank = 30;
    alphareq_report* report = NULL;
    CHECK_OK(alphareq_accumulator_report(accumulator, &fit, ALPHAREQ_NORMALIZE_BY_N, &report));
    if (report == NULL) continue;
    alphareq_report_values v;
    const double* eigenvalues = NULL;
    const double* residuals = NULL;
    int64_t eigenvalue_count = 0, residual_count = 0;
    CHECK_OK(alphareq_report_get_values(report, &v));
    CHECK_OK(alphareq_report_eigenvalues(report, &eigenvalues, &eigenvalue_count));
    CHECK_OK(alphareq_report_residuals(report, &residuals, &residual_count));
    CHECK(v.method == methods[m]);
    CHECK(v.first_rank == 2 && v.last_rank == 30 && v.requested_first_rank == 2 &&
          v.requested_last_rank == 30 && v.clipped == 0);
    /* min(n − 1, D, eigenvalues above λ_1·D·ε): D here, every eigenvalue being ~1/i. */
    CHECK(v.rank_limit == kCols);
    if (eigenvalues != NULL && residuals != NULL && eigenvalue_count == kCols) {
      const reference_fit expected =
          fit_reference(eigenvalues, 2, 30, methods[m] == ALPHAREQ_FIT_WEIGHTED);
      CHECK(close_to(v.alpha, expected.alpha, 1e-9));
      CHECK(close_to(v.intercept, expected.intercept, 1e-9)); /* log λ at rank 1 of the line */
      CHECK(close_to(v.r2, expected.r2, 1e-9));
      /* log λ_i − (intercept − α log i) for each rank of the window, first rank first. */
      CHECK(residual_count == 29 && residuals != eigenvalues);
      for (int64_t k = 0; k < residual_count && k < 29; ++k) {
        const int64_t rank = 2 + k;
        const double fitted = v.intercept - v.alpha * log((double)rank);
        CHECK(fabs(residuals[k] - (log(eigenvalues[rank - 1]) - fitted)) < 1e-9);
      }
    }
    alpha_of_method[m] = v.alpha;
    alphareq_report_free(report);
  }
  /* The two fits differ on this spectrum, so the one cannot pass for the other above. */
  CHECK(fabs(alpha_of_method[0] - alpha_of_method[1]) > 1e-4);

  /* Normalised by n − 1, the covariance (and so each eigenvalue) is n/(n − 1) times the one
   * normalised by n, and α, a slope of log λ, is the same. */
  alphareq_report* by_n = NULL;
  alphareq_report* by_n_minus_one = NULL;
  CHECK_OK(alphareq_accumulator_report(accumulator, NULL, ALPHAREQ_NORMALIZE_BY_N, &by_n));
  CHECK_OK(alphareq_accumulator_report(accumulator, NULL, ALPHAREQ_NORMALIZE_BY_N_MINUS_ONE,
                                       &by_n_minus_one));
  if (by_n != NULL && by_n_minus_one != NULL) {
    const double* a = NULL;
    const double* b = NULL;
    int64_t count_a = 0, count_b = 0;
    CHECK_OK(alphareq_report_eigenvalues(by_n, &a, &count_a));
    CHECK_OK(alphareq_report_eigenvalues(by_n_minus_one, &b, &count_b));
    CHECK(count_a == kCols && count_b == kCols);
    const double ratio = (double)kRows / (double)(kRows - 1);
    for (int64_t i = 0; i < count_a && i < count_b; ++i) {
      CHECK(fabs(b[i] - a[i] * ratio) <= 1e-12 * a[0]);
    }
    alphareq_report_values va, vb;
    CHECK_OK(alphareq_report_get_values(by_n, &va));
    CHECK_OK(alphareq_report_get_values(by_n_minus_one, &vb));
    CHECK(close_to(va.alpha, vb.alpha, 1e-9));
    CHECK(close_to(vb.intercept - va.intercept, log(ratio), 1e-9));
  }
  alphareq_report_free(by_n);
  alphareq_report_free(by_n_minus_one);
  CHECK_OK(alphareq_accumulator_free(accumulator));

  /* Fewer samples than features: rank_limit is n − 1, and the default window 11..100 is
   * clipped to it while requested_* keep what was asked for. */
  alphareq_report* few = NULL;
  CHECK_OK(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, 20, kCols, 0,
                                  ALPHAREQ_MEMORY_HOST, NULL, &cpu, NULL, ALPHAREQ_NORMALIZE_BY_N,
                                  &few));
  if (few != NULL) {
    alphareq_report_values v;
    CHECK_OK(alphareq_report_get_values(few, &v));
    CHECK(v.n == 20 && v.rank_limit == 19 && v.requested_first_rank == 11 &&
          v.requested_last_rank == 100 && v.first_rank == 11 && v.last_rank == 19 &&
          v.clipped == 1);
  }
  alphareq_report_free(few);
}

/* Every status's name, and "unknown status" for values that are none. */
static void test_status_names(void) {
  static const char* const names[] = {"ALPHAREQ_OK",
                                       "ALPHAREQ_ERROR_INVALID_INPUT",
                                       "ALPHAREQ_ERROR_FILE",
                                       "ALPHAREQ_ERROR_BACKEND_UNAVAILABLE",
                                       "ALPHAREQ_ERROR_OUT_OF_MEMORY",
                                       "ALPHAREQ_ERROR_CUDA",
                                       "ALPHAREQ_ERROR_NUMERICAL",
                                       "ALPHAREQ_ERROR_INTERNAL"};
  for (int status = 0; status < 8; ++status) {
    CHECK(strcmp(alphareq_status_name((alphareq_status)status), names[status]) == 0);
  }
  CHECK(strcmp(alphareq_status_name((alphareq_status)8), "unknown status") == 0);
  CHECK(strcmp(alphareq_status_name(ALPHAREQ_STATUS_MAX_ENUM), "unknown status") == 0);
}

/* A value of no enumerator is refused with INVALID_INPUT and a message naming the field,
 * for each enumeration: the one past the last value, the *_MAX_ENUM member where there is
 * one, and (int32 struct fields) negative values. Enum-typed arguments get no negative
 * value: their C++ type's range is 0..0x7FFFFFFF, and UBSan's enum check would object. */
static void test_unknown_enum_values_refused(const double* features) {
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  const int32_t bad_int32[3] = {-1, INT32_MIN, INT32_MAX};
  alphareq_accumulator* accumulator = NULL;
  alphareq_report* report = NULL;
  for (int k = 0; k < 4; ++k) {
    alphareq_accumulator_options bad = cpu;
    bad.backend = k < 3 ? bad_int32[k] : ALPHAREQ_BACKEND_CUDA + 1;
    CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "options.backend") != NULL);
    bad = cpu;
    bad.precision = k < 3 ? bad_int32[k] : ALPHAREQ_PRECISION_TF32 + 1;
    CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "options.precision") != NULL);
    bad = cpu;
    bad.solver = k < 3 ? bad_int32[k] : ALPHAREQ_SOLVER_FLOAT32 + 1;
    CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "options.solver") != NULL);
    alphareq_fit_options fit = alphareq_fit_options_default();
    fit.method = k < 3 ? bad_int32[k] : ALPHAREQ_FIT_OLS + 1;
    CHECK_STATUS(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, 100, kCols, 0,
                                        ALPHAREQ_MEMORY_HOST, NULL, &cpu, &fit,
                                        ALPHAREQ_NORMALIZE_BY_N, &report),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "fit.method") != NULL);
  }
  CHECK(accumulator == NULL && report == NULL);

  const alphareq_normalization bad_normalizations[2] = {
      (alphareq_normalization)(ALPHAREQ_NORMALIZE_BY_N_MINUS_ONE + 1), ALPHAREQ_NORMALIZE_MAX_ENUM};
  const alphareq_dtype bad_dtypes[2] = {(alphareq_dtype)(ALPHAREQ_DTYPE_FLOAT64 + 1),
                                        ALPHAREQ_DTYPE_MAX_ENUM};
  const alphareq_memory_space bad_spaces[2] = {
      (alphareq_memory_space)(ALPHAREQ_MEMORY_DEVICE + 1), ALPHAREQ_MEMORY_MAX_ENUM};
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &accumulator));
  if (accumulator == NULL) return;
  CHECK_OK(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 100, kCols,
                                          0, ALPHAREQ_MEMORY_HOST, NULL));
  for (int k = 0; k < 2; ++k) {
    CHECK_STATUS(alphareq_accumulator_report(accumulator, NULL, bad_normalizations[k], &report),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "normalization") != NULL);
    CHECK_STATUS(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, 100, kCols, 0,
                                        ALPHAREQ_MEMORY_HOST, NULL, &cpu, NULL,
                                        bad_normalizations[k], &report),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "normalization") != NULL);
    CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, bad_dtypes[k], 10, kCols, 0,
                                                ALPHAREQ_MEMORY_HOST, NULL),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "dtype") != NULL);
    CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 10,
                                                kCols, 0, bad_spaces[k], NULL),
                 ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(strstr(alphareq_last_error(), "memory space") != NULL);
  }
  CHECK(report == NULL);
  int64_t count = -1;
  CHECK_OK(alphareq_accumulator_count(accumulator, &count));
  CHECK(count == 100);
  CHECK_OK(alphareq_accumulator_free(accumulator));
}

/* A failed call leaves its outputs as they were: each is preset to a sentinel (an address
 * no call returns, never dereferenced; or a value no call writes) and compared after. */
static max_align_t sentinel_storage; /* aligned for any handle type */
#define SENTINEL ((void*)&sentinel_storage)

static void test_failed_calls_leave_outputs_unchanged(const double* features) {
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_accumulator* accumulator = (alphareq_accumulator*)SENTINEL;
  alphareq_report* report = (alphareq_report*)SENTINEL;

  /* create: a bad width, a bad option. */
  CHECK_STATUS(alphareq_accumulator_create(0, &cpu, &accumulator), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(accumulator == (alphareq_accumulator*)SENTINEL);
  alphareq_accumulator_options bad = cpu;
  bad.precision = 9;
  CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(accumulator == (alphareq_accumulator*)SENTINEL);

  /* compute_alpha, compute_alpha_npy: a failure inside the computation. */
  CHECK_STATUS(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, 1, kCols, 0,
                                      ALPHAREQ_MEMORY_HOST, NULL, &cpu, NULL,
                                      ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(report == (alphareq_report*)SENTINEL);
  CHECK_STATUS(alphareq_compute_alpha_npy("no/such/features.npy", &cpu, NULL,
                                          ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_FILE);
  CHECK(report == (alphareq_report*)SENTINEL);

  alphareq_accumulator* real = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &real));
  if (real == NULL) return;
  /* report: too few samples. */
  CHECK_STATUS(alphareq_accumulator_report(real, NULL, ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(report == (alphareq_report*)SENTINEL);

  /* state: one NULL array, the other outputs untouched. */
  CHECK_OK(alphareq_accumulator_add_batch(real, features, ALPHAREQ_DTYPE_FLOAT64, 100, kCols, 0,
                                          ALPHAREQ_MEMORY_HOST, NULL));
  int64_t count = -12345;
  int rounded = -7;
  double mean[kCols];
  double* m2 = malloc(sizeof(double) * kCols * kCols);
  for (int c = 0; c < kCols; ++c) mean[c] = -0.5;
  CHECK_STATUS(alphareq_accumulator_state(real, kCols, &count, mean, NULL, &rounded),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_state(real, kCols, &count, NULL, m2, &rounded),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(count == -12345 && rounded == -7 && mean[0] == -0.5 && mean[kCols - 1] == -0.5);
  /* state: arrays for another width are refused before anything is written (a narrower
     caller's arrays would be overrun). */
  CHECK_STATUS(alphareq_accumulator_state(real, kCols - 1, &count, mean, m2, &rounded),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "state: the arrays are for") != NULL);
  CHECK(count == -12345 && rounded == -7 && mean[0] == -0.5 && mean[kCols - 1] == -0.5);
  free(m2);

  /* The report accessors: a NULL output beside a preset one. */
  alphareq_report* good = NULL;
  CHECK_OK(alphareq_accumulator_report(real, NULL, ALPHAREQ_NORMALIZE_BY_N, &good));
  if (good != NULL) {
    const double* values = (const double*)SENTINEL;
    const char* text = (const char*)SENTINEL;
    int64_t n = -12345;
    CHECK_STATUS(alphareq_report_eigenvalues(good, &values, NULL), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK_STATUS(alphareq_report_eigenvalues(good, NULL, &n), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK_STATUS(alphareq_report_residuals(good, &values, NULL), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK_STATUS(alphareq_report_residuals(NULL, &values, &n), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(values == (const double*)SENTINEL && n == -12345);
    CHECK_STATUS(alphareq_report_backend(NULL, &text), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK_STATUS(alphareq_report_clip_reason(NULL, &text), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(text == (const char*)SENTINEL);
    alphareq_report_values preset, after;
    memset(&preset, 0xA5, sizeof preset);
    memcpy(&after, &preset, sizeof after);
    CHECK_STATUS(alphareq_report_get_values(NULL, &after), ALPHAREQ_ERROR_INVALID_INPUT);
    CHECK(memcmp(&preset, &after, sizeof preset) == 0);
  }
  alphareq_report_free(good);
  CHECK_OK(alphareq_accumulator_free(real));
}

static void test_npy_file_matches_memory(const double* features) {
  const char* path = "capi_test_features.npy";
  CHECK(write_npy(path, features, kRows, kCols));
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_report* from_file = NULL;
  alphareq_report* from_memory = NULL;
  CHECK_OK(alphareq_compute_alpha_npy(path, &cpu, NULL, ALPHAREQ_NORMALIZE_BY_N, &from_file));
  CHECK_OK(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, kRows, kCols, 0,
                                  ALPHAREQ_MEMORY_HOST, NULL, &cpu, NULL, ALPHAREQ_NORMALIZE_BY_N,
                                  &from_memory));
  if (from_file != NULL && from_memory != NULL) {
    alphareq_report_values f, m;
    CHECK_OK(alphareq_report_get_values(from_file, &f));
    CHECK_OK(alphareq_report_get_values(from_memory, &m));
    CHECK(f.n == kRows && f.d == kCols);
    CHECK(close_to(f.alpha, m.alpha, 1e-12) && close_to(f.r2, m.r2, 1e-12));
  }
  alphareq_report_free(from_file);
  alphareq_report_free(from_memory);
  remove(path);
}

/* The defaults, and the deterministic flag: accepted by the CPU backend (deterministic
 * always) with bit-identical α and eigenvalues to the default, and any value other than 0
 * or 1 refused with a message naming the field. */
static void test_options_defaults_and_deterministic_flag(const double* features) {
  const alphareq_accumulator_options defaults = alphareq_accumulator_options_default();
  CHECK(defaults.backend == ALPHAREQ_BACKEND_AUTO && defaults.precision == ALPHAREQ_PRECISION_FLOAT64 &&
        defaults.solver == ALPHAREQ_SOLVER_FLOAT64 && defaults.device == -1 &&
        defaults.deterministic == 0);
  alphareq_accumulator_options cpu = defaults;
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_accumulator_options deterministic = cpu;
  deterministic.deterministic = 1;
  alphareq_report* plain = NULL;
  alphareq_report* repeated[2] = {NULL, NULL};
  CHECK_OK(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, kRows, kCols, 0,
                                  ALPHAREQ_MEMORY_HOST, NULL, &cpu, NULL, ALPHAREQ_NORMALIZE_BY_N,
                                  &plain));
  for (int run = 0; run < 2; ++run) {
    CHECK_OK(alphareq_compute_alpha(features, ALPHAREQ_DTYPE_FLOAT64, kRows, kCols, 0,
                                    ALPHAREQ_MEMORY_HOST, NULL, &deterministic, NULL,
                                    ALPHAREQ_NORMALIZE_BY_N, &repeated[run]));
  }
  if (plain != NULL && repeated[0] != NULL && repeated[1] != NULL) {
    alphareq_report_values p, a, b;
    CHECK_OK(alphareq_report_get_values(plain, &p));
    CHECK_OK(alphareq_report_get_values(repeated[0], &a));
    CHECK_OK(alphareq_report_get_values(repeated[1], &b));
    CHECK(memcmp(&a.alpha, &b.alpha, sizeof(double)) == 0);
    CHECK(memcmp(&a.alpha, &p.alpha, sizeof(double)) == 0);
    CHECK(memcmp(&a.r2, &p.r2, sizeof(double)) == 0);
    const double* ev_plain = NULL;
    const double* ev_deterministic = NULL;
    int64_t count_plain = 0, count_deterministic = 0;
    CHECK_OK(alphareq_report_eigenvalues(plain, &ev_plain, &count_plain));
    CHECK_OK(alphareq_report_eigenvalues(repeated[1], &ev_deterministic, &count_deterministic));
    CHECK(count_plain == kCols && count_deterministic == kCols);
    if (ev_plain != NULL && ev_deterministic != NULL && count_plain == count_deterministic) {
      CHECK(memcmp(ev_plain, ev_deterministic, (size_t)count_plain * sizeof(double)) == 0);
    }
  }
  alphareq_report_free(plain);
  alphareq_report_free(repeated[0]);
  alphareq_report_free(repeated[1]);

  alphareq_accumulator* accumulator = NULL;
  alphareq_accumulator_options bad = cpu;
  bad.deterministic = 2;
  CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(accumulator == NULL && strstr(alphareq_last_error(), "options.deterministic") != NULL);
}

static void test_bad_calls_give_status_and_message(const double* features) {
  alphareq_accumulator* accumulator = NULL;
  alphareq_report* report = NULL;
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;

  CHECK_STATUS(alphareq_accumulator_create(0, &cpu, &accumulator), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(accumulator == NULL && strstr(alphareq_last_error(), "features") != NULL);
  CHECK_STATUS(alphareq_accumulator_create(kCols, &cpu, NULL), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "NULL") != NULL);
  alphareq_accumulator_options bad = cpu;
  bad.backend = 42;
  CHECK_STATUS(alphareq_accumulator_create(kCols, &bad, &accumulator),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "backend") != NULL);

  int cuda = 0;
  CHECK_OK(alphareq_cuda_available(&cuda));
  if (!cuda) {
    alphareq_accumulator_options want_cuda = cpu;
    want_cuda.backend = ALPHAREQ_BACKEND_CUDA;
    CHECK_STATUS(alphareq_accumulator_create(kCols, &want_cuda, &accumulator),
                 ALPHAREQ_ERROR_BACKEND_UNAVAILABLE);
    CHECK(strlen(alphareq_last_error()) > 0);
  }

  CHECK_OK(alphareq_accumulator_create(kCols, &cpu, &accumulator));
  if (accumulator == NULL) return;
  CHECK_STATUS(alphareq_accumulator_report(accumulator, NULL, ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(report == NULL && strstr(alphareq_last_error(), "samples") != NULL);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 10,
                                              kCols + 1, 0, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "columns") != NULL);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, NULL, ALPHAREQ_DTYPE_FLOAT64, 10, kCols,
                                              0, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 10,
                                              kCols, kCols - 1, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, (alphareq_dtype)99, 10, kCols,
                                              0, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "dtype") != NULL);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT16, 10,
                                              kCols, 0, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 10,
                                              kCols, 0, ALPHAREQ_MEMORY_DEVICE, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);

  /* NaN: refused with its row and column, and the accumulator keeps its state. */
  double rows_with_nan[3 * kCols];
  memcpy(rows_with_nan, features, sizeof rows_with_nan);
  rows_with_nan[2 * kCols + 7] = NAN;
  CHECK_STATUS(alphareq_accumulator_add_batch(accumulator, rows_with_nan, ALPHAREQ_DTYPE_FLOAT64, 3,
                                              kCols, 0, ALPHAREQ_MEMORY_HOST, NULL),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "row") != NULL);
  int64_t count = -1;
  CHECK_OK(alphareq_accumulator_count(accumulator, &count));
  CHECK(count == 0);

  alphareq_accumulator* narrow = NULL;
  CHECK_OK(alphareq_accumulator_create(kCols - 1, &cpu, &narrow));
  CHECK_STATUS(alphareq_accumulator_merge(accumulator, narrow), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "widths") != NULL);
  CHECK_STATUS(alphareq_accumulator_merge(accumulator, NULL), ALPHAREQ_ERROR_INVALID_INPUT);

  CHECK_OK(alphareq_accumulator_add_batch(accumulator, features, ALPHAREQ_DTYPE_FLOAT64, 500, kCols,
                                          0, ALPHAREQ_MEMORY_HOST, NULL));
  alphareq_fit_options backwards = alphareq_fit_options_default();
  backwards.first_rank = 20;
  backwards.last_rank = 5;
  CHECK_STATUS(
      alphareq_accumulator_report(accumulator, &backwards, ALPHAREQ_NORMALIZE_BY_N, &report),
      ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(report == NULL);
  backwards.method = 7;
  CHECK_STATUS(
      alphareq_accumulator_report(accumulator, &backwards, ALPHAREQ_NORMALIZE_BY_N, &report),
      ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_report(accumulator, NULL, (alphareq_normalization)5, &report),
               ALPHAREQ_ERROR_INVALID_INPUT);

  CHECK_STATUS(alphareq_compute_alpha_npy("no/such/features.npy", &cpu, NULL,
                                          ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_FILE);
  CHECK(report == NULL && strstr(alphareq_last_error(), "no/such/features.npy") != NULL);
  CHECK_STATUS(alphareq_compute_alpha_npy(NULL, &cpu, NULL, ALPHAREQ_NORMALIZE_BY_N, &report),
               ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_report_get_values(NULL, NULL), ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK_STATUS(alphareq_accumulator_dim(NULL, &count), ALPHAREQ_ERROR_INVALID_INPUT);

  CHECK_OK(alphareq_accumulator_free(narrow));
  CHECK_OK(alphareq_accumulator_free(accumulator));
  CHECK_OK(alphareq_accumulator_free(NULL));
  CHECK_OK(alphareq_report_free(NULL));
  CHECK(strcmp(alphareq_status_name(ALPHAREQ_ERROR_FILE), "ALPHAREQ_ERROR_FILE") == 0);
  CHECK(strlen(alphareq_version()) >= 5);
}

int main(void) {
  double* features = malloc(sizeof(double) * kRows * kCols);
  if (features == NULL) return 1;
  make_features(features);
  test_streaming_merge_and_one_call(features);
  test_merge_state_refuses_another_width(features);
  test_report_values_against_references(features);
  test_status_names();
  test_unknown_enum_values_refused(features);
  test_failed_calls_leave_outputs_unchanged(features);
  test_npy_file_matches_memory(features);
  test_bad_calls_give_status_and_message(features);
  test_options_defaults_and_deterministic_flag(features);
  free(features);
  return checks_result("capi_test");
}
