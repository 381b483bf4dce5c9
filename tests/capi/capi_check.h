/* The checks of the C API test programs: a failed check prints where, what and
 * alphareq_last_error(), and the program goes on (one run reports every failure). Each
 * program is one translation unit, so the counters are its own. */
#ifndef ALPHAREQ_TESTS_CAPI_CHECK_H
#define ALPHAREQ_TESTS_CAPI_CHECK_H

#include <alphareq/alphareq.h>
#include <stdio.h>

static int checks_passed = 0;
static int checks_failed = 0; /* threads: written by one at a time (joined in between) */

#define CHECK(condition)                                                                \
  do {                                                                                  \
    if (condition) {                                                                    \
      ++checks_passed;                                                                  \
    } else {                                                                            \
      ++checks_failed;                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
              #condition, alphareq_last_error());                                       \
    }                                                                                   \
  } while (0)

#define CHECK_OK(call) CHECK((call) == ALPHAREQ_OK)
#define CHECK_STATUS(call, expected) CHECK((call) == (expected))

/* Prints the tally under `program`'s name; the exit status: 0 when every check passed. */
static int checks_result(const char* program) {
  printf("%s: %d checks passed, %d failed\n", program, checks_passed, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

#endif
