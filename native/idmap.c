// idmapMount(source, target, usernsPath, recursive): an idmapped copy of the
// mount tree at source, attached at target (which must exist). Files owned by
// id N on disk are seen as the user namespace's mapping of N, so a pod with a
// user namespace sees its image's root-owned files as root and what it writes
// is stored with the pod's own ids, not the host ids it runs as. open_tree,
// mount_setattr and move_mount are newer than what mount(2) can do, and glibc
// has no wrappers that live with <sys/mount.h> on every build, so they are
// called through syscall(2).

#include "common.h"

#include <sys/syscall.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define SKIFF_OPEN_TREE_CLONE 1
#define SKIFF_AT_RECURSIVE 0x8000
#define SKIFF_MOUNT_ATTR_IDMAP 0x00100000ULL
#define SKIFF_MOVE_MOUNT_F_EMPTY_PATH 0x00000004

struct skiff_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct idmap_work {
  char *source, *target, *userns;
  bool recursive;
  int err;
  char what[8400];
};

static void run(void *arg) {
  struct idmap_work *w = arg;
  int ns = open(w->userns, O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    w->err = errno;
    snprintf(w->what, sizeof w->what, "open the user namespace %s", w->userns);
    return;
  }
  unsigned int recursive = w->recursive ? SKIFF_AT_RECURSIVE : 0;
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, w->source, SKIFF_OPEN_TREE_CLONE | O_CLOEXEC | recursive);
  if (tree < 0) {
    w->err = errno;
    snprintf(w->what, sizeof w->what, "open_tree %s", w->source);
  } else {
    struct skiff_mount_attr attr = {.attr_set = SKIFF_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | recursive, &attr, sizeof attr) < 0) {
      w->err = errno;
      snprintf(w->what, sizeof w->what, "idmap the mount of %s (mount_setattr)", w->source);
    } else if (syscall(SYS_move_mount, tree, "", AT_FDCWD, w->target, SKIFF_MOVE_MOUNT_F_EMPTY_PATH) < 0) {
      w->err = errno;
      snprintf(w->what, sizeof w->what, "attach the idmapped mount of %s at %s", w->source, w->target);
    }
    close(tree);
  }
  close(ns);
}

static napi_value done(napi_env env, void *arg) {
  struct idmap_work *w = arg;
  napi_value error = w->err ? errno_error(env, w->what, w->err) : NULL;
  free(w->source);
  free(w->target);
  free(w->userns);
  free(w);
  return error;
}

// idmapMount(source, target, usernsPath, recursive): Promise<void>
napi_value idmap_mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct idmap_work *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "idmapMount", ENOMEM);
  if (argc == 4) {
    w->source = dup_string(env, argv[0]);
    w->target = dup_string(env, argv[1]);
    w->userns = dup_string(env, argv[2]);
    napi_get_value_bool(env, argv[3], &w->recursive);
  }
  if (!w->source || !w->target || !w->userns) {
    done(env, w);
    napi_throw_type_error(env, NULL, "idmapMount(source, target, usernsPath, recursive)");
    return NULL;
  }
  return run_on_pool(env, "skiff:idmapMount", run, done, w);
}
