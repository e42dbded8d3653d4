// trimMemory(): hands the C heap's free pages back to the kernel (glibc's
// malloc_trim), on libuv's thread pool: it walks every arena, ~0.5 ms after
// a pull, which the event loop need not wait for. glibc keeps what a burst
// freed, such as a pull's unpack workers and buffers, in its arenas; without
// this the daemon's RSS stays at its peak long after the burst.

#include "common.h"

#include <malloc.h>

static void run(void *arg) {
  (void)arg;
  malloc_trim(0);
}

static napi_value done(napi_env env, void *arg) {
  (void)env;
  (void)arg;
  return NULL;
}

// trimMemory(): Promise<void>
napi_value trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  return run_on_pool(env, "skiff:trimMemory", run, done, NULL);
}
