# Installs the build tree into a fresh prefix, then configures, builds and runs a
# downstream project (PROJECT_DIR, producing EXECUTABLE) against that prefix only.
# C consumers get the C++ flags too: they are the sanitizer flags of the sanitised
# builds, which a C link of the sanitised static library needs as much as a C++ one.
# Run by CTest with -P. An exit status of 77 from the program means "skipped" (no GPU, or
# no BLAS of the project's own): its output, with the reason, is printed and the test is
# marked skipped by its SKIP_REGULAR_EXPRESSION.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

run_step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
# CUDA_ARCHITECTURES is a list ("75-real;80-real;90"): run_step's ${ARGN} would split it into
# separate arguments, and cmake would build for the first architecture only (sm_75 code,
# which an H100 cannot run). Escaped, it stays one argument and reaches the project whole.
string(REPLACE ";" "\\;" cuda_architectures "${CUDA_ARCHITECTURES}")
run_step(${CMAKE_COMMAND} -S "${PROJECT_DIR}" -B "${WORK_DIR}/build"
         -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix}
         "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_C_FLAGS=${CXX_FLAGS}"
         "-DCMAKE_CUDA_ARCHITECTURES=${cuda_architectures}" --no-warn-unused-cli)
run_step(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
execute_process(COMMAND "${WORK_DIR}/build/${EXECUTABLE}" RESULT_VARIABLE status
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(status EQUAL 77)
  message("SKIPPED: ${EXECUTABLE} exited 77 (its reason is above)")
elseif(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} failed with status ${status}")
endif()
