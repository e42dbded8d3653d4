// mount(2) and umount2(2) off the event loop, on libuv's thread pool, and
// without mount(8)/umount(8): a pod's shm tmpfs, overlay rootfs mounts and
// every unmount. An overlay whose lowerdirs are relative to a directory is
// mounted from a thread of its own with its own cwd (unshare(CLONE_FS)), so
// neither the daemon's cwd nor a pool thread's is changed.

#include "common.h"

#include <sched.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>

struct mount_work {
  int unmount; // 1: umount2(target, flags); 0: mount(...)
  char *source, *target, *fstype, *data, *cwd;
  char **mkdirs; // made (mode 0755, parents first, existing ones kept) before mounting; NULL: none
  unsigned long flags;
  int err;
  char what[8400]; // set with err: the step that failed, for the message
};

static void failed(struct mount_work *w, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  w->err = err;
  vsnprintf(w->what, sizeof w->what, fmt, ap);
  va_end(ap);
}

static void *mount_in_cwd(void *arg) {
  struct mount_work *w = arg;
  if (unshare(CLONE_FS) < 0) {
    failed(w, errno, "unshare(CLONE_FS) to mount %s", w->target);
  } else if (chdir(w->cwd) < 0) {
    failed(w, errno, "chdir to %s to mount %s", w->cwd, w->target);
  } else if (mount(w->source, w->target, w->fstype, w->flags, w->data) < 0) {
    failed(w, errno, "mount %s", w->target);
  }
  return NULL;
}

static void run(void *arg) {
  struct mount_work *w = arg;
  for (char **d = w->mkdirs; d && *d; d++) {
    if (mkdir(*d, 0755) < 0 && errno != EEXIST) {
      failed(w, errno, "make the directory %s to mount %s", *d, w->target);
      return;
    }
  }
  if (w->unmount) {
    if (umount2(w->target, (int)w->flags) < 0) failed(w, errno, "unmount %s", w->target);
  } else if (w->cwd) {
    int rc = run_on_own_thread(mount_in_cwd, w);
    if (rc != 0) failed(w, rc, "pthread_create to mount %s", w->target);
  } else if (mount(w->source, w->target, w->fstype, w->flags, w->data) < 0) {
    failed(w, errno, "mount %s", w->target);
  }
}

static void free_work(struct mount_work *w) {
  free(w->source);
  free(w->target);
  free(w->fstype);
  free(w->data);
  free(w->cwd);
  free_strings(w->mkdirs);
  free(w);
}

static napi_value done(napi_env env, void *arg) {
  struct mount_work *w = arg;
  napi_value error = w->err ? errno_error(env, w->what, w->err) : NULL;
  free_work(w);
  return error;
}

// A string argument, or NULL for null/undefined; *bad set for anything else.
static char *string_or_null(napi_env env, napi_value v, int *bad) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) {
    *bad = 1;
    return NULL;
  }
  if (t == napi_null || t == napi_undefined) return NULL;
  if (t != napi_string) {
    *bad = 1;
    return NULL;
  }
  char *s = dup_string(env, v);
  if (!s) *bad = 1;
  return s;
}

// Queues w, or throws the usage (and frees w) when its arguments were bad.
static napi_value queue_or_throw(napi_env env, struct mount_work *w, int bad, double flags, const char *usage) {
  if (bad || flags < 0) {
    free_work(w);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  w->flags = (unsigned long)flags;
  return run_on_pool(env, w->unmount ? "skiff:unmount" : "skiff:mount", run, done, w);
}

// mount(source, target, fstype, flags, data | null, cwd | null, mkdirs | null): Promise<void>
napi_value mount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct mount_work *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "mount", ENOMEM);
  int bad = argc < 6;
  double flags = 0;
  if (!bad) {
    w->source = string_or_null(env, argv[0], &bad);
    w->target = string_or_null(env, argv[1], &bad);
    w->fstype = string_or_null(env, argv[2], &bad);
    bad |= napi_get_value_double(env, argv[3], &flags) != napi_ok;
    w->data = string_or_null(env, argv[4], &bad);
    w->cwd = string_or_null(env, argv[5], &bad);
    napi_valuetype t = napi_undefined;
    if (argc >= 7) napi_typeof(env, argv[6], &t);
    if (t != napi_undefined && t != napi_null) {
      w->mkdirs = string_array(env, argv[6], NULL);
      bad |= !w->mkdirs;
    }
  }
  return queue_or_throw(env, w, bad || !w->source || !w->target || !w->fstype, flags, "mount(source, target, fstype, flags, data | null, cwd | null, mkdirs | null)");
}

// unmount(target, flags): Promise<void>; rejects with code EINVAL when target is not a mount point.
napi_value unmount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct mount_work *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "unmount", ENOMEM);
  w->unmount = 1;
  int bad = argc < 2;
  double flags = 0;
  if (!bad) {
    w->target = string_or_null(env, argv[0], &bad);
    bad |= napi_get_value_double(env, argv[1], &flags) != napi_ok;
  }
  return queue_or_throw(env, w, bad || !w->target, flags, "unmount(target, flags)");
}
