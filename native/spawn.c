// spawnProcess(): posix_spawn, which glibc does with CLONE_VFORK. Node's
// child_process forks, copying the daemon's page tables on the event loop
// (~3 ms at skiff's size, per runc or CNI call). A detached thread reaps each
// child and reports its exit through a thread-safe function. spawn_child is
// shared with run_captured.c.

#include "common.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

// makeSocketPair(): [parentFd, childFd], both close-on-exec (dup2 clears it on
// the child's copy). The stdio "pipes" of spawned children, as libuv makes them.
napi_value make_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return throw_errno(env, "socketpair", errno);
  napi_value out, a, b;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, sv[0], &a);
  napi_create_int32(env, sv[1], &b);
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

// closeFd(fd): the child ends of socket pairs, once the child has them.
napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return NULL;
  if (fd >= 0) close(fd);
  return NULL;
}

struct reaper {
  pid_t pid;
  napi_threadsafe_function tsfn;
};

struct exit_status {
  int code;   // -1 when killed by a signal
  int signal; // 0 when it exited
};

static void *reaper_main(void *arg) {
  struct reaper *r = arg;
  int status = 0;
  pid_t got;
  do got = waitpid(r->pid, &status, 0);
  while (got < 0 && errno == EINTR);
  struct exit_status *st = malloc(sizeof *st);
  if (st) {
    decode_wait_status(got, status, &st->code, &st->signal);
    napi_call_threadsafe_function(r->tsfn, st, napi_tsfn_blocking);
  }
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  free(r);
  return NULL;
}

static void call_on_exit(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  struct exit_status *st = data;
  if (env && cb) {
    napi_value args[2], undefined;
    exit_args(env, st->code, st->signal, args);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 2, args, NULL);
  }
  free(st);
}

int spawn_child(const char *file, char *const *argv, char *const *envp, const char *cwd, const int *fds, uint32_t nfds, bool new_session, pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  for (uint32_t i = 0; i < nfds; i++) {
    if (fds[i] < 0) posix_spawn_file_actions_addopen(&fa, (int)i, "/dev/null", O_RDWR, 0);
    else posix_spawn_file_actions_adddup2(&fa, fds[i], (int)i);
  }
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  // Node ignores SIGPIPE; children must get default dispositions and no blocked signals.
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (new_session ? POSIX_SPAWN_SETSID : 0);
  posix_spawnattr_setflags(&attr, flags);
  int rc = posix_spawnp(pid, file, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

void exit_args(napi_env env, int code, int signal, napi_value out[2]) {
  if (signal) napi_get_null(env, &out[0]);
  else napi_create_int32(env, code, &out[0]);
  napi_create_int32(env, signal, &out[1]);
}

void read_command(napi_env env, const napi_value argv[4], struct command *c) {
  c->file = dup_string(env, argv[0]);
  c->args = string_array(env, argv[1], NULL);
  c->envp = string_array(env, argv[2], NULL);
  napi_valuetype cwd_type;
  napi_typeof(env, argv[3], &cwd_type);
  c->cwd = cwd_type == napi_string ? dup_string(env, argv[3]) : NULL;
}

void free_command(struct command *c) {
  free(c->file);
  free_strings(c->args);
  free_strings(c->envp);
  free(c->cwd);
}

void decode_wait_status(pid_t got, int status, int *code, int *signal) {
  if (got < 0) {
    *code = 255;
    *signal = 0;
  } else if (WIFSIGNALED(status)) {
    *code = -1;
    *signal = WTERMSIG(status);
  } else {
    *code = WEXITSTATUS(status);
    *signal = 0;
  }
}

// spawnProcess(file, argv, env, cwd|null, fds, setsid, onExit(code|null, signal)): pid
// fds[i] becomes the child's fd i (-1: /dev/null). The file is looked up on PATH.
napi_value spawn_process(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "spawnProcess(file, argv, env, cwd, fds, setsid, onExit)");
    return NULL;
  }
  struct command cmd;
  read_command(env, argv, &cmd);
  uint32_t nfds = 0;
  bool is_array = false;
  napi_is_array(env, argv[4], &is_array);
  if (is_array) napi_get_array_length(env, argv[4], &nfds);
  bool setsid_flag = false;
  napi_get_value_bool(env, argv[5], &setsid_flag);
  napi_value result = NULL;
  int fds[16];
  int temps[16];
  int ntemps = 0;
  if (!cmd.file || !cmd.args || !cmd.envp || nfds > 16) {
    napi_throw_type_error(env, NULL, "spawnProcess: file, argv and env must be strings; at most 16 fds");
    goto out;
  }
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    int32_t fd = -1;
    napi_get_element(env, argv[4], i, &v);
    napi_get_value_int32(env, v, &fd);
    // A source fd inside the target range could be overwritten by an earlier
    // dup2: move it above the range first.
    if (fd >= 0 && (uint32_t)fd < nfds) {
      int moved = fcntl(fd, F_DUPFD_CLOEXEC, (int)nfds);
      if (moved < 0) {
        throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", errno);
        goto out;
      }
      temps[ntemps++] = moved;
      fd = moved;
    }
    fds[i] = fd;
  }
  {
    pid_t pid;
    int rc = spawn_child(cmd.file, cmd.args, cmd.envp, cmd.cwd, fds, nfds, setsid_flag, &pid);
    if (rc != 0) {
      char what[4200];
      snprintf(what, sizeof what, "cannot run %s", cmd.file);
      throw_errno(env, what, rc);
      goto out;
    }
    struct reaper *r = malloc(sizeof *r);
    napi_value name;
    napi_create_string_utf8(env, "skiff-child-exit", NAPI_AUTO_LENGTH, &name);
    r->pid = pid;
    napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, NULL, NULL, NULL, call_on_exit, &r->tsfn);
    rc = start_detached_thread(reaper_main, r, 64 * 1024);
    if (rc != 0) {
      // Without a reaper the child would stay a zombie: reap it here, blocking.
      int status;
      waitpid(pid, &status, 0);
      napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
      free(r);
      throw_errno(env, "pthread_create", rc);
      goto out;
    }
    napi_create_int32(env, pid, &result);
  }
out:
  for (int i = 0; i < ntemps; i++) close(temps[i]);
  free_command(&cmd);
  return result;
}

