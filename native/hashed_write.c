// A download's write to its file and the SHA-256 of the same bytes, in one
// job on libuv's pool. Hashing a 100 MB layer on the event loop took a fifth
// of the daemon's main thread during a pull, and the write was a trip through
// the pool of its own anyway. OpenSSL is the copy Node.js carries.

#include "common.h"

#include <openssl/evp.h>

typedef struct {
  EVP_MD_CTX *ctx;
  bool busy;      // a job is using ctx: one at a time, in order
  bool finished;  // the digest was taken
} sha256_state;

struct hashed_write {
  sha256_state *state;
  napi_ref state_ref;  // keeps the state alive while a pool thread uses it
  napi_ref buffer;
  int fd;
  const unsigned char *bytes;
  size_t len;
  int err;
};

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sha256_state *s = data;
  EVP_MD_CTX_free(s->ctx);
  free(s);
}

static sha256_state *get_state(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a SHA-256 state");
    return NULL;
  }
  return data;
}

// sha256Create(): a SHA-256 in progress, fed by writeHashed.
napi_value sha256_create(napi_env env, napi_callback_info info) {
  (void)info;
  sha256_state *s = calloc(1, sizeof *s);
  if (!s) return throw_errno(env, "sha256Create", ENOMEM);
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(s->ctx);
    free(s);
    napi_throw_error(env, NULL, "cannot set up OpenSSL's SHA-256");
    return NULL;
  }
  napi_value out;
  if (napi_create_external(env, s, finalize_state, NULL, &out) != napi_ok) {
    finalize_state(env, s, NULL);
    return NULL;
  }
  return out;
}

static void run(void *arg) {
  struct hashed_write *w = arg;
  for (size_t off = 0; off < w->len;) {
    ssize_t n = write(w->fd, w->bytes + off, w->len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      w->err = n < 0 ? errno : EIO;
      return;
    }
    off += (size_t)n;
  }
  if (EVP_DigestUpdate(w->state->ctx, w->bytes, w->len) != 1) w->err = EIO;
}

static napi_value done(napi_env env, void *arg) {
  struct hashed_write *w = arg;
  napi_value error = w->err ? errno_error(env, "write the blob", w->err) : NULL;
  if (w->buffer) napi_delete_reference(env, w->buffer);
  if (w->state) w->state->busy = false;
  if (w->state_ref) napi_delete_reference(env, w->state_ref);
  free(w);
  return error;
}

// writeHashed(state, fd, buffer): Promise<void>. Writes all of buffer at fd's
// offset, then adds it to the hash. The buffer must not change until it settles.
napi_value write_hashed(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "writeHashed(state, fd, buffer)");
    return NULL;
  }
  sha256_state *s = get_state(env, argv[0]);
  if (!s) return NULL;
  int32_t fd;
  void *bytes;
  size_t len;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0 || napi_get_buffer_info(env, argv[2], &bytes, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "writeHashed(state, fd: number, buffer: Buffer)");
    return NULL;
  }
  if (s->busy || s->finished) {
    napi_throw_error(env, NULL, s->busy ? "writeHashed: the previous write of this hash has not settled" : "writeHashed: the digest was already taken");
    return NULL;
  }
  struct hashed_write *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "writeHashed", ENOMEM);
  // Keeps the buffer and the state alive while the pool thread uses them.
  if (napi_create_reference(env, argv[2], 1, &w->buffer) != napi_ok) {
    free(w);
    return NULL;
  }
  if (napi_create_reference(env, argv[0], 1, &w->state_ref) != napi_ok) {
    napi_delete_reference(env, w->buffer);
    free(w);
    return NULL;
  }
  w->state = s;
  w->fd = fd;
  w->bytes = bytes;
  w->len = len;
  s->busy = true;
  return run_on_pool(env, "skiff:writeHashed", run, done, w);
}

// sha256Hex(state): the digest of everything written, as 64 hex digits. Once.
napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sha256_state *s = argc ? get_state(env, argv[0]) : NULL;
  if (!s) return NULL;
  if (s->busy || s->finished) {
    napi_throw_error(env, NULL, s->busy ? "sha256Hex: a write is still under way" : "sha256Hex: the digest was already taken");
    return NULL;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(s->ctx, md, &n) != 1 || n != 32) {
    napi_throw_error(env, NULL, "OpenSSL's SHA-256 failed");
    return NULL;
  }
  s->finished = true;
  char hex[65];
  for (unsigned int i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  napi_value out;
  napi_create_string_latin1(env, hex, 64, &out);
  return out;
}
