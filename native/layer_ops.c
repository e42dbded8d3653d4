// A layer's file system work, a batch at a time, on libuv's pool. The unpacker
// (src/image-service/unpack/layer-ops.ts) decides every step and checks its
// safety in TypeScript; here the steps only run, in order, stopping at the
// first that fails. One thread can then unpack several layers at once (each
// layer's batches run one after another, different layers' side by side) and
// pays one trip through the pool per batch instead of one per system call.
// It also does what Node.js cannot: mknod(2) and lsetxattr(2).
//
// A batch is a byte string of steps, each an opcode byte and its operands:
// u32 little-endian numbers, f64 times (seconds), strings as a u32 length and
// bytes. Steps on "the file" use the descriptor the last CREATE opened; it is
// carried from one batch to the next by the caller.

#include "common.h"

#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

enum {
  OP_MKDIR = 1,    // path mode
  OP_CHMOD,        // path mode
  OP_LCHOWN,       // path uid gid
  OP_UTIMES,       // path time
  OP_LUTIMES,      // path time
  OP_CREATE,       // path: opens the file (O_EXCL, O_NOFOLLOW, mode 0600)
  OP_WRITE,        // bytes: to the file
  OP_FCHOWN,       // uid gid: the file
  OP_FCHMOD,       // mode: the file
  OP_FUTIMES,      // time: the file
  OP_CLOSE,        // the file
  OP_SYMLINK,      // target path
  OP_LINK,         // existing path
  OP_MKNOD,        // path type mode major minor (type: 'c', 'b' or 'p')
  OP_LSETXATTR,    // path name value
  OP_REMOVE,       // path: removed with everything below it, symlinks not followed; absent is fine
};

static const char *const op_names[] = {
    "", "mkdir", "chmod", "lchown", "utimes", "lutimes", "create", "write", "fchown",
    "fchmod", "futimes", "close", "symlink", "link", "mknod", "lsetxattr", "remove",
};

#define MAX_PATH 4096

struct batch {
  napi_ref buffer;
  const unsigned char *p, *end;
  int fd;  // the open file, or -1
  int err;
  char what[2 * MAX_PATH + 64];
};

struct reader {
  const unsigned char *p, *end;
  bool bad;      // the batch is malformed
  int too_long;  // ENAMETOOLONG once a string is too long for a path
};

static uint32_t u32(struct reader *r) {
  if (r->end - r->p < 4) return r->bad = true, 0;
  uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return v;
}

static double f64(struct reader *r) {
  double v = 0;
  if (r->end - r->p < 8) return r->bad = true, 0;
  memcpy(&v, r->p, 8);  // little-endian, as on every host Node.js runs skiff on
  r->p += 8;
  return v;
}

// Bytes of a given length, in place.
static const unsigned char *bytes(struct reader *r, uint32_t *len) {
  *len = u32(r);
  if (r->bad || (size_t)(r->end - r->p) < *len) return r->bad = true, NULL;
  const unsigned char *b = r->p;
  r->p += *len;
  return b;
}

// A string copied into buf, NUL-terminated; a NUL inside is malformed. One
// too long for a path fails the step (its start is kept for the message).
static const char *string(struct reader *r, char *buf) {
  uint32_t len;
  const unsigned char *b = bytes(r, &len);
  if (!b || memchr(b, 0, len)) return r->bad = true, NULL;
  if (len >= MAX_PATH) {
    snprintf(buf, MAX_PATH, "%.200s...", (const char *)b);
    r->too_long = ENAMETOOLONG;
    return NULL;
  }
  memcpy(buf, b, len);
  buf[len] = 0;
  return buf;
}

static struct timespec to_timespec(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)floor(t);
  ts.tv_nsec = (long)((t - floor(t)) * 1e9);
  if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;
  return ts;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  int rc = type == FTW_DP ? rmdir(path) : unlink(path);
  return rc < 0 && errno != ENOENT ? errno : 0;
}

static int remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode)) return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
  int rc = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  if (rc > 0) errno = rc;
  return rc ? -1 : 0;
}

static int write_all(int fd, const unsigned char *b, size_t len) {
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, b + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return -1;
    }
    off += (size_t)n;
  }
  return 0;
}

// Whether the operands just read are unusable: the step is then not run.
#define UNUSABLE(r) ((r)->bad || (r)->too_long)

// Runs one step; -1 with errno set (and path, for the message) when it fails.
static int step(struct batch *b, struct reader *r, int op, char *path, char *other) {
  uint32_t len;
  struct timespec ts[2];
  switch (op) {
    case OP_MKDIR: {
      const char *p = string(r, path);
      mode_t mode = u32(r);
      return UNUSABLE(r) ? 0 : mkdir(p, mode);
    }
    case OP_CHMOD: {
      const char *p = string(r, path);
      mode_t mode = u32(r);
      return UNUSABLE(r) ? 0 : chmod(p, mode);
    }
    case OP_LCHOWN: {
      const char *p = string(r, path);
      uid_t uid = u32(r);
      gid_t gid = u32(r);
      return UNUSABLE(r) ? 0 : lchown(p, uid, gid);
    }
    case OP_UTIMES:
    case OP_LUTIMES: {
      const char *p = string(r, path);
      ts[0] = ts[1] = to_timespec(f64(r));
      return UNUSABLE(r) ? 0 : utimensat(AT_FDCWD, p, ts, op == OP_LUTIMES ? AT_SYMLINK_NOFOLLOW : 0);
    }
    case OP_CREATE: {
      const char *p = string(r, path);
      if (UNUSABLE(r)) return 0;
      if (b->fd >= 0) return errno = EBUSY, -1;
      b->fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      return b->fd < 0 ? -1 : 0;
    }
    case OP_WRITE: {
      const unsigned char *data = bytes(r, &len);
      if (UNUSABLE(r)) return 0;
      if (b->fd < 0) return errno = EBADF, -1;
      return write_all(b->fd, data, len);
    }
    case OP_FCHOWN: {
      uid_t uid = u32(r);
      gid_t gid = u32(r);
      if (UNUSABLE(r)) return 0;
      return b->fd < 0 ? (errno = EBADF, -1) : fchown(b->fd, uid, gid);
    }
    case OP_FCHMOD: {
      mode_t mode = u32(r);
      if (UNUSABLE(r)) return 0;
      return b->fd < 0 ? (errno = EBADF, -1) : fchmod(b->fd, mode);
    }
    case OP_FUTIMES: {
      ts[0] = ts[1] = to_timespec(f64(r));
      if (UNUSABLE(r)) return 0;
      return b->fd < 0 ? (errno = EBADF, -1) : futimens(b->fd, ts);
    }
    case OP_CLOSE: {
      if (b->fd < 0) return errno = EBADF, -1;
      int fd = b->fd;
      b->fd = -1;
      return close(fd);
    }
    case OP_SYMLINK:
    case OP_LINK: {
      const char *target = string(r, other);
      const char *p = string(r, path);
      if (UNUSABLE(r)) return 0;
      return op == OP_SYMLINK ? symlink(target, p) : link(target, p);
    }
    case OP_MKNOD: {
      const char *p = string(r, path);
      uint32_t type = u32(r), mode = u32(r), major = u32(r), minor = u32(r);
      if (UNUSABLE(r)) return 0;
      mode_t kind = type == 'c' ? S_IFCHR : type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : 0;
      if (!kind) return r->bad = true, 0;
      // The mode as given, not as the daemon's umask would leave it.
      return mknod(p, kind | (mode & 07777), makedev(major, minor)) < 0 ? -1 : chmod(p, mode & 07777);
    }
    case OP_LSETXATTR: {
      const char *p = string(r, path);
      const char *name = string(r, other);
      const unsigned char *value = bytes(r, &len);
      if (UNUSABLE(r)) return 0;
      return lsetxattr(p, name, value, len, 0);
    }
    case OP_REMOVE: {
      const char *p = string(r, path);
      return UNUSABLE(r) ? 0 : remove_tree(p);
    }
    default:
      r->bad = true;
      return 0;
  }
}

static void run(void *arg) {
  struct batch *b = arg;
  struct reader r = {b->p, b->end, false, 0};
  static __thread char path[MAX_PATH], other[MAX_PATH];
  while (r.p < r.end) {
    int op = *r.p++;
    path[0] = 0;
    if (step(b, &r, op, path, other) < 0 || (r.too_long && !r.bad)) {
      b->err = r.too_long ? r.too_long : errno;
      snprintf(b->what, sizeof b->what, "%s %s", op_names[op], path);
      break;
    }
    if (r.bad) {
      b->err = EINVAL;
      snprintf(b->what, sizeof b->what, "malformed layer step (opcode %d)", op);
      break;
    }
  }
  // A failed batch ends the layer: nothing is left open.
  if (b->err && b->fd >= 0) {
    close(b->fd);
    b->fd = -1;
  }
}

static napi_value done(napi_env env, void *arg, napi_value *result) {
  struct batch *b = arg;
  napi_value error = b->err ? errno_error(env, b->what, b->err) : NULL;
  if (!error) napi_create_int32(env, b->fd, result);
  napi_delete_reference(env, b->buffer);
  free(b);
  return error;
}

// applyLayerOps(steps: Buffer, length: number, fd: number): Promise<number>,
// the open file's descriptor after the batch (-1 if none). The buffer must not
// change until the promise settles.
napi_value apply_layer_ops(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  size_t size = 0;
  double length = -1, fd = -1;
  bool is_buffer = false;
  if (argc == 3) napi_is_buffer(env, argv[0], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[0], &data, &size) != napi_ok || napi_get_value_double(env, argv[1], &length) != napi_ok ||
      napi_get_value_double(env, argv[2], &fd) != napi_ok || length < 0 || length > (double)size || fd < -1 || fd > INT32_MAX) {
    napi_throw_type_error(env, NULL, "applyLayerOps(steps: Buffer, length, fd)");
    return NULL;
  }
  struct batch *b = calloc(1, sizeof *b);
  if (!b) return throw_errno(env, "applyLayerOps", ENOMEM);
  b->p = data;
  b->end = b->p + (size_t)length;
  b->fd = (int)fd;
  napi_create_reference(env, argv[0], 1, &b->buffer);
  return run_on_pool_with_result(env, "skiff:applyLayerOps", run, done, b);
}
