#pragma once
/// @file error.hpp
/// Exception types thrown by alphareq. Every error alphareq raises derives from
/// alphareq::error, so `catch (const alphareq::error&)` catches them all.

#include <stdexcept>
#include <string>

namespace alphareq {

/// Base class of every exception thrown by alphareq.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The caller passed something alphareq cannot use: a wrong shape or dtype, NaN/Inf in the
/// features, too few samples, an impossible fit window. The message says what and where.
/// The object the call was made on is left as it was before the call.
class invalid_input : public error {
 public:
  using error::error;
};

/// A file could not be read or written, or is not what it claims to be (a corrupt or
/// truncated .npy file, say). The message names the file and the problem.
class file_error : public invalid_input {
 public:
  using invalid_input::invalid_input;
};

/// A backend was asked for that this build or this machine cannot provide
/// (`Backend::cuda` without a CUDA build or without a device).
class backend_unavailable : public error {
 public:
  using error::error;
};

/// Memory for the covariance (or a workspace) could not be allocated; the message says how
/// many bytes were needed and where (host or device).
class out_of_memory : public error {
 public:
  using error::error;
};

/// A CUDA runtime, cuBLAS or cuSOLVER call failed. The message names the call, the status
/// (e.g. CUBLAS_STATUS_NOT_SUPPORTED) and the source location.
class cuda_error : public error {
 public:
  using error::error;
};

/// A numerical routine failed (the eigensolver did not converge, say). The message names
/// the routine and its status.
class numerical_error : public error {
 public:
  using error::error;
};

}  // namespace alphareq
