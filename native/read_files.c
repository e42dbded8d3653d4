// readSmallFiles(): reads a few small files whole in one job on libuv's pool.
// kubelet asks for the stats of every container every few seconds, and each
// container's are seven cgroup files. Through fs.promises each file was four
// trips through the pool (open, fstat, read, close) and, since cgroupfs
// reports a size of 0, a 64 KiB read buffer: with 100 containers, 700 such
// buffers at once, which grew the C heap by ~25 MB that it kept.

#include "common.h"

#define FIRST_READ 4096
#define MAX_FILE (1 << 20)
#define MAX_FILES 64

struct file_read {
  char *data; // NULL: unreadable (absent, a directory, too big...)
  size_t len;
};

struct small_reads {
  char **paths;
  uint32_t count;
  struct file_read files[MAX_FILES];
};

static void read_one(const char *path, struct file_read *f) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return;
  size_t cap = FIRST_READ, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len == cap) {
      char *bigger = cap >= MAX_FILE ? NULL : realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      buf = NULL;
      break;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  f->data = buf;
  f->len = len;
}

static void run(void *arg) {
  struct small_reads *r = arg;
  for (uint32_t i = 0; i < r->count; i++) read_one(r->paths[i], &r->files[i]);
}

static void free_reads(struct small_reads *r) {
  for (uint32_t i = 0; i < r->count; i++) free(r->files[i].data);
  free_strings(r->paths);
  free(r);
}

static napi_value done(napi_env env, void *arg, napi_value *result) {
  struct small_reads *r = arg;
  napi_create_array_with_length(env, r->count, result);
  for (uint32_t i = 0; i < r->count; i++) {
    napi_value v;
    if (r->files[i].data) napi_create_string_utf8(env, r->files[i].data, r->files[i].len, &v);
    else napi_get_undefined(env, &v);
    napi_set_element(env, *result, i, v);
  }
  free_reads(r);
  return NULL;
}

// readSmallFiles(paths: string[]): Promise<(string | undefined)[]>, in order;
// undefined for a file that cannot be read. At most 64 paths, 1 MiB each.
napi_value read_small_files(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct small_reads *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "readSmallFiles", ENOMEM);
  r->paths = argc == 1 ? string_array(env, argv[0], &r->count) : NULL;
  if (!r->paths || r->count > MAX_FILES) {
    free_strings(r->paths);
    free(r);
    napi_throw_type_error(env, NULL, "readSmallFiles(paths: string[]), at most 64 paths");
    return NULL;
  }
  return run_on_pool_with_result(env, "skiff:readSmallFiles", run, done, r);
}
