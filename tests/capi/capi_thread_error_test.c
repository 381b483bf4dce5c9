/* alphareq_last_error() is per thread: a thread sees neither the message of another
 * thread's failure nor has its own overwritten by one. POSIX threads (the rest of
 * capi_test is plain C11 and has none). */
#define _POSIX_C_SOURCE 200809L

#include <alphareq/alphareq.h>

#include "capi_check.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>



static void* fail_on_another_thread(void* unused) {
  alphareq_accumulator* accumulator = NULL;
  (void)unused;
  /* The main thread has failed already; this thread has not. */
  CHECK(strcmp(alphareq_last_error(), "") == 0);
  CHECK(alphareq_accumulator_create(0, NULL, &accumulator) == ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "features") != NULL);
  return NULL;
}

int main(void) {
  pthread_t thread;
  CHECK(alphareq_accumulator_create(4, NULL, NULL) == ALPHAREQ_ERROR_INVALID_INPUT);
  CHECK(strstr(alphareq_last_error(), "out is NULL") != NULL);
  if (pthread_create(&thread, NULL, fail_on_another_thread, NULL) != 0) {
    fprintf(stderr, "capi_thread_error_test: pthread_create failed\n");
    return 1;
  }
  pthread_join(thread, NULL);
  /* The other thread's failure left this thread's message as it was. */
  CHECK(strstr(alphareq_last_error(), "out is NULL") != NULL);
  return checks_result("capi_thread_error_test");
}
