// runCaptured(): runs a helper to its end (a CNI plugin, `crun start`,
// iptables) on a thread of its own, which starts it, writes its input,
// collects its output and reaps it. Through spawnProcess each of these cost
// three net.Sockets and their stream events on the event loop: about a tenth
// of the main thread's CPU in a pod's start. Here the event loop sees one call
// and one callback, and does not wait in posix_spawn for the child's exec
// (about 1 ms per helper on a busy 2-CPU machine, 4 ms for a Go plugin).

#include "common.h"

#include <poll.h>
#include <sys/wait.h>

struct buffer {
  char *data;
  size_t len, cap;
  size_t max; // kept at most; the rest is read and dropped (the child must not block on a full pipe)
  bool cut;   // output was dropped: over max, or out of memory
};

struct run {
  pid_t pid;
  struct command cmd;
  int child_fds[3]; // the child's ends, closed once it has its copies
  int spawn_err;    // errno of a child that could not be started
  int32_t *pid_cell; // JS's Int32Array: the pid, for a timeout's kill
  napi_ref pid_ref;  // keeps pid_cell alive until call_on_done
  int in, out, err; // the parent's ends; -1 once closed
  char *input;
  size_t input_len;
  struct buffer stdout_buf, stderr_buf;
  int code, signal;
  napi_threadsafe_function tsfn;
};

static void keep(struct buffer *b, const char *p, size_t n) {
  if (n > b->max - b->len) {
    b->cut = true;
    n = b->max - b->len;
  }
  if (n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
      b->cut = true;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void close_fd_at(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Drains one readable pipe into b; closes it at its end (or on an error).
static void drain(int *fd, struct buffer *b) {
  char chunk[16384];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n > 0) keep(b, chunk, (size_t)n);
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) close_fd_at(fd);
}

static void *run_main(void *arg) {
  struct run *r = arg;
  size_t written = 0;
  r->spawn_err = spawn_child(r->cmd.file, r->cmd.args, r->cmd.envp, r->cmd.cwd, r->child_fds, 3, false, &r->pid);
  // The child has its copies (or never started): ours go, so that its outputs end when it (and what it started) end.
  for (int i = 0; i < 3; i++) close_fd_at(&r->child_fds[i]);
  if (r->spawn_err != 0) {
    close_fd_at(&r->in);
    close_fd_at(&r->out);
    close_fd_at(&r->err);
  } else __atomic_store_n(r->pid_cell, r->pid, __ATOMIC_RELEASE);
  if (r->input_len == 0) close_fd_at(&r->in);
  while (r->in >= 0 || r->out >= 0 || r->err >= 0) {
    struct pollfd p[3] = {{r->in, POLLOUT, 0}, {r->out, POLLIN, 0}, {r->err, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r->in >= 0 && p[0].revents) {
      // Non-blocking: a child that reads slowly must not hold up its outputs.
      ssize_t n = write(r->in, r->input + written, r->input_len - written);
      if (n > 0) written += (size_t)n;
      // EPIPE (it closed its input, or is gone): the rest of the input is not wanted.
      if (written == r->input_len || (n < 0 && errno != EAGAIN && errno != EINTR)) close_fd_at(&r->in);
    }
    if (r->out >= 0 && p[1].revents) drain(&r->out, &r->stdout_buf);
    if (r->err >= 0 && p[2].revents) drain(&r->err, &r->stderr_buf);
  }
  close_fd_at(&r->in);
  close_fd_at(&r->out);
  close_fd_at(&r->err);
  if (r->spawn_err == 0) {
    int status = 0;
    pid_t got;
    do got = waitpid(r->pid, &status, 0);
    while (got < 0 && errno == EINTR);
    decode_wait_status(got, status, &r->code, &r->signal);
  }
  // r belongs to the JS thread from the call on (call_on_done frees it).
  napi_threadsafe_function tsfn = r->tsfn;
  napi_call_threadsafe_function(tsfn, r, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static void free_run(struct run *r) {
  for (int i = 0; i < 3; i++) close_fd_at(&r->child_fds[i]);
  free_command(&r->cmd);
  free(r->input);
  free(r->stdout_buf.data);
  free(r->stderr_buf.data);
  free(r);
}

static void call_on_done(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  struct run *r = data;
  if (env && cb) {
    napi_value args[6], undefined;
    exit_args(env, r->code, r->signal, args);
    napi_create_buffer_copy(env, r->stdout_buf.len, r->stdout_buf.len ? r->stdout_buf.data : "", NULL, &args[2]);
    napi_create_buffer_copy(env, r->stderr_buf.len, r->stderr_buf.len ? r->stderr_buf.data : "", NULL, &args[3]);
    napi_get_boolean(env, r->stdout_buf.cut || r->stderr_buf.cut, &args[4]);
    if (r->spawn_err != 0) napi_create_string_utf8(env, strerror(r->spawn_err), NAPI_AUTO_LENGTH, &args[5]);
    else napi_get_null(env, &args[5]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 6, args, NULL);
  }
  if (env && r->pid_ref) napi_delete_reference(env, r->pid_ref);
  free_run(r);
}

// A pipe whose ends are both above the stdio range (so that dup2 onto 0-2 cannot overwrite one), close-on-exec.
static int stdio_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) < 0) return errno;
  for (int i = 0; i < 2; i++) {
    if (fds[i] > 2) continue;
    int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      return err;
    }
    close(fds[i]);
    fds[i] = moved;
  }
  return 0;
}

// runCaptured(file, argv, env, cwd|null, input: Buffer, maxOutput, pidCell: Int32Array,
//             onDone(code|null, signal, stdout: Buffer, stderr: Buffer, cut: boolean, spawnError: string|null))
// The file is looked up on PATH; at most maxOutput bytes of each output are kept. The child is started on
// the run's thread: pidCell[0] holds its pid from then on, and a child that could not be started is
// reported to onDone with spawnError (strerror's text). Throws only when the run cannot be set up.
napi_value run_captured(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "runCaptured(file, argv, env, cwd, input, maxOutput, pidCell, onDone)");
    return NULL;
  }
  int64_t max_output = 0;
  napi_get_value_int64(env, argv[5], &max_output);
  struct command cmd;
  read_command(env, argv, &cmd);
  void *input = NULL;
  size_t input_len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[4], &is_buffer);
  if (is_buffer) napi_get_buffer_info(env, argv[4], &input, &input_len);
  bool is_typed = false;
  napi_is_typedarray(env, argv[6], &is_typed);
  napi_typedarray_type cell_type = napi_uint8_array;
  size_t cell_len = 0;
  void *cell = NULL;
  if (is_typed) napi_get_typedarray_info(env, argv[6], &cell_type, &cell_len, &cell, NULL, NULL);
  struct run *r = calloc(1, sizeof *r);
  if (r) r->in = r->out = r->err = r->child_fds[0] = r->child_fds[1] = r->child_fds[2] = -1;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (!cmd.file || !cmd.args || !cmd.envp || !is_buffer || max_output <= 0 || cell_type != napi_int32_array || cell_len < 1 || !r) {
    napi_throw_type_error(env, NULL, "runCaptured: file, argv and env must be strings, input a Buffer, maxOutput a positive number, pidCell an Int32Array");
    goto cleanup;
  }
  int rc = stdio_pipe(in);
  if (rc == 0) rc = stdio_pipe(out);
  if (rc == 0) rc = stdio_pipe(err);
  if (rc != 0) {
    throw_errno(env, "pipe2", rc);
    goto cleanup;
  }
  r->input = malloc(input_len ? input_len : 1);
  if (!r->input) {
    throw_errno(env, "malloc", ENOMEM);
    goto cleanup;
  }
  memcpy(r->input, input, input_len);
  r->input_len = input_len;
  r->stdout_buf.max = r->stderr_buf.max = (size_t)max_output;
  r->child_fds[0] = in[0];
  r->child_fds[1] = out[1];
  r->child_fds[2] = err[1];
  r->in = in[1];
  r->out = out[0];
  r->err = err[0];
  in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = -1; // the run's now
  fcntl(r->in, F_SETFL, O_NONBLOCK);
  r->cmd = cmd;
  memset(&cmd, 0, sizeof cmd);
  r->pid_cell = cell;
  napi_create_reference(env, argv[6], 1, &r->pid_ref);
  napi_value name;
  napi_create_string_utf8(env, "skiff-run-captured", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, argv[7], NULL, name, 0, 1, NULL, NULL, NULL, call_on_done, &r->tsfn);
  rc = start_detached_thread(run_main, r, 64 * 1024);
  if (rc != 0) {
    // Nothing was started.
    close_fd_at(&r->in);
    close_fd_at(&r->out);
    close_fd_at(&r->err);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
    napi_delete_reference(env, r->pid_ref);
    free_run(r);
    throw_errno(env, "pthread_create", rc);
  }
  r = NULL;
cleanup: // every path: what the run did not take over
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (out[i] >= 0) close(out[i]);
    if (err[i] >= 0) close(err[i]);
  }
  if (r) free_run(r);
  free_command(&cmd);
  return NULL;
}
