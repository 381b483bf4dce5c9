/* Links the installed alphareq from plain C and checks that alpha of seeded features with
 * a known power-law spectrum comes out, and that a refused call says why. */
#include <alphareq/alphareq.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Uniform in (0, 1) from a 64-bit linear congruential generator (fixed seed). */
static double uniform(unsigned long long* state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return ((double)(*state >> 11) + 0.5) / 9007199254740992.0;
}

int main(void) {
  const int64_t n = 5000, d = 128;
  const double pi = 3.14159265358979323846;
  unsigned long long state = 42;
  alphareq_accumulator* accumulator = NULL;
  alphareq_report* report = NULL;
  alphareq_report_values values;
  int64_t i, j;
  double* x = malloc(sizeof(double) * (size_t)(n * d));
  if (x == NULL) return 1;
  /* Independent Gaussian features with variance (j + 1)^-1: the population alpha is 1. */
  for (i = 0; i < n; ++i) {
    for (j = 0; j < d; ++j) {
      const double gaussian = sqrt(-2.0 * log(uniform(&state))) * cos(2.0 * pi * uniform(&state));
      x[i * d + j] = gaussian / sqrt((double)(j + 1));
    }
  }
  if (alphareq_accumulator_create(d, NULL, &accumulator) != ALPHAREQ_OK ||
      alphareq_accumulator_add_batch(accumulator, x, ALPHAREQ_DTYPE_FLOAT64, n / 2, d, 0,
                                     ALPHAREQ_MEMORY_HOST, NULL) != ALPHAREQ_OK ||
      alphareq_accumulator_add_batch(accumulator, x + (n / 2) * d, ALPHAREQ_DTYPE_FLOAT64, n - n / 2,
                                     d, 0, ALPHAREQ_MEMORY_HOST, NULL) != ALPHAREQ_OK ||
      alphareq_accumulator_report(accumulator, NULL, ALPHAREQ_NORMALIZE_BY_N, &report) != ALPHAREQ_OK ||
      alphareq_report_get_values(report, &values) != ALPHAREQ_OK) {
    fprintf(stderr, "c_consumer: %s\n", alphareq_last_error());
    return 1;
  }
  printf("c_consumer: alphareq %s, alpha = %.4f (true 1.0), R^2 = %.4f\n", alphareq_version(),
         values.alpha, values.r2);
  /* A batch of the wrong width is refused with a message, and the state is unchanged. */
  if (alphareq_accumulator_add_batch(accumulator, x, ALPHAREQ_DTYPE_FLOAT64, 10, d - 1, 0,
                                     ALPHAREQ_MEMORY_HOST, NULL) != ALPHAREQ_ERROR_INVALID_INPUT ||
      alphareq_last_error()[0] == '\0') {
    fprintf(stderr, "c_consumer: a batch of the wrong width was not refused\n");
    return 1;
  }
  {
    int64_t count = -1;
    if (alphareq_accumulator_count(accumulator, &count) != ALPHAREQ_OK || count != n) {
      fprintf(stderr, "c_consumer: after the refused batch the count is %lld, not %lld\n",
              (long long)count, (long long)n);
      return 1;
    }
  }
  alphareq_report_free(report);
  alphareq_accumulator_free(accumulator);
  free(x);
  return fabs(values.alpha - 1.0) < 0.05 ? 0 : 1;
}
