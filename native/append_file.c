// appendDurable(): the write of a record journal (src/store/journal.ts). One
// pool job writes the bytes at the file's known end and fdatasyncs them, so
// that a record update costs one write and one flush of data and size, not a
// new inode, a rename and two fsyncs. On failure the file is cut back to where
// it ended, so that the next append starts on a clean end.

#include "common.h"

struct append_job {
  int fd;
  off_t offset;
  char *data;
  size_t len;
  int err;
  const char *step;
};

static void run(void *arg) {
  struct append_job *j = arg;
  for (size_t done = 0; done < j->len;) {
    ssize_t n = pwrite(j->fd, j->data + done, j->len - done, j->offset + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      j->err = n < 0 ? errno : EIO;
      j->step = "write";
      break;
    }
    done += (size_t)n;
  }
  if (!j->err && fdatasync(j->fd) < 0) j->err = errno, j->step = "fdatasync";
  if (j->err) {
    // What was written may sit on the disk whole or in part; cut it off.
    int r;
    do r = ftruncate(j->fd, j->offset);
    while (r < 0 && errno == EINTR);
  }
}

static napi_value done(napi_env env, void *arg) {
  struct append_job *j = arg;
  napi_value error = NULL;
  if (j->err) {
    char what[64];
    snprintf(what, sizeof what, "%s the journal", j->step);
    error = errno_error(env, what, j->err);
  }
  free(j->data);
  free(j);
  return error;
}

// appendDurable(fd, data: Buffer, offset): Promise<void>.
napi_value append_durable(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct append_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "appendDurable", ENOMEM);
  bool is_buffer = false;
  int32_t fd = -1;
  double offset = -1;
  void *bytes = NULL;
  int bad = argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0;
  bad = bad || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer;
  bad = bad || napi_get_buffer_info(env, argv[1], &bytes, &j->len) != napi_ok;
  bad = bad || napi_get_value_double(env, argv[2], &offset) != napi_ok || offset < 0 || offset > 9007199254740991.0;
  // A copy: the caller's buffer may be reused or collected while the job runs.
  if (!bad && (j->data = malloc(j->len ? j->len : 1)) == NULL) bad = 1;
  if (bad) {
    free(j->data);
    free(j);
    napi_throw_type_error(env, NULL, "appendDurable(fd, data: Buffer, offset)");
    return NULL;
  }
  if (j->len) memcpy(j->data, bytes, j->len);
  j->fd = fd;
  j->offset = (off_t)offset;
  return run_on_pool(env, "skiff:appendDurable", run, done, j);
}
