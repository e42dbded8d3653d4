// sd_notify: notifySystemd() sends one datagram to $NOTIFY_SOCKET (Node has no
// unix datagram sockets).

#include "common.h"

#include <sys/socket.h>
#include <sys/un.h>

// notifySystemd(socketPath: string, message: string): void
napi_value notify_systemd(napi_env env, napi_callback_info info) {
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

