// The global operator new and delete of capi_oom_test, replaced (as the C++ standard lets
// a program do) so that the test can make every allocation fail while
// capi_test_fail_operator_new is nonzero: the C API's handling of std::bad_alloc, down to
// storing its own message, runs without exhausting the machine's memory.
#include <cstdlib>
#include <new>

extern "C" {
int capi_test_fail_operator_new = 0;
}

void* operator new(std::size_t size) {
  if (capi_test_fail_operator_new != 0) throw std::bad_alloc();
  if (void* pointer = std::malloc(size != 0 ? size : 1)) return pointer;
  throw std::bad_alloc();
}

void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { std::free(pointer); }
