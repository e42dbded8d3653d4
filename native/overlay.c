// mountOverlay() mounts a rootfs whose lowerdirs are relative to a directory:
// the mount runs on a thread with a cwd of its own (unshare(CLONE_FS)), so the
// daemon's cwd is untouched and no mount(8) is started.

#include "common.h"

#include <sched.h>
#include <sys/mount.h>

struct overlay_mount {
  const char *cwd;
  const char *options;
  const char *target;
  int err;
  const char *step;
};

static void *overlay_main(void *arg) {
  struct overlay_mount *m = arg;
  // A cwd of this thread's own, for the relative lowerdirs.
  if (unshare(CLONE_FS) < 0) {
    m->err = errno;
    m->step = "unshare(CLONE_FS)";
    return NULL;
  }
  if (chdir(m->cwd) < 0) {
    m->err = errno;
    m->step = "chdir to the snapshots directory";
    return NULL;
  }
  if (mount("overlay", m->target, "overlay", 0, m->options) < 0) {
    m->err = errno;
    m->step = "mount overlay";
  }
  return NULL;
}

// mountOverlay(cwd: string, options: string, target: string): void
napi_value mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char cwd[4096], options[8192], target[4096];
  if (argc < 3 || get_string(env, argv[0], cwd, sizeof cwd) < 0 || get_string(env, argv[1], options, sizeof options) < 0 ||
      get_string(env, argv[2], target, sizeof target) < 0) {
    napi_throw_type_error(env, NULL, "mountOverlay(cwd, options, target): three strings");
    return NULL;
  }
  struct overlay_mount m = {.cwd = cwd, .options = options, .target = target, .err = 0, .step = NULL};
  int rc = run_on_own_thread(overlay_main, &m);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
  if (m.err) {
    char what[4200];
    snprintf(what, sizeof what, "%s on %s", m.step, target);
    return throw_errno(env, what, m.err);
  }
  return NULL;
}

