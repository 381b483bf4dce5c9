/* pthread_cancel of a thread blocked inside the C API ends that thread, as it would inside
 * a libc call: the call reaches a cancellation point (opening a FIFO that has no writer
 * blocks in open(2)), and glibc's forced unwind must pass through the C API's exception
 * guard. Swallowed there, glibc aborts the whole process ("FATAL: exception not
 * rethrown"). POSIX only. */
#define _POSIX_C_SOURCE 200809L

#include <alphareq/alphareq.h>
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char fifo_path[4096];
static atomic_int entering_the_call = 0;

static void* read_the_fifo(void* unused) {
  alphareq_report* report = NULL;
  (void)unused;
  atomic_store(&entering_the_call, 1); /* no cancellation point between this and the call */
  alphareq_compute_alpha_npy(fifo_path, NULL, NULL, ALPHAREQ_NORMALIZE_BY_N, &report);
  /* Reached only if the call returned: nothing writes the FIFO, so it must not. */
  alphareq_report_free(report);
  return NULL;
}

int main(void) {
  const char* directory = getenv("TEST_TMPDIR");
  pthread_t thread;
  void* result = NULL;
  const struct timespec pause = {0, 200 * 1000 * 1000};
  if (directory == NULL || directory[0] == '\0') directory = ".";
  snprintf(fifo_path, sizeof fifo_path, "%s/capi_cancel_test_%ld.npy", directory, (long)getpid());
  remove(fifo_path);
  if (mkfifo(fifo_path, 0600) != 0) {
    fprintf(stderr, "capi_cancel_test: mkfifo %s: %s\n", fifo_path, strerror(errno));
    return 1;
  }
  /* A hang (the call not cancelled) fails the test instead of blocking ctest. */
  alarm(60);
  if (pthread_create(&thread, NULL, read_the_fifo, NULL) != 0) {
    fprintf(stderr, "capi_cancel_test: pthread_create failed\n");
    remove(fifo_path);
    return 1;
  }
  /* Cancel once the thread is blocked in open(2), which the pause makes all but certain;
   * cancelled earlier, the request waits for the call's first cancellation point, the same
   * open(2), so the test checks the same path either way. */
  while (!atomic_load(&entering_the_call)) nanosleep(&pause, NULL);
  nanosleep(&pause, NULL);
  pthread_cancel(thread);
  pthread_join(thread, &result);
  remove(fifo_path);
  if (result != PTHREAD_CANCELED) {
    fprintf(stderr, "capi_cancel_test: the thread was not cancelled (it returned)\n");
    return 1;
  }
  /* The library is still usable on this thread. */
  if (alphareq_accumulator_create(0, NULL, NULL) != ALPHAREQ_ERROR_INVALID_INPUT) {
    fprintf(stderr, "capi_cancel_test: a call after the cancellation misbehaved\n");
    return 1;
  }
  printf("capi_cancel_test: the thread blocked in alphareq_compute_alpha_npy was cancelled\n");
  return 0;
}
