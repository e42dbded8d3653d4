// createPodNamespaces() makes a pod's net/ipc/uts namespaces on a thread
// (unshare there changes only that thread), pins them with bind mounts on
// files it creates, sets the hostname, brings lo up and writes the pod's
// sysctls from inside, without starting a process (unshare + sh + ip took
// ~15 ms of a pod's start) and in one pool job.
//
// A pod with a user namespace needs a process instead: a multithreaded
// process cannot unshare or enter a user namespace. A clone()d child makes the
// user namespace together with the others (so that it owns them: root in the
// pod may then bind low ports and set its hostname), waits for its id maps to
// be written, configures the namespaces from inside and stays until they are
// pinned from its /proc entry. The child only makes syscalls on memory it
// already has: after clone() in a multithreaded process, no locks are safe.

#include "common.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct pod_ns {
  char *net, *ipc, *uts; // pin files, NULL when not wanted
  char *user;            // pin file of a new user namespace, NULL for the host's
  char *uid_map, *gid_map; // its /proc/<pid>/{uid,gid}_map contents
  char *hostname;        // NULL: keep
  char **sysctl_paths;
  char **sysctl_values;
  size_t sysctls;
  int err;
  char step[512];
};

static int write_text(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t n = strlen(value);
  ssize_t w = write(fd, value, n);
  int rc = w == (ssize_t)n ? 0 : (w < 0 ? errno : EIO);
  close(fd);
  return rc;
}

#define FAIL(e, ...)                                \
  do {                                              \
    p->err = (e);                                   \
    snprintf(p->step, sizeof p->step, __VA_ARGS__); \
    return -1;                                      \
  } while (0)

static int ns_flags(const struct pod_ns *p) {
  return (p->net ? CLONE_NEWNET : 0) | (p->ipc ? CLONE_NEWIPC : 0) | (p->uts ? CLONE_NEWUTS : 0);
}

// Bind-mounts <proc_dir>/ns/<kind> onto each wanted pin file.
static int pin_all(struct pod_ns *p, const char *proc_dir) {
  const char *kinds[4] = {"user", "net", "ipc", "uts"};
  const char *pins[4] = {p->user, p->net, p->ipc, p->uts};
  for (int i = 0; i < 4; i++) {
    if (!pins[i]) continue;
    char src[96];
    snprintf(src, sizeof src, "%s/ns/%s", proc_dir, kinds[i]);
    if (mount(src, pins[i], NULL, MS_BIND, NULL) < 0) FAIL(errno, "bind-mount the %s namespace onto %s", kinds[i], pins[i]);
  }
  return 0;
}

// From inside the new namespaces: hostname, lo up, sysctls.
static int configure(struct pod_ns *p) {
  if (p->uts && p->hostname && *p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) FAIL(errno, "set the hostname");
  if (p->net) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) FAIL(errno, "socket for lo");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
      ifr.ifr_flags |= IFF_UP;
      rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    if (rc < 0) FAIL(e, "bring lo up");
  }
  for (size_t i = 0; i < p->sysctls; i++) {
    int rc = write_text(p->sysctl_paths[i], p->sysctl_values[i]);
    if (rc) FAIL(rc, "write %s", p->sysctl_paths[i]);
  }
  return 0;
}

static void *pod_ns_main(void *arg) {
  struct pod_ns *p = arg;
  if (unshare(ns_flags(p)) < 0) {
    p->err = errno;
    snprintf(p->step, sizeof p->step, "unshare");
    return NULL;
  }
  if (pin_all(p, "/proc/thread-self") == 0) configure(p);
  return NULL;
}

static int write_map(struct pod_ns *p, pid_t pid, const char *kind, const char *map) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, kind);
  int rc = write_text(path, map);
  if (rc) FAIL(rc, "write %s \"%s\"", kind, map);
  return 0;
}

// The child: waits for its maps, configures, reports, then waits for the
// parent's end of `go` to close (the parent pinned its namespaces, or died).
static void userns_child(struct pod_ns *p, int go[2], int result[2]) {
  close(go[1]);
  close(result[0]);
  char c;
  if (read(go[0], &c, 1) != 1) _exit(1);
  configure(p);
  ssize_t unused = write(result[1], p, sizeof *p); // err and step travel in the struct's copy
  (void)unused;
  while (read(go[0], &c, 1) > 0) {
  }
  _exit(0);
}

static int with_userns_child(struct pod_ns *p) {
  int go[2], result[2];
  if (pipe2(go, O_CLOEXEC) < 0) FAIL(errno, "pipe");
  if (pipe2(result, O_CLOEXEC) < 0) {
    int e = errno;
    close(go[0]);
    close(go[1]);
    FAIL(e, "pipe");
  }
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | ns_flags(p) | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) userns_child(p, go, result);
  int clone_err = errno;
  close(go[0]);
  close(result[1]);
  int rc = -1;
  if (pid < 0) {
    p->err = clone_err;
    snprintf(p->step, sizeof p->step, "clone a process in a new user namespace");
  } else if (write_map(p, pid, "uid_map", p->uid_map) == 0 && write_map(p, pid, "gid_map", p->gid_map) == 0) {
    struct pod_ns reported;
    if (write(go[1], "g", 1) != 1 || read(result[0], &reported, sizeof reported) != (ssize_t)sizeof reported) {
      p->err = errno ? errno : EIO;
      snprintf(p->step, sizeof p->step, "hear from the process in the new user namespace");
    } else if (reported.err) {
      p->err = reported.err;
      memcpy(p->step, reported.step, sizeof p->step);
      p->step[sizeof p->step - 1] = 0;
    } else {
      char proc_dir[32];
      snprintf(proc_dir, sizeof proc_dir, "/proc/%d", (int)pid);
      rc = pin_all(p, proc_dir);
    }
  }
  close(go[1]); // the child exits
  close(result[0]);
  if (pid > 0) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  return rc;
}
#undef FAIL

// mkdir -p of the directory that holds path (made with mode), 0 or an errno.
static int make_parent(const char *path, mode_t mode) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir) return 0;
  memcpy(dir, path, slash - path);
  dir[slash - path] = 0;
  for (char *c = dir + 1;; c++) {
    if (*c == '/' || *c == 0) {
      char saved = *c;
      *c = 0;
      if (mkdir(dir, mode) < 0 && errno != EEXIST) return errno;
      if (!saved) return 0;
      *c = saved;
    }
  }
}

// The empty files the namespaces are bind-mounted onto.
static int make_pin_files(struct pod_ns *p) {
  const char *pins[4] = {p->user, p->net, p->ipc, p->uts};
  for (int i = 0; i < 4; i++) {
    if (!pins[i]) continue;
    int rc = make_parent(pins[i], 0711);
    if (rc) {
      p->err = rc;
      snprintf(p->step, sizeof p->step, "make the directory of %s", pins[i]);
      return -1;
    }
    int fd = open(pins[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      p->err = errno;
      snprintf(p->step, sizeof p->step, "create %s", pins[i]);
      return -1;
    }
    close(fd);
  }
  return 0;
}

static void run(void *arg) {
  struct pod_ns *p = arg;
  if (p->err || !(p->user || p->net || p->ipc || p->uts)) return;
  if (make_pin_files(p) < 0) return;
  if (p->user) {
    if (!p->uid_map || !p->gid_map) {
      p->err = EINVAL;
      snprintf(p->step, sizeof p->step, "a user namespace needs uidMap and gidMap");
      return;
    }
    with_userns_child(p);
    return;
  }
  int rc = run_on_own_thread(pod_ns_main, p);
  if (rc != 0) {
    p->err = rc;
    snprintf(p->step, sizeof p->step, "pthread_create");
  }
}

static napi_value done(napi_env env, void *arg) {
  struct pod_ns *p = arg;
  napi_value error = p->err ? errno_error(env, p->step, p->err) : NULL;
  for (size_t i = 0; i < p->sysctls; i++) {
    free(p->sysctl_paths[i]);
    free(p->sysctl_values[i]);
  }
  free(p->sysctl_paths);
  free(p->sysctl_values);
  free(p->net);
  free(p->ipc);
  free(p->uts);
  free(p->user);
  free(p->uid_map);
  free(p->gid_map);
  free(p->hostname);
  free(p);
  return error;
}

// createPodNamespaces({ user?, uidMap?, gidMap?, net?, ipc?, uts?, hostname?, sysctls: [[path, value]...] }): Promise<void>
// The work runs from libuv's pool, on a thread of its own (unshare changes only that thread),
// or with a user namespace in a child process.
napi_value create_pod_namespaces(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "createPodNamespaces(options)");
    return NULL;
  }
  struct pod_ns *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "createPodNamespaces", ENOMEM);
  p->net = optional_prop(env, argv[0], "net");
  p->ipc = optional_prop(env, argv[0], "ipc");
  p->uts = optional_prop(env, argv[0], "uts");
  p->user = optional_prop(env, argv[0], "user");
  p->uid_map = optional_prop(env, argv[0], "uidMap");
  p->gid_map = optional_prop(env, argv[0], "gidMap");
  p->hostname = optional_prop(env, argv[0], "hostname");
  napi_value list;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_get_named_property(env, argv[0], "sysctls", &list) == napi_ok && napi_is_array(env, list, &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, list, &count);
  }
  p->sysctl_paths = calloc(count + 1, sizeof(char *));
  p->sysctl_values = calloc(count + 1, sizeof(char *));
  if (!p->sysctl_paths || !p->sysctl_values) {
    done(env, p);
    return throw_errno(env, "createPodNamespaces", ENOMEM);
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value pair, k, v;
    napi_get_element(env, list, i, &pair);
    napi_get_element(env, pair, 0, &k);
    napi_get_element(env, pair, 1, &v);
    p->sysctl_paths[i] = dup_string(env, k);
    p->sysctl_values[i] = dup_string(env, v);
    if (!p->sysctl_paths[i] || !p->sysctl_values[i]) {
      p->err = EINVAL;
      snprintf(p->step, sizeof p->step, "sysctl %u is not a [path, value] pair of strings", i);
    }
    p->sysctls = i + 1;
  }
  return run_on_pool(env, "skiff:createPodNamespaces", run, done, p);
}
