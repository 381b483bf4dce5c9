/* alphareq_last_error() after a failure for want of host memory describes that failure,
 * not an earlier one: the std::bad_alloc is turned into ALPHAREQ_ERROR_OUT_OF_MEMORY, and
 * storing its message needs memory too. Every operator new fails while
 * capi_test_fail_operator_new is set (failing_operator_new.cpp). */

#include <alphareq/alphareq.h>

#include "capi_check.h"

#include <stdio.h>
#include <string.h>

extern int capi_test_fail_operator_new;



int main(void) {
  alphareq_accumulator* accumulator = NULL;
  /* An earlier failure, whose message ("out is NULL") fits the string's inline buffer, so
   * that storing the longer one below must allocate. */
  CHECK(alphareq_accumulator_create(4, NULL, NULL) == ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "out is NULL") != NULL);

  capi_test_fail_operator_new = 1;
  const alphareq_status status = alphareq_accumulator_create(4, NULL, &accumulator);
  capi_test_fail_operator_new = 0;
  CHECK(status == ALPHAREQ_ERROR_OUT_OF_MEMORY);
  CHECK(accumulator == NULL);
  CHECK(strstr(alphareq_last_error(), "out is NULL") == NULL);
  CHECK(strstr(alphareq_last_error(), "memory") != NULL);

  /* The next message stored replaces the fixed text. */
  CHECK(alphareq_accumulator_create(0, NULL, &accumulator) == ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "features") != NULL);
  CHECK(strstr(alphareq_last_error(), "no memory was left") == NULL);

  return checks_result("capi_oom_test");
}
