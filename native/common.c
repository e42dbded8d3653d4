// The addon's small N-API and I/O helpers.

#include "common.h"

#include <sys/socket.h>

napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[4608];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == ENOENT ? "ENOENT" : err == ECONNREFUSED ? "ECONNREFUSED" : "ESYSCALL", msg);
  return NULL;
}

napi_value errno_error(napi_env env, const char *what, int err) {
  char msg[4608];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *name = strerrorname_np(err);
  napi_value code, text, error, number;
  napi_create_string_utf8(env, name ? name : "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  return error;
}

int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return -1;
  return len + 1 >= size ? -1 : 0;
}

int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  if (out && napi_get_value_string_utf8(env, v, out, len + 1, &len) != napi_ok) {
    free(out);
    return NULL;
  }
  return out;
}

char *optional_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
  return dup_string(env, v);
}

char **string_array(napi_env env, napi_value arr, uint32_t *count) {
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) return NULL;
  napi_get_array_length(env, arr, &n);
  char **out = calloc(n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    out[i] = dup_string(env, v);
    if (!out[i]) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  if (count) *count = n;
  return out;
}

void free_strings(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}


int run_on_own_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, fn, arg);
  if (rc == 0) pthread_join(t, NULL);
  return rc;
}

int start_detached_thread(void *(*fn)(void *), void *arg, size_t stack_size) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, stack_size);
  int rc = pthread_create(&t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return rc;
}

struct pool_job {
  napi_async_work work;
  napi_deferred deferred;
  void (*run)(void *arg);
  napi_value (*done)(napi_env env, void *arg);
  napi_value (*done_with_result)(napi_env env, void *arg, napi_value *result);
  void *arg;
};

static void pool_execute(napi_env env, void *data) {
  (void)env;
  struct pool_job *j = data;
  j->run(j->arg);
}

static void pool_complete(napi_env env, napi_status status, void *data) {
  struct pool_job *j = data;
  napi_value result = NULL;
  napi_value error = j->done ? j->done(env, j->arg) : j->done_with_result(env, j->arg, &result); // frees arg
  if (status != napi_ok && !error) error = errno_error(env, "cancelled before it ran", ECANCELED);
  if (error) {
    napi_reject_deferred(env, j->deferred, error);
  } else {
    if (!result) napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value queue_on_pool(napi_env env, const char *name, struct pool_job *j) {
  napi_value promise, resource;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, pool_execute, pool_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

napi_value run_on_pool(napi_env env, const char *name, void (*run)(void *arg), napi_value (*done)(napi_env env, void *arg), void *arg) {
  struct pool_job *j = calloc(1, sizeof *j);
  if (!j) {
    done(env, arg);
    return throw_errno(env, name, ENOMEM);
  }
  j->run = run;
  j->done = done;
  j->arg = arg;
  return queue_on_pool(env, name, j);
}

napi_value run_on_pool_with_result(napi_env env, const char *name, void (*run)(void *arg), napi_value (*done)(napi_env env, void *arg, napi_value *result), void *arg) {
  struct pool_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_value ignored;
    done(env, arg, &ignored);
    return throw_errno(env, name, ENOMEM);
  }
  j->run = run;
  j->done_with_result = done;
  j->arg = arg;
  return queue_on_pool(env, name, j);
}
