// Work done from inside a pod's network namespace, on a short-lived thread
// (setns on a thread changes only that thread): connectInNetns() connects to
// the pod's localhost for port-forward and returns the socket, which keeps its
// namespace; readNetDevInNetns() reads /proc/thread-self/net/dev for pod stats
// (a pod may have no process whose /proc/<pid>/net to read).

#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

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
int enter_netns(const char *path, const char **step) {
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
napi_value connect_in_netns(napi_env env, napi_callback_info info) {
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
  int rc = run_on_own_thread(netns_connect_main, &c);
  if (rc != 0) return throw_errno(env, "pthread_create", rc);
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
napi_value read_net_dev_in_netns(napi_env env, napi_callback_info info) {
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
  int rc = run_on_own_thread(netns_read_main, &r);
  if (rc != 0) {
    free(r.buf);
    return throw_errno(env, "pthread_create", rc);
  }
  if (r.err) {
    free(r.buf);
    return throw_errno(env, r.step, r.err);
  }
  napi_value out;
  napi_create_string_utf8(env, r.buf, r.len, &out);
  free(r.buf);
  return out;
}

