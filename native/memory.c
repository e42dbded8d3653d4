// trimMemory(): hands the C heap's free pages back to the kernel (glibc's
// malloc_trim). glibc keeps what a burst freed, such as a pull's unpack
// workers and buffers, in its arenas; without this the daemon's RSS stays at
// its peak long after the burst.

#include "common.h"

#include <malloc.h>

// trimMemory(): boolean (whether any memory was released)
napi_value trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, malloc_trim(0) == 1, &out);
  return out;
}
