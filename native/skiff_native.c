// The two socket operations Node.js cannot do by itself, for the streaming
// server:
//  - conmon's attach socket is AF_UNIX SOCK_SEQPACKET, which libuv cannot wrap.
//    seqpacketBridge() connects to it and relays, on a detached thread, between
//    it and one end of a SOCK_STREAM socketpair that Node can wrap. Packets from
//    conmon arrive length-prefixed (u32 big endian); bytes written by Node are
//    sent as packets of at most 8192 bytes (conmon's read size).
//  - port-forward must connect from inside a pod's network namespace.
//    connectInNetns() does the setns() on a short-lived thread (setns on a
//    thread changes only that thread), connects to the pod's loopback there and
//    returns the connected TCP socket, which keeps its namespace.
//  - pod network stats are /proc/net/dev as seen from the pod's namespace:
//    readNetDevInNetns() reads /proc/thread-self/net/dev from a thread that
//    entered it (a pod may have no process whose /proc/<pid>/net to read).
//  - sd_notify: notifySystemd() sends one datagram to $NOTIFY_SOCKET (Node has
//    no unix datagram sockets).
//  - pod start latency: createPodNamespaces() makes a pod's net/ipc/uts
//    namespaces on a thread (unshare there changes only that thread), pins them
//    with bind mounts, sets the hostname, brings lo up and writes the pod's
//    sysctls, without starting a process; mountOverlay() mounts a rootfs with
//    lowerdirs relative to a directory (a thread-private cwd), without
//    starting mount(8).
//  - spawnProcess(): posix_spawn, which glibc does with CLONE_VFORK. Node's
//    child_process forks, copying the daemon's page tables on the event loop
//    (~3 ms at skiff's size, per runc or CNI call); a thread reaps the child.
// Everything else stays in TypeScript.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <spawn.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <net/if.h>
#include <unistd.h>

#include <node_api.h>

#define CONMON_READ_SIZE 8192
#define PACKET_MAX 65536

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[4608];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == ENOENT ? "ENOENT" : err == ECONNREFUSED ? "ECONNREFUSED" : "ESYSCALL", msg);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return -1;
  return len + 1 >= size ? -1 : 0;
}

static int send_all(int fd, const char *p, size_t n) {
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

struct relay {
  int seq;
  int stream;
};

static void *relay_main(void *arg) {
  struct relay r = *(struct relay *)arg;
  free(arg);
  char *buf = malloc(PACKET_MAX + 4);
  int seq_open = 1, stream_open = 1;
  while (buf && (seq_open || stream_open)) {
    struct pollfd p[2] = {{r.seq, seq_open ? POLLIN : 0, 0}, {r.stream, stream_open ? POLLIN : 0, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      ssize_t n = recv(r.seq, buf + 4, PACKET_MAX, 0);
      if (n > 0) {
        uint32_t len = htonl((uint32_t)n);
        memcpy(buf, &len, 4);
        if (send_all(r.stream, buf, (size_t)n + 4) < 0) break;
      } else if (n == 0 || errno != EINTR) {
        seq_open = 0;
        shutdown(r.stream, SHUT_WR);
      }
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      seq_open = 0;
      shutdown(r.stream, SHUT_WR);
    }
    if (p[1].revents & POLLIN) {
      ssize_t n = read(r.stream, buf, CONMON_READ_SIZE);
      if (n > 0) {
        if (send_all(r.seq, buf, (size_t)n) < 0) {
          stream_open = 0;
        }
      } else if (n == 0 || errno != EINTR) {
        // Node ended its side: the client closed stdin.
        stream_open = 0;
        shutdown(r.seq, SHUT_WR);
      }
    }
    // Node closed the socket entirely: nobody is left to read conmon's output.
    if (p[1].revents & (POLLHUP | POLLERR)) break;
  }
  free(buf);
  close(r.seq);
  close(r.stream);
  return NULL;
}

// seqpacketBridge(path: string): number
static napi_value seqpacket_bridge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  if (argc < 1 || get_string(env, argv[0], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "seqpacketBridge(path): path must be a string shorter than 4096 bytes");
    return NULL;
  }
  // Socket paths are limited to 108 bytes; going through an O_PATH descriptor
  // lifts that limit.
  int pathfd = open(path, O_PATH | O_CLOEXEC);
  if (pathfd < 0) return throw_errno(env, path, errno);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", pathfd);
  int seq = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (seq < 0) {
    int e = errno;
    close(pathfd);
    return throw_errno(env, "socket(SOCK_SEQPACKET)", e);
  }
  if (connect(seq, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(pathfd);
    close(seq);
    return throw_errno(env, path, e);
  }
  close(pathfd);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    int e = errno;
    close(seq);
    return throw_errno(env, "socketpair", e);
  }
  struct relay *r = malloc(sizeof *r);
  r->seq = seq;
  r->stream = pair[1];
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&t, &attr, relay_main, r);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    free(r);
    close(seq);
    close(pair[0]);
    close(pair[1]);
    return throw_errno(env, "pthread_create", rc);
  }
  napi_value out;
  napi_create_int32(env, pair[0], &out);
  return out;
}

struct netns_connect {
  const char *ns_path;
  int port;
  int fd;
  int err;
  const char *step;
};

static int connect_loopback(int family, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  if (family == AF_INET) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Moves the calling thread (only) into the network namespace at path. 0, or
// an errno with *step naming what failed.
static int enter_netns(const char *path, const char **step) {
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    *step = "open network namespace";
    return errno;
  }
  int rc = setns(ns, CLONE_NEWNET) < 0 ? errno : 0;
  if (rc) *step = "enter network namespace";
  close(ns);
  return rc;
}

static void *netns_connect_main(void *arg) {
  struct netns_connect *c = arg;
  c->fd = -1;
  if ((c->err = enter_netns(c->ns_path, &c->step)) != 0) return NULL;
  // Like kubelet's other runtimes: IPv4 localhost first, then IPv6.
  c->fd = connect_loopback(AF_INET, c->port);
  if (c->fd < 0) {
    int e4 = errno;
    c->fd = connect_loopback(AF_INET6, c->port);
    if (c->fd < 0) {
      c->err = e4;
      c->step = "connect to localhost in the pod";
    }
  }
  return NULL;
}

// connectInNetns(nsPath: string, port: number): number
static napi_value connect_in_netns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  int32_t port = 0;
  if (argc < 2 || get_string(env, argv[0], path, sizeof path) < 0 || napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      port < 1 || port > 65535) {
    napi_throw_type_error(env, NULL, "connectInNetns(nsPath, port): a path and a port in 1..65535");
    return NULL;
  }
  struct netns_connect c = {.ns_path = path, .port = port, .fd = -1, .err = 0, .step = NULL};
  pthread_t t;
  int rc = pthread_create(&t, NULL, netns_connect_main, &c);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
  pthread_join(t, NULL);
  if (c.fd < 0) {
    char what[256];
    snprintf(what, sizeof what, "%s (port %d)", c.step ? c.step : "connect", port);
    return throw_errno(env, what, c.err);
  }
  napi_value out;
  napi_create_int32(env, c.fd, &out);
  return out;
}

struct netns_read {
  const char *ns_path;
  char *buf;
  size_t size;
  size_t len;
  int err;
  const char *step;
};

static void *netns_read_main(void *arg) {
  struct netns_read *r = arg;
  if ((r->err = enter_netns(r->ns_path, &r->step)) != 0) return NULL;
  int fd = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r->err = errno;
    r->step = "open /proc/thread-self/net/dev";
    return NULL;
  }
  for (;;) {
    ssize_t n = read(fd, r->buf + r->len, r->size - r->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r->len += (size_t)n;
    if (r->len == r->size) break;
  }
  close(fd);
  return NULL;
}

// readNetDevInNetns(nsPath: string): string
static napi_value read_net_dev_in_netns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  if (argc < 1 || get_string(env, argv[0], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "readNetDevInNetns(nsPath): a path");
    return NULL;
  }
  struct netns_read r = {.ns_path = path, .size = 256 * 1024, .len = 0, .err = 0, .step = NULL};
  r.buf = malloc(r.size);
  if (!r.buf) return throw_errno(env, "malloc", ENOMEM);
  pthread_t t;
  int rc = pthread_create(&t, NULL, netns_read_main, &r);
  if (rc != 0) {
    free(r.buf);
    return throw_errno(env, "pthread_create", rc);
  }
  pthread_join(t, NULL);
  if (r.err) {
    free(r.buf);
    return throw_errno(env, r.step, r.err);
  }
  napi_value out;
  napi_create_string_utf8(env, r.buf, r.len, &out);
  free(r.buf);
  return out;
}

// notifySystemd(socketPath: string, message: string): void
static napi_value notify_systemd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  char msg[4096];
  if (argc < 2 || get_string(env, argv[0], path, sizeof path) < 0 || get_string(env, argv[1], msg, sizeof msg) < 0) {
    napi_throw_type_error(env, NULL, "notifySystemd(socketPath, message): two strings");
    return NULL;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t plen = strlen(path);
  if (plen == 0 || plen >= sizeof addr.sun_path) {
    napi_throw_range_error(env, NULL, "notifySystemd: NOTIFY_SOCKET is empty or too long");
    return NULL;
  }
  memcpy(addr.sun_path, path, plen);
  // "@name" is an abstract socket: a leading NUL on the wire.
  if (path[0] == '@') addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(SOCK_DGRAM)", errno);
  ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
  int e = errno;
  close(fd);
  if (n < 0) return throw_errno(env, path, e);
  return NULL;
}

struct pod_ns {
  const char *net, *ipc, *uts; // pin files, NULL when not wanted
  const char *hostname;        // NULL: keep
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

static void *pod_ns_main(void *arg) {
  struct pod_ns *p = arg;
  int flags = (p->net ? CLONE_NEWNET : 0) | (p->ipc ? CLONE_NEWIPC : 0) | (p->uts ? CLONE_NEWUTS : 0);
#define FAIL(e, ...)                                         \
  do {                                                       \
    p->err = (e);                                            \
    snprintf(p->step, sizeof p->step, __VA_ARGS__);          \
    return NULL;                                             \
  } while (0)
  if (unshare(flags) < 0) FAIL(errno, "unshare");
  const char *kinds[3] = {"net", "ipc", "uts"};
  const char *pins[3] = {p->net, p->ipc, p->uts};
  for (int i = 0; i < 3; i++) {
    if (!pins[i]) continue;
    char src[64];
    snprintf(src, sizeof src, "/proc/thread-self/ns/%s", kinds[i]);
    if (mount(src, pins[i], NULL, MS_BIND, NULL) < 0) FAIL(errno, "bind-mount the %s namespace onto %s", kinds[i], pins[i]);
  }
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
#undef FAIL
  return NULL;
}

static char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  if (out && napi_get_value_string_utf8(env, v, out, len + 1, &len) != napi_ok) {
    free(out);
    return NULL;
  }
  return out;
}

static char *optional_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
  return dup_string(env, v);
}

// createPodNamespaces({ net?, ipc?, uts?, hostname?, sysctls: [[path, value]...] }): void
static napi_value create_pod_namespaces(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "createPodNamespaces(options)");
    return NULL;
  }
  struct pod_ns p;
  memset(&p, 0, sizeof p);
  char *net = optional_prop(env, argv[0], "net"), *ipc = optional_prop(env, argv[0], "ipc"), *uts = optional_prop(env, argv[0], "uts");
  char *hostname = optional_prop(env, argv[0], "hostname");
  p.net = net;
  p.ipc = ipc;
  p.uts = uts;
  p.hostname = hostname;
  napi_value list;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_get_named_property(env, argv[0], "sysctls", &list) == napi_ok && napi_is_array(env, list, &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, list, &count);
  }
  p.sysctl_paths = calloc(count + 1, sizeof(char *));
  p.sysctl_values = calloc(count + 1, sizeof(char *));
  for (uint32_t i = 0; i < count; i++) {
    napi_value pair, k, v;
    napi_get_element(env, list, i, &pair);
    napi_get_element(env, pair, 0, &k);
    napi_get_element(env, pair, 1, &v);
    p.sysctl_paths[i] = dup_string(env, k);
    p.sysctl_values[i] = dup_string(env, v);
    if (!p.sysctl_paths[i] || !p.sysctl_values[i]) {
      p.err = EINVAL;
      snprintf(p.step, sizeof p.step, "sysctl %u is not a [path, value] pair of strings", i);
    }
    p.sysctls = i + 1;
  }
  if (!p.err && (p.net || p.ipc || p.uts)) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, pod_ns_main, &p);
    if (rc != 0) {
      p.err = rc;
      snprintf(p.step, sizeof p.step, "pthread_create");
    } else {
      pthread_join(t, NULL);
    }
  }
  for (size_t i = 0; i < p.sysctls; i++) {
    free(p.sysctl_paths[i]);
    free(p.sysctl_values[i]);
  }
  free(p.sysctl_paths);
  free(p.sysctl_values);
  free(net);
  free(ipc);
  free(uts);
  free(hostname);
  if (p.err) return throw_errno(env, p.step, p.err);
  return NULL;
}

struct overlay_mount {
  const char *cwd;
  const char *options;
  const char *target;
  int err;
  const char *step;
};

static void *overlay_main(void *arg) {
  struct overlay_mount *m = arg;
  // A cwd of this thread's own, for the relative lowerdirs.
  if (unshare(CLONE_FS) < 0) {
    m->err = errno;
    m->step = "unshare(CLONE_FS)";
    return NULL;
  }
  if (chdir(m->cwd) < 0) {
    m->err = errno;
    m->step = "chdir to the snapshots directory";
    return NULL;
  }
  if (mount("overlay", m->target, "overlay", 0, m->options) < 0) {
    m->err = errno;
    m->step = "mount overlay";
  }
  return NULL;
}

// mountOverlay(cwd: string, options: string, target: string): void
static napi_value mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char cwd[4096], options[8192], target[4096];
  if (argc < 3 || get_string(env, argv[0], cwd, sizeof cwd) < 0 || get_string(env, argv[1], options, sizeof options) < 0 ||
      get_string(env, argv[2], target, sizeof target) < 0) {
    napi_throw_type_error(env, NULL, "mountOverlay(cwd, options, target): three strings");
    return NULL;
  }
  struct overlay_mount m = {.cwd = cwd, .options = options, .target = target, .err = 0, .step = NULL};
  pthread_t t;
  int rc = pthread_create(&t, NULL, overlay_main, &m);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
  pthread_join(t, NULL);
  if (m.err) {
    char what[4200];
    snprintf(what, sizeof what, "%s on %s", m.step, target);
    return throw_errno(env, what, m.err);
  }
  return NULL;
}

// makeSocketPair(): [parentFd, childFd], both close-on-exec (dup2 clears it on
// the child's copy). The stdio "pipes" of spawned children, as libuv makes them.
static napi_value make_socket_pair(napi_env env, napi_callback_info info) {
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
static napi_value close_fd(napi_env env, napi_callback_info info) {
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
    if (got < 0) {
      st->code = 255;
      st->signal = 0;
    } else if (WIFSIGNALED(status)) {
      st->code = -1;
      st->signal = WTERMSIG(status);
    } else {
      st->code = WEXITSTATUS(status);
      st->signal = 0;
    }
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
    if (st->signal) napi_get_null(env, &args[0]);
    else napi_create_int32(env, st->code, &args[0]);
    napi_create_int32(env, st->signal, &args[1]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 2, args, NULL);
  }
  free(st);
}

static char **string_array(napi_env env, napi_value arr, uint32_t *count) {
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

static void free_strings(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

// spawnProcess(file, argv, env, cwd|null, fds, setsid, onExit(code|null, signal)): pid
// fds[i] becomes the child's fd i (-1: /dev/null). The file is looked up on PATH.
static napi_value spawn_process(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "spawnProcess(file, argv, env, cwd, fds, setsid, onExit)");
    return NULL;
  }
  char *file = dup_string(env, argv[0]);
  char **args = string_array(env, argv[1], NULL);
  char **envp = string_array(env, argv[2], NULL);
  napi_valuetype cwd_type;
  napi_typeof(env, argv[3], &cwd_type);
  char *cwd = cwd_type == napi_string ? dup_string(env, argv[3]) : NULL;
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
  if (!file || !args || !envp || nfds > 16) {
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
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (setsid_flag ? POSIX_SPAWN_SETSID : 0);
    posix_spawnattr_setflags(&attr, flags);
    pid_t pid;
    int rc = posix_spawnp(&pid, file, &fa, &attr, args, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      char what[4200];
      snprintf(what, sizeof what, "cannot run %s", file);
      throw_errno(env, what, rc);
      goto out;
    }
    struct reaper *r = malloc(sizeof *r);
    napi_value name;
    napi_create_string_utf8(env, "skiff-child-exit", NAPI_AUTO_LENGTH, &name);
    r->pid = pid;
    napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, NULL, NULL, NULL, call_on_exit, &r->tsfn);
    pthread_t t;
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&ta, 64 * 1024);
    rc = pthread_create(&t, &ta, reaper_main, r);
    pthread_attr_destroy(&ta);
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
  free(file);
  free_strings(args);
  free_strings(envp);
  free(cwd);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seqpacketBridge", NULL, seqpacket_bridge, NULL, NULL, NULL, napi_default, NULL},
      {"connectInNetns", NULL, connect_in_netns, NULL, NULL, NULL, napi_default, NULL},
      {"readNetDevInNetns", NULL, read_net_dev_in_netns, NULL, NULL, NULL, napi_default, NULL},
      {"notifySystemd", NULL, notify_systemd, NULL, NULL, NULL, napi_default, NULL},
      {"createPodNamespaces", NULL, create_pod_namespaces, NULL, NULL, NULL, napi_default, NULL},
      {"mountOverlay", NULL, mount_overlay, NULL, NULL, NULL, napi_default, NULL},
      {"makeSocketPair", NULL, make_socket_pair, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"spawnProcess", NULL, spawn_process, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
