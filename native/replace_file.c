// replaceFile(): replaces a small file so that a reader, or a restart after
// kill -9, sees the old content or the new and never a torn file: temp file,
// write, rename over; when durable, also fsync of the file before the rename
// and of the directory after it (power loss too). All of it is one job on
// libuv's pool; done with fs.promises it took three to six round trips
// through the pool, and a pod's start writes several such files.

#include "common.h"

#include <stdatomic.h>
#include <sys/stat.h>

struct durable_write {
  char *dir, *name, *data;
  size_t len;
  mode_t mode;
  bool durable;
  int err;
  char what[8400];
};

static atomic_ulong temp_counter;

static void failed(struct durable_write *w, int err, const char *step) {
  w->err = err;
  snprintf(w->what, sizeof w->what, "%s %s/%s", step, w->dir, w->name);
}

static void run(void *arg) {
  struct durable_write *w = arg;
  int dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    failed(w, errno, "open the directory of");
    return;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, ".%s.tmp-%d-%lu", w->name, (int)getpid(), atomic_fetch_add(&temp_counter, 1));
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, w->mode);
  if (fd < 0) {
    failed(w, errno, "create a temporary file for");
    close(dirfd);
    return;
  }
  const char *step = NULL;
  int err = 0;
  for (size_t off = 0; off < w->len;) {
    ssize_t n = write(fd, w->data + off, w->len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      step = "write";
      break;
    }
    off += (size_t)n;
  }
  if (!err && w->durable && fsync(fd) < 0) err = errno, step = "fsync";
  if (close(fd) < 0 && !err) err = errno, step = "close";
  if (!err && renameat(dirfd, tmp, dirfd, w->name) < 0) err = errno, step = "rename over";
  if (err) {
    unlinkat(dirfd, tmp, 0);
    failed(w, err, step);
  } else if (w->durable && fsync(dirfd) < 0) {
    // The new content is in place; only its durability is in doubt.
    failed(w, errno, "fsync the directory of");
  }
  close(dirfd);
}

static napi_value done(napi_env env, void *arg) {
  struct durable_write *w = arg;
  napi_value error = w->err ? errno_error(env, w->what, w->err) : NULL;
  free(w->dir);
  free(w->name);
  free(w->data);
  free(w);
  return error;
}

// replaceFile(dir, name, data: string | Buffer, mode, durable: boolean): Promise<void>.
// name is a plain file name inside dir (no slash).
napi_value replace_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct durable_write *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "replaceFile", ENOMEM);
  double mode = 0;
  int bad = argc < 5;
  if (!bad) {
    w->dir = dup_string(env, argv[0]);
    w->name = dup_string(env, argv[1]);
    bad = !w->dir || !w->name || !*w->name || strchr(w->name, '/') || strlen(w->name) > 4000;
    bool is_buffer = false;
    if (!bad) napi_is_buffer(env, argv[2], &is_buffer);
    if (!bad && is_buffer) {
      // Bytes as they are (a blob whose digest was checked), not text.
      void *bytes = NULL;
      if (napi_get_buffer_info(env, argv[2], &bytes, &w->len) != napi_ok) bad = 1;
      if (!bad && (w->data = malloc(w->len + 1)) == NULL) bad = 1;
      if (!bad && w->len) memcpy(w->data, bytes, w->len);
    } else {
      if (!bad && napi_get_value_string_utf8(env, argv[2], NULL, 0, &w->len) != napi_ok) bad = 1;
      if (!bad && (w->data = malloc(w->len + 1)) == NULL) bad = 1;
      if (!bad) napi_get_value_string_utf8(env, argv[2], w->data, w->len + 1, NULL);
    }
    bad |= napi_get_value_double(env, argv[3], &mode) != napi_ok || mode < 0 || mode > 07777;
    bad |= napi_get_value_bool(env, argv[4], &w->durable) != napi_ok;
  }
  if (bad) {
    done(env, w);
    napi_throw_type_error(env, NULL, "replaceFile(dir, name without '/', data: string or Buffer, mode, durable: boolean)");
    return NULL;
  }
  w->mode = (mode_t)mode;
  return run_on_pool(env, "skiff:replaceFile", run, done, w);
}
