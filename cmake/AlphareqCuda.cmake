# Decides whether the CUDA backend is built. Sets ALPHAREQ_CUDA_ENABLED.
# AUTO: enabled when a CUDA compiler and toolkit are found; ON: required; OFF: never.
set(ALPHAREQ_CUDA_ENABLED OFF)
if(NOT ALPHAREQ_WITH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND)
    # The CUDA backend itself lands with its own issue; until then the toolkit is only
    # detected, so that the switch and the messages are in place.
    message(STATUS "alphareq: CUDA toolkit ${CUDAToolkit_VERSION} found; "
                   "the CUDA backend is not part of this build yet")
  elseif(ALPHAREQ_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ALPHAREQ_WITH_CUDA=ON but no CUDA compiler/toolkit was found")
  else()
    message(STATUS "alphareq: no CUDA toolkit found, building the CPU backend only")
  endif()
endif()
