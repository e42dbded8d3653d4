// conmon's attach socket is AF_UNIX SOCK_SEQPACKET, which libuv cannot wrap.
// seqpacketBridge() connects to it and relays, on a detached thread, between
// it and one end of a SOCK_STREAM socketpair that Node can wrap. Packets from
// conmon arrive length-prefixed (u32 big endian); bytes written by Node are
// sent as packets of at most 8192 bytes (conmon's read size).

#include "common.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#define CONMON_READ_SIZE 8192
#define PACKET_MAX 65536
// A client this far behind is dropped, as conmon itself would drop it.
#define QUEUE_MAX (64u << 20)

struct relay {
  int seq;
  int stream;
};

// Bytes waiting to be sent on, in either direction. The thread never blocks:
// conmon's packets are taken off the socket at once and queued however slowly
// Node reads, so conmon (single-threaded: it also copies the container's
// output to the log) is not held up by a slow client; and stdin is queued for
// conmon rather than waited on, since a thread stuck writing stdin could not
// read output, and conmon and the thread could each wait for the other.
struct queue {
  char *data;
  size_t off, len, cap;
};

static size_t queued(const struct queue *q) {
  return q->len - q->off;
}

static int queue_put(struct queue *q, const char *p, size_t n) {
  if (q->off > 0 && q->off == q->len) q->off = q->len = 0;
  if (q->len + n > q->cap) {
    if (q->off > 0) {
      memmove(q->data, q->data + q->off, q->len - q->off);
      q->len -= q->off;
      q->off = 0;
    }
    size_t cap = q->cap ? q->cap : 65536;
    while (q->len + n > cap) cap *= 2;
    if (cap != q->cap) {
      char *grown = realloc(q->data, cap);
      if (!grown) return -1;
      q->data = grown;
      q->cap = cap;
    }
  }
  memcpy(q->data + q->len, p, n);
  q->len += n;
  return 0;
}

static void *relay_main(void *arg) {
  struct relay r = *(struct relay *)arg;
  free(arg);
  char *buf = malloc(PACKET_MAX + 4);
  struct queue out = {0}; // conmon -> Node, length-prefixed packets
  struct queue in = {0};  // Node -> conmon, raw stdin bytes
  int seq_open = 1;       // conmon may still send output
  int stdin_open = 1;     // Node may still send input
  int eof_sent = 0;       // Node was told the output ended
  int stdin_closed = 0;   // conmon was told stdin ended
  fcntl(r.stream, F_SETFL, fcntl(r.stream, F_GETFL) | O_NONBLOCK);
  fcntl(r.seq, F_SETFL, fcntl(r.seq, F_GETFL) | O_NONBLOCK);
  while (buf) {
    if (!seq_open && !queued(&out) && !eof_sent) {
      shutdown(r.stream, SHUT_WR);
      eof_sent = 1;
    }
    if (!stdin_open && !queued(&in) && !stdin_closed) {
      shutdown(r.seq, SHUT_WR);
      stdin_closed = 1;
    }
    if (eof_sent && stdin_closed) break;
    // Stop taking stdin from Node while conmon is slow to take it (Node then buffers).
    short stream_events = (stdin_open && queued(&in) < (1u << 20) ? POLLIN : 0) | (queued(&out) ? POLLOUT : 0);
    short seq_events = (seq_open ? POLLIN : 0) | (queued(&in) && !stdin_closed ? POLLOUT : 0);
    struct pollfd p[2] = {{r.seq, seq_events, 0}, {r.stream, stream_events, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      for (;;) {
        ssize_t n = recv(r.seq, buf + 4, PACKET_MAX, 0);
        if (n > 0) {
          uint32_t len = htonl((uint32_t)n);
          memcpy(buf, &len, 4);
          if (queued(&out) > QUEUE_MAX || queue_put(&out, buf, (size_t)n + 4) < 0) goto done;
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) seq_open = 0;
        break;
      }
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      seq_open = 0;
    }
    if (p[0].revents & POLLOUT) {
      while (queued(&in)) {
        size_t n = queued(&in) < CONMON_READ_SIZE ? queued(&in) : CONMON_READ_SIZE;
        ssize_t w = send(r.seq, in.data + in.off, n, MSG_NOSIGNAL);
        if (w > 0) {
          in.off += (size_t)w;
          continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          // conmon is gone: input has nowhere to go.
          in.off = in.len;
          stdin_closed = 1;
        }
        break;
      }
    }
    if (p[1].revents & POLLOUT) {
      while (queued(&out)) {
        ssize_t w = send(r.stream, out.data + out.off, queued(&out), MSG_NOSIGNAL);
        if (w > 0) {
          out.off += (size_t)w;
          continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) goto done;
        break;
      }
    }
    if (p[1].revents & POLLIN) {
      ssize_t n = read(r.stream, buf, PACKET_MAX);
      if (n > 0) {
        if (queue_put(&in, buf, (size_t)n) < 0) break;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        // Node ended its side: the client closed stdin.
        stdin_open = 0;
      }
    }
    // Node closed the socket entirely: nobody is left to read conmon's output.
    if (p[1].revents & (POLLHUP | POLLERR)) break;
  }
done:
  free(in.data);
  free(out.data);
  free(buf);
  close(r.seq);
  close(r.stream);
  return NULL;
}

// seqpacketBridge(path: string): number
napi_value seqpacket_bridge(napi_env env, napi_callback_info info) {
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
  int rc = start_detached_thread(relay_main, r, 256 * 1024);
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

