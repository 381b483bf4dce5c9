#ifndef ALPHAREQ_ALPHAREQ_H
#define ALPHAREQ_ALPHAREQ_H
/**
 * @file alphareq.h
 * The C API of alphareq: the streaming covariance accumulator and the α report behind
 * opaque handles, for C programs and foreign-function interfaces.
 *
 * Conventions:
 * - Every function that can fail returns an alphareq_status; ALPHAREQ_OK (0) is success.
 *   On failure, alphareq_last_error() gives a message that says what went wrong (the same
 *   text the C++ exception carried), and output arguments are left unchanged.
 * - No C++ exception crosses this interface: each one is caught and turned into a status.
 *   Thread cancellation is no error: a call blocked at a cancellation point (reading a
 *   file) may be cancelled with pthread_cancel, and the thread ends as with any libc call.
 * - Handles are created by *_create / *_report / alphareq_compute_alpha* and released by
 *   the matching *_free, which accepts NULL.
 * - Threads: distinct handles may be used from different threads at once; one handle must
 *   not be used from two threads at once. The last error message is per thread.
 * - Enumerations passed by value have a *_MAX_ENUM member that is no value but makes every
 *   int32 a valid value of the type: an unknown value is refused with INVALID_INPUT.
 * - Streams: `stream` arguments are cudaStream_t values passed as void*; NULL is the
 *   legacy default stream. They are ignored for host memory.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every fallible call. The codes follow the C++ exception types. */
typedef enum alphareq_status {
  ALPHAREQ_OK = 0,
  /** A bad argument: NULL handle or output, wrong shape, width, dtype or memory space,
   *  NaN/Inf in the features, too few samples, an unusable fit window. */
  ALPHAREQ_ERROR_INVALID_INPUT = 1,
  /** A file could not be read, or is not a valid .npy file of features. */
  ALPHAREQ_ERROR_FILE = 2,
  /** The CUDA backend was asked for where this build or machine has none. */
  ALPHAREQ_ERROR_BACKEND_UNAVAILABLE = 3,
  /** Host or device memory could not be allocated; the message gives the bytes. */
  ALPHAREQ_ERROR_OUT_OF_MEMORY = 4,
  /** A CUDA runtime, cuBLAS or cuSOLVER call failed; the message names the call. */
  ALPHAREQ_ERROR_CUDA = 5,
  /** A numerical routine failed (the eigensolver did not converge, say). */
  ALPHAREQ_ERROR_NUMERICAL = 6,
  /** Anything else (a bug): the message says what was caught. */
  ALPHAREQ_ERROR_INTERNAL = 7,
  ALPHAREQ_STATUS_MAX_ENUM = 0x7FFFFFFF /**< not a status: keeps the type 32-bit */
} alphareq_status;

/** Element type of a batch. Host batches: float32 or float64; device batches: all four. */
typedef enum alphareq_dtype {
  ALPHAREQ_DTYPE_FLOAT16 = 0,
  ALPHAREQ_DTYPE_BFLOAT16 = 1,
  ALPHAREQ_DTYPE_FLOAT32 = 2,
  ALPHAREQ_DTYPE_FLOAT64 = 3,
  ALPHAREQ_DTYPE_MAX_ENUM = 0x7FFFFFFF /**< not a dtype: keeps any int32 a valid value */
} alphareq_dtype;

/** Where a batch's memory lives. Device memory is accepted by the CUDA backend only. */
typedef enum alphareq_memory_space {
  ALPHAREQ_MEMORY_HOST = 0,
  ALPHAREQ_MEMORY_DEVICE = 1,
  ALPHAREQ_MEMORY_MAX_ENUM = 0x7FFFFFFF /**< not a memory space */
} alphareq_memory_space;

/** Which implementation does the work. AUTO: CUDA when a device is present, else the CPU. */
typedef enum alphareq_backend {
  ALPHAREQ_BACKEND_AUTO = 0,
  ALPHAREQ_BACKEND_CPU = 1,
  ALPHAREQ_BACKEND_CUDA = 2,
  ALPHAREQ_BACKEND_MAX_ENUM = 0x7FFFFFFF /**< not a backend */
} alphareq_backend;

/** Precision of each batch's product (the running sum is float64 always). */
typedef enum alphareq_precision {
  ALPHAREQ_PRECISION_FLOAT64 = 0, /**< exact to float64 rounding (default) */
  ALPHAREQ_PRECISION_FLOAT32 = 1, /**< float32 products, summed in float64 */
  ALPHAREQ_PRECISION_TF32 = 2     /**< CUDA tensor cores; the CPU treats it as float32 */
} alphareq_precision;

/** Precision of the eigensolver. */
typedef enum alphareq_solver_precision {
  ALPHAREQ_SOLVER_FLOAT64 = 0, /**< default */
  ALPHAREQ_SOLVER_FLOAT32 = 1  /**< CUDA only; the CPU uses float64 */
} alphareq_solver_precision;

/** How the power law λ_i ∝ i^(−α) is fitted to (log i, log λ_i). */
typedef enum alphareq_fit_method {
  ALPHAREQ_FIT_WEIGHTED = 0, /**< least squares with weight 1/i (the authors' fit; default) */
  ALPHAREQ_FIT_OLS = 1       /**< ordinary least squares */
} alphareq_fit_method;

/** Normalisation of the covariance. */
typedef enum alphareq_normalization {
  ALPHAREQ_NORMALIZE_BY_N = 0, /**< (1/n) Σ (x − μ)(x − μ)ᵀ, the paper's (default) */
  ALPHAREQ_NORMALIZE_BY_N_MINUS_ONE = 1,   /**< the unbiased sample covariance */
  ALPHAREQ_NORMALIZE_MAX_ENUM = 0x7FFFFFFF /**< not a normalisation */
} alphareq_normalization;

/** Options of an accumulator. Start from alphareq_accumulator_options_default(). */
typedef struct alphareq_accumulator_options {
  int32_t backend;   /**< alphareq_backend */
  int32_t precision; /**< alphareq_precision */
  int32_t solver;    /**< alphareq_solver_precision */
  int32_t device;    /**< CUDA device ordinal; -1: the device current on the calling thread */
  /** 1: bit-identical results run to run on the CUDA backend too (same input, options, GPU
   *  model, driver and toolkit), even beside other work on the device; costs one 32 MiB
   *  cuBLAS workspace per accumulator (see AccumulatorOptions::deterministic). The CPU
   *  backend is deterministic always, for a fixed OpenBLAS thread count. 0 (default) or 1. */
  int32_t deterministic;
} alphareq_accumulator_options;

/** The window and method of the fit. Start from alphareq_fit_options_default(). */
typedef struct alphareq_fit_options {
  int32_t method;     /**< alphareq_fit_method */
  int64_t first_rank; /**< first 1-based rank of the window (default 11) */
  int64_t last_rank;  /**< last 1-based rank (default 100); clipped to the numerical rank */
} alphareq_fit_options;

/** The scalar results of a report. Eigenvalues, residuals and strings have their own
 *  accessors. Times are wall-clock milliseconds. */
typedef struct alphareq_report_values {
  int64_t n;        /**< samples */
  int64_t d;        /**< features */
  double alpha;     /**< decay coefficient α = −slope of log λ_i against log i */
  double intercept; /**< log λ at rank 1 of the fitted line (natural log) */
  double r2;        /**< coefficient of determination on the window, with the fit's weights */
  int32_t method;   /**< alphareq_fit_method used */
  int32_t clipped;  /**< 1 when the window was shortened to rank_limit (see clip reason) */
  int64_t first_rank, last_rank;                     /**< window used (1-based, inclusive) */
  int64_t requested_first_rank, requested_last_rank; /**< window asked for */
  int64_t rank_limit; /**< min(n − 1, D, eigenvalues above λ_1·D·ε) */
  double accumulate_ms, eigenvalues_ms, fit_ms, total_ms;
} alphareq_report_values;

/** Streaming covariance accumulator (see alphareq::CovarianceAccumulator). */
typedef struct alphareq_accumulator alphareq_accumulator;
/** Eigenvalues, fit and timings of one accumulator state (see alphareq::AlphaReport). */
typedef struct alphareq_report alphareq_report;

/** Message of the most recent failed call on this thread; "" if none failed yet. Valid
 *  until the next failing call on this thread. Never NULL. Where no memory was left to
 *  store a failure's message, a fixed text naming its kind of failure (never the message
 *  of an earlier call). */
const char* alphareq_last_error(void);
/** "ALPHAREQ_OK", "ALPHAREQ_ERROR_INVALID_INPUT", ...; "unknown status" otherwise. */
const char* alphareq_status_name(alphareq_status status);
/** "major.minor.patch" of the linked library. */
const char* alphareq_version(void);

/** Writes 1 to *available when the CUDA backend is built in and a device can be used,
 *  else 0. */
alphareq_status alphareq_cuda_available(int* available);

/** The defaults: AUTO backend, float64 products and solver, current device. */
alphareq_accumulator_options alphareq_accumulator_options_default(void);
/** The defaults: weighted fit over ranks 11..100. */
alphareq_fit_options alphareq_fit_options_default(void);

/** Creates an empty accumulator of `dim` features. options may be NULL (the defaults).
 *  Fails with INVALID_INPUT (dim < 1, an unknown enum value), BACKEND_UNAVAILABLE or
 *  OUT_OF_MEMORY (the D×D state; the message gives the bytes). */
alphareq_status alphareq_accumulator_create(int64_t dim,
                                            const alphareq_accumulator_options* options,
                                            alphareq_accumulator** out);

/** Releases an accumulator (NULL is fine). Waits for its queued device work. */
alphareq_status alphareq_accumulator_free(alphareq_accumulator* accumulator);

/** Adds `rows` samples of `cols` features, row-major, row i at element i·row_stride
 *  (row_stride 0 means cols). Host memory may be reused when the call returns. Device
 *  memory is read in the order of `stream` (a cudaStream_t, of any device; NULL is the
 *  legacy default stream of the accumulator's device, so managed memory written by another
 *  device's default stream must be synchronised first), and later work on `stream` waits until the
 *  accumulator has read it. Fails with INVALID_INPUT (bad view, a width other than the
 *  accumulator's, dtype or memory space not accepted) and leaves the accumulator as it was.
 *  NaN/Inf (the message gives the row and column), and features whose covariance would
 *  overflow float64 (beyond about 1e150): the CPU backend fails here with INVALID_INPUT and
 *  keeps its state; the CUDA backend finds them on the device after this call returned OK,
 *  and fails the next report or state of this accumulator, and a merge from it, with that
 *  message: it gives no results from then on. */
alphareq_status alphareq_accumulator_add_batch(alphareq_accumulator* accumulator, const void* data,
                                               alphareq_dtype dtype, int64_t rows, int64_t cols,
                                               int64_t row_stride, alphareq_memory_space space,
                                               void* stream);

/** Adds every sample of `other` (same width, any backend) to `into`; `other` is unchanged. */
alphareq_status alphareq_accumulator_merge(alphareq_accumulator* into,
                                           const alphareq_accumulator* other);

/** The accumulator's float64 state, for another process to merge (data-parallel workers;
 *  see alphareq::AccumulatorState): the sample count to *count, the D per-feature means to
 *  `mean` (D doubles) and the centred second moment Σ (x − μ)(x − μ)ᵀ to `m2` (D·D doubles,
 *  column-major; its upper triangle, row <= column, is what counts), and to
 *  *float32_rounded 1 when some of it was summed from float32/TF32 products (pass it on to
 *  alphareq_accumulator_merge_state with D as its dim), else 0. The caller allocates both
 *  arrays for `dim` features (alphareq_accumulator_dim gives D): a dim other than the
 *  accumulator's D fails with INVALID_INPUT before anything is written. */
alphareq_status alphareq_accumulator_state(const alphareq_accumulator* accumulator, int64_t dim,
                                           int64_t* count, double* mean, double* m2,
                                           int* float32_rounded);

/** Adds the samples a state summarises (as alphareq_accumulator_state writes it, in this
 *  process or another), as merge does. `dim` is the state's number of features, which
 *  must be the accumulator's: `mean` holds dim doubles and `m2` dim·dim (column-major; its
 *  lower triangle is not read). Another dim is refused before either array is read, so a
 *  sender of another width cannot make this read past its arrays. float32_rounded
 *  (0 or 1, as the state gave it): 1 makes `into` judge numerical zeros with float32's ε
 *  from then on, as the float32/TF32 sender did (its rounding is not rank); a state of 0
 *  samples changes nothing, the flag included. Fails with INVALID_INPUT (a dim other than
 *  the accumulator's, NULL arrays, a float32_rounded other than 0 or 1, a negative count,
 *  NaN/Inf, a nonzero m2 for a count of 0 or 1, a nonzero mean for 0, or a matrix grossly
 *  no covariance: a variance below −1 % of the largest, an off-diagonal value above
 *  2·sqrt(m2[r,r]·m2[c,c]) plus 1 % of the largest variance) and leaves the accumulator as
 *  it was. */
alphareq_status alphareq_accumulator_merge_state(alphareq_accumulator* into, int64_t dim,
                                                 int64_t count, const double* mean,
                                                 const double* m2, int float32_rounded);

/** Number of features D. */
alphareq_status alphareq_accumulator_dim(const alphareq_accumulator* accumulator, int64_t* out);
/** Number of samples added so far. */
alphareq_status alphareq_accumulator_count(const alphareq_accumulator* accumulator, int64_t* out);
/** The backend doing the work (never AUTO). */
alphareq_status alphareq_accumulator_backend(const alphareq_accumulator* accumulator,
                                             alphareq_backend* out);

/** Eigenvalues, fit and timings of the current state; `fit` may be NULL (the defaults).
 *  The accumulator may keep receiving batches afterwards. Fails with INVALID_INPUT when
 *  fewer than 2 samples were added, the window is unusable, or (CUDA backend) a batch held
 *  NaN/Inf or overflowing values (see alphareq_accumulator_add_batch). */
alphareq_status alphareq_accumulator_report(const alphareq_accumulator* accumulator,
                                            const alphareq_fit_options* fit,
                                            alphareq_normalization normalization,
                                            alphareq_report** out);

/** One call from a whole matrix to its report (an accumulator created, fed and released
 *  inside). options and fit may be NULL. */
alphareq_status alphareq_compute_alpha(const void* data, alphareq_dtype dtype, int64_t rows,
                                       int64_t cols, int64_t row_stride,
                                       alphareq_memory_space space, void* stream,
                                       const alphareq_accumulator_options* options,
                                       const alphareq_fit_options* fit,
                                       alphareq_normalization normalization, alphareq_report** out);

/** The report of a float32/float64 .npy file (n × D, or N-D read as n × rest), streamed in
 *  chunks as the command-line tool reads it. Fails with FILE for an unreadable or invalid
 *  file, including one whose shape holds no features (1-D, a zero dimension, one row),
 *  where alphareq_compute_alpha says INVALID_INPUT of the same array in memory (the
 *  message starts with the path). */
alphareq_status alphareq_compute_alpha_npy(const char* path,
                                           const alphareq_accumulator_options* options,
                                           const alphareq_fit_options* fit,
                                           alphareq_normalization normalization,
                                           alphareq_report** out);

/** Releases a report (NULL is fine). */
alphareq_status alphareq_report_free(alphareq_report* report);

/** Copies the scalar results into *out. */
alphareq_status alphareq_report_get_values(const alphareq_report* report,
                                           alphareq_report_values* out);

/** All D eigenvalues, descending, float64: *values points into the report (valid until
 *  it is freed), *count is D. */
alphareq_status alphareq_report_eigenvalues(const alphareq_report* report, const double** values,
                                            int64_t* count);

/** log λ_i − fitted value for each rank of the window, first rank first; as above. */
alphareq_status alphareq_report_residuals(const alphareq_report* report, const double** values,
                                          int64_t* count);

/** "cpu" or "cuda": the backend that did the work. Valid until the report is freed. */
alphareq_status alphareq_report_backend(const alphareq_report* report, const char** name);

/** Why the window was clipped ("" when it was not). Valid until the report is freed. */
alphareq_status alphareq_report_clip_reason(const alphareq_report* report, const char** reason);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ALPHAREQ_ALPHAREQ_H */
