// Shared by the addon's files: includes, small N-API helpers, and the entry
// points that addon.c registers.

#ifndef SKIFF_NATIVE_COMMON_H
#define SKIFF_NATIVE_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <node_api.h>

// Throws a JS Error "<what>: <strerror(err)>" (code ENOENT, ECONNREFUSED or ESYSCALL); returns NULL.
napi_value throw_errno(napi_env env, const char *what, int err);
// An Error (not thrown) "<what>: <strerror(err)>" with code set to the errno's name (EINVAL...) and errno to its number.
napi_value errno_error(napi_env env, const char *what, int err);
// Copies a JS string into buf; -1 if it is not a string or does not fit.
int get_string(napi_env env, napi_value v, char *buf, size_t size);
// A malloc'd copy of a JS string, or NULL.
char *dup_string(napi_env env, napi_value v);
// obj[name] as a malloc'd string, or NULL when absent or not a string.
char *optional_prop(napi_env env, napi_value obj, const char *name);
// A NULL-terminated malloc'd copy of a JS string array (count set if non-NULL), or NULL.
char **string_array(napi_env env, napi_value arr, uint32_t *count);
void free_strings(char **a);
// send() until all is written (MSG_NOSIGNAL); -1 on error.
int send_all(int fd, const char *p, size_t n);
// Moves the calling thread (only) into the network namespace at path: 0, or an errno with *step set.
int enter_netns(const char *path, const char **step);
// Runs fn(arg) on a new thread and waits for it: for work that changes the
// thread's own namespaces or cwd. 0, or pthread_create's error.
int run_on_own_thread(void *(*fn)(void *), void *arg);
// Runs run(arg) on libuv's thread pool and returns a promise; done(env, arg)
// then runs on the JS thread, frees arg and returns an error to reject with,
// or NULL to resolve. For blocking syscalls that must not stall the event loop.
napi_value run_on_pool(napi_env env, const char *name, void (*run)(void *arg), napi_value (*done)(napi_env env, void *arg), void *arg);
// The same for a job with a value: done sets *result (the promise's value) when it returns NULL.
napi_value run_on_pool_with_result(napi_env env, const char *name, void (*run)(void *arg), napi_value (*done)(napi_env env, void *arg, napi_value *result), void *arg);
// Starts fn(arg) on a detached thread with a small stack. 0, or pthread_create's error.
int start_detached_thread(void *(*fn)(void *), void *arg, size_t stack_size);
// posix_spawnp with fds[i] as the child's fd i (-1: /dev/null; none may lie in 0..nfds-1), default signal
// dispositions and mask, optionally in a new session (spawn.c). 0, or posix_spawn's error.
int spawn_child(const char *file, char *const *argv, char *const *envp, const char *cwd, const int *fds, uint32_t nfds, bool new_session, pid_t *pid);
// A waitpid() result as an exit code (-1 when signalled, 255 when waitpid failed) and a signal number.
void decode_wait_status(pid_t got, int status, int *code, int *signal);
// The first two arguments of an exit callback: the code (null when signalled) and the signal number.
void exit_args(napi_env env, int code, int signal, napi_value out[2]);
// A program to start, from JS (file, argv, env, cwd|null): malloc'd copies, NULL where a value was not a string (array).
struct command {
  char *file, **args, **envp, *cwd;
};
void read_command(napi_env env, const napi_value argv[4], struct command *c);
void free_command(struct command *c);

napi_value seqpacket_bridge(napi_env env, napi_callback_info info);
napi_value connect_in_netns(napi_env env, napi_callback_info info);
napi_value read_net_dev_in_netns(napi_env env, napi_callback_info info);
napi_value notify_systemd(napi_env env, napi_callback_info info);
napi_value trim_memory(napi_env env, napi_callback_info info);
napi_value create_pod_namespaces(napi_env env, napi_callback_info info);
napi_value mount_fs(napi_env env, napi_callback_info info);
napi_value unmount_fs(napi_env env, napi_callback_info info);
napi_value make_socket_pair(napi_env env, napi_callback_info info);
napi_value close_fd(napi_env env, napi_callback_info info);
napi_value spawn_process(napi_env env, napi_callback_info info);
napi_value run_captured(napi_env env, napi_callback_info info);
napi_value append_durable(napi_env env, napi_callback_info info);
napi_value replace_file(napi_env env, napi_callback_info info);
napi_value read_small_files(napi_env env, napi_callback_info info);
napi_value idmap_mount(napi_env env, napi_callback_info info);
napi_value inflater_create(napi_env env, napi_callback_info info);
napi_value inflater_run(napi_env env, napi_callback_info info);
napi_value inflater_reset(napi_env env, napi_callback_info info);
napi_value inflater_close(napi_env env, napi_callback_info info);
napi_value sha256_create(napi_env env, napi_callback_info info);
napi_value write_hashed(napi_env env, napi_callback_info info);
napi_value sha256_hex(napi_env env, napi_callback_info info);
napi_value apply_layer_ops(napi_env env, napi_callback_info info);
napi_value sealed_copy(napi_env env, napi_callback_info info);

#endif
