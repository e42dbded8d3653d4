// sealedCopy(path, name): a read-only, sealed in-memory copy of an executable
// (a memfd), returned as a file descriptor for the daemon to keep.
//
// crun guards against CVE-2019-5736 (a container overwriting the runtime's
// binary through /proc/self/exe) by copying or bind-mounting itself and
// executing itself a second time, at every start, unless the binary it runs
// from is already a memfd sealed against writes, growth and shrinking. Its
// own sources name this as the way to skip the second exec (~1.2 ms of each
// call here). A sealed memfd cannot be written by anyone, so the guard holds.

#include "common.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

// The exact set crun and runc test for.
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int copy_all(int to, int from, off_t size) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = sendfile(to, from, NULL, (size_t)(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break; // the file shrank meanwhile: what is there is copied
    done += n;
  }
  return 0;
}

// sealedCopy(path: string, name: string): number (the memfd, close-on-exec)
napi_value sealed_copy(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096], name[200], what[4400];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || get_string(env, argv[0], path, sizeof path) < 0 || get_string(env, argv[1], name, sizeof name) < 0) {
    napi_throw_type_error(env, NULL, "sealedCopy(path, name): two strings expected (name under 200 bytes)");
    return NULL;
  }
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    snprintf(what, sizeof what, "open %s", path);
    napi_throw(env, errno_error(env, what, errno));
    return NULL;
  }
  struct stat st;
  // Kernels before 6.3 refuse MFD_EXEC; they make every memfd executable anyway.
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  const char *step = "memfd_create";
  if (fd >= 0) {
    step = "fstat";
    if (fstat(src, &st) == 0) {
      step = "copy";
      if (copy_all(fd, src, st.st_size) == 0) {
        step = "seal";
        if (fcntl(fd, F_ADD_SEALS, SEALS) == 0) {
          close(src);
          napi_value out;
          napi_create_int32(env, fd, &out);
          return out;
        }
      }
    }
  }
  int err = errno;
  if (fd >= 0) close(fd);
  close(src);
  snprintf(what, sizeof what, "%s (sealed copy of %s)", step, path);
  napi_throw(env, errno_error(env, what, err));
  return NULL;
}
