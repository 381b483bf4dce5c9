#pragma once
// ALPHAREQ_HOST_DEVICE marks a pure function that the CUDA kernels and the host code (the
// CPU backend, the CPU tests) share, so both compute the same bits from one definition.

#if defined(__CUDACC__)
#define ALPHAREQ_HOST_DEVICE __host__ __device__
#else
#define ALPHAREQ_HOST_DEVICE
#endif
