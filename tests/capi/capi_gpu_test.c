/* The C API with device memory: a float32 batch in CUDA memory, read on the caller's
 * stream (later work on it waits for the reads), gives the α of the same values read from
 * the host, and with options.deterministic the same bits twice. Exits 77 (skipped) without
 * a CUDA device. */

#include <alphareq/alphareq.h>

#include "capi_check.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kRows = 4096, kCols = 96 };


int main(void) {
  int devices = 0;
  int available = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0 ||
      alphareq_cuda_available(&available) != ALPHAREQ_OK || !available) {
    printf("SKIPPED: no usable CUDA device\n");
    return 77;
  }
  float* host = malloc(sizeof(float) * kRows * kCols);
  uint64_t state = 7u;
  for (int i = 0; i < kRows * kCols; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const double uniform = ((double)(state >> 11) + 0.5) / 9007199254740992.0 - 0.5;
    host[i] = (float)(uniform / sqrt(1.0 + i % kCols));
  }
  float* device = NULL;
  cudaStream_t stream = NULL;
  CHECK(cudaMalloc((void**)&device, sizeof(float) * kRows * kCols) == cudaSuccess);
  CHECK(cudaStreamCreate(&stream) == cudaSuccess);
  CHECK(cudaMemcpyAsync(device, host, sizeof(float) * kRows * kCols, cudaMemcpyHostToDevice,
                        stream) == cudaSuccess);

  alphareq_accumulator_options cuda = alphareq_accumulator_options_default();
  cuda.backend = ALPHAREQ_BACKEND_CUDA;
  alphareq_accumulator_options cpu = alphareq_accumulator_options_default();
  cpu.backend = ALPHAREQ_BACKEND_CPU;
  alphareq_accumulator* accumulator = NULL;
  CHECK(alphareq_accumulator_create(kCols, &cuda, &accumulator) == ALPHAREQ_OK);
  /* Two batches, the second with a row stride of 2 · kCols (every other row). */
  CHECK(alphareq_accumulator_add_batch(accumulator, device, ALPHAREQ_DTYPE_FLOAT32, kRows / 2,
                                       kCols, 0, ALPHAREQ_MEMORY_DEVICE, stream) == ALPHAREQ_OK);
  CHECK(alphareq_accumulator_add_batch(accumulator, device + (kRows / 2) * kCols,
                                       ALPHAREQ_DTYPE_FLOAT32, kRows / 4, kCols, 2 * kCols,
                                       ALPHAREQ_MEMORY_DEVICE, stream) == ALPHAREQ_OK);
  /* The promise the C API makes: later work on `stream` waits until the batches have been
   * read. Overwriting them right away with NaN (all bits set) must change nothing. */
  CHECK(cudaMemsetAsync(device, 0xFF, sizeof(float) * kRows * kCols, stream) == cudaSuccess);
  /* A device pointer marked as host memory is refused. */
  CHECK(alphareq_accumulator_add_batch(accumulator, device, ALPHAREQ_DTYPE_FLOAT32, 2, kCols, 0,
                                       ALPHAREQ_MEMORY_HOST, NULL) == ALPHAREQ_ERROR_INVALID_INPUT);

  alphareq_accumulator* reference = NULL;
  CHECK(alphareq_accumulator_create(kCols, &cpu, &reference) == ALPHAREQ_OK);
  CHECK(alphareq_accumulator_add_batch(reference, host, ALPHAREQ_DTYPE_FLOAT32, kRows / 2, kCols, 0,
                                       ALPHAREQ_MEMORY_HOST, NULL) == ALPHAREQ_OK);
  CHECK(alphareq_accumulator_add_batch(reference, host + (kRows / 2) * kCols,
                                       ALPHAREQ_DTYPE_FLOAT32, kRows / 4, kCols, 2 * kCols,
                                       ALPHAREQ_MEMORY_HOST, NULL) == ALPHAREQ_OK);

  alphareq_fit_options fit = alphareq_fit_options_default();
  fit.first_rank = 5;
  fit.last_rank = 60;
  alphareq_report* on_device = NULL;
  alphareq_report* on_host = NULL;
  CHECK(alphareq_accumulator_report(accumulator, &fit, ALPHAREQ_NORMALIZE_BY_N, &on_device) ==
        ALPHAREQ_OK);
  CHECK(alphareq_accumulator_report(reference, &fit, ALPHAREQ_NORMALIZE_BY_N, &on_host) ==
        ALPHAREQ_OK);
  if (on_device != NULL && on_host != NULL) {
    alphareq_report_values d, h;
    CHECK(alphareq_report_get_values(on_device, &d) == ALPHAREQ_OK);
    CHECK(alphareq_report_get_values(on_host, &h) == ALPHAREQ_OK);
    CHECK(d.n == 3 * kRows / 4 && h.n == d.n);
    CHECK(fabs(d.alpha - h.alpha) <= 1e-9 * fmax(1.0, fabs(h.alpha)));
    const char* backend = NULL;
    alphareq_report_backend(on_device, &backend);
    CHECK(backend != NULL && strcmp(backend, "cuda") == 0);
    printf("alpha: device %.12f, host %.12f\n", d.alpha, h.alpha);
  }
  alphareq_report_free(on_device);
  alphareq_report_free(on_host);

  /* options.deterministic = 1: the same device batch twice gives the same bits. */
  CHECK(cudaMemcpyAsync(device, host, sizeof(float) * kRows * kCols, cudaMemcpyHostToDevice,
                        stream) == cudaSuccess);
  alphareq_accumulator_options deterministic = cuda;
  deterministic.deterministic = 1;
  double alphas[2] = {0.0, 1.0};
  for (int run = 0; run < 2; ++run) {
    alphareq_report* report = NULL;
    CHECK(alphareq_compute_alpha(device, ALPHAREQ_DTYPE_FLOAT32, kRows, kCols, 0,
                                 ALPHAREQ_MEMORY_DEVICE, stream, &deterministic, &fit,
                                 ALPHAREQ_NORMALIZE_BY_N, &report) == ALPHAREQ_OK);
    if (report != NULL) {
      alphareq_report_values values;
      CHECK(alphareq_report_get_values(report, &values) == ALPHAREQ_OK);
      alphas[run] = values.alpha;
    }
    alphareq_report_free(report);
  }
  CHECK(memcmp(&alphas[0], &alphas[1], sizeof(double)) == 0);
  alphareq_accumulator_free(accumulator);
  alphareq_accumulator_free(reference);
  cudaStreamDestroy(stream);
  cudaFree(device);
  free(host);
  return checks_result("capi_gpu_test");
}
