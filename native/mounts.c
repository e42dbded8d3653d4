// mount(2) and umount2(2) off the event loop, on libuv's thread pool, and
// without mount(8)/umount(8): a pod's shm tmpfs, overlay rootfs mounts and
// every unmount. An overlay whose lowerdirs are relative to a directory is
// mounted from a thread of its own with its own cwd (unshare(CLONE_FS)), so
// neither the daemon's cwd nor a pool thread's is changed.

#include "common.h"

#include <sched.h>
#include <sys/mount.h>

struct mount_work {
  napi_async_work work;
  napi_deferred deferred;
  int unmount; // 1: umount2(target, flags); 0: mount(...)
  char *source, *target, *fstype, *data, *cwd;
  unsigned long flags;
  int err;
  char what[8400]; // set with err: the step that failed, for the message
};

static void fail(struct mount_work *w, int err, const char *step) {
  w->err = err;
  snprintf(w->what, sizeof w->what, "%s", step);
}

static void *mount_in_cwd(void *arg) {
  struct mount_work *w = arg;
  if (unshare(CLONE_FS) < 0) {
    fail(w, errno, "unshare(CLONE_FS)");
  } else if (chdir(w->cwd) < 0) {
    w->err = errno;
    snprintf(w->what, sizeof w->what, "chdir to %s to mount %s", w->cwd, w->target);
  } else if (mount(w->source, w->target, w->fstype, w->flags, w->data) < 0) {
    w->err = errno;
    snprintf(w->what, sizeof w->what, "mount %s", w->target);
  }
  return NULL;
}

static void execute(napi_env env, void *data) {
  (void)env;
  struct mount_work *w = data;
  if (w->unmount) {
    if (umount2(w->target, (int)w->flags) < 0) {
      w->err = errno;
      snprintf(w->what, sizeof w->what, "unmount %s", w->target);
    }
  } else if (w->cwd) {
    int rc = run_on_own_thread(mount_in_cwd, w);
    if (rc != 0) fail(w, rc, "pthread_create");
  } else if (mount(w->source, w->target, w->fstype, w->flags, w->data) < 0) {
    w->err = errno;
    snprintf(w->what, sizeof w->what, "mount %s", w->target);
  }
}

static void free_work(struct mount_work *w) {
  free(w->source);
  free(w->target);
  free(w->fstype);
  free(w->data);
  free(w->cwd);
  free(w);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct mount_work *w = data;
  napi_value result;
  if (status != napi_ok && !w->err) fail(w, ECANCELED, w->unmount ? "unmount" : "mount");
  if (w->err) {
    napi_reject_deferred(env, w->deferred, errno_error(env, w->what, w->err));
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, w->deferred, result);
  }
  napi_delete_async_work(env, w->work);
  free_work(w);
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

static napi_value queue(napi_env env, struct mount_work *w) {
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, w->unmount ? "skiff:unmount" : "skiff:mount", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

// mount(source, target, fstype, flags, data | null, cwd | null): Promise<void>
napi_value mount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct mount_work *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "mount", ENOMEM);
  int bad = argc < 6;
  double flags = 0;
  if (!bad) {
    w->source = string_or_null(env, argv[0], &bad);
    w->target = string_or_null(env, argv[1], &bad);
    w->fstype = string_or_null(env, argv[2], &bad);
    bad |= napi_get_value_double(env, argv[3], &flags) != napi_ok || flags < 0;
    w->data = string_or_null(env, argv[4], &bad);
    w->cwd = string_or_null(env, argv[5], &bad);
  }
  if (bad || !w->source || !w->target || !w->fstype) {
    free_work(w);
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data | null, cwd | null)");
    return NULL;
  }
  w->flags = (unsigned long)flags;
  return queue(env, w);
}

// unmount(target, flags): Promise<void>; rejects with code EINVAL when target is not a mount point.
napi_value unmount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct mount_work *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "unmount", ENOMEM);
  int bad = argc < 2;
  double flags = 0;
  if (!bad) {
    w->target = string_or_null(env, argv[0], &bad);
    bad |= napi_get_value_double(env, argv[1], &flags) != napi_ok || flags < 0;
  }
  if (bad || !w->target) {
    free_work(w);
    napi_throw_type_error(env, NULL, "unmount(target, flags)");
    return NULL;
  }
  w->unmount = 1;
  w->flags = (unsigned long)flags;
  return queue(env, w);
}
