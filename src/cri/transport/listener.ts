// The CRI socket's listener. skiff owns the unix socket and hands each
// connection to grpc-js (its connection injector), so that it can first see
// the client's first request headers:
// - a usable :authority (what grpc-js, newer grpc-go and C-core before 1.57
//   send): the socket itself goes to grpc-js, untouched from then on;
// - the socket path or anything else Node's HTTP/2 would refuse (kubelet and
//   crictl up to ~1.30, C-core 1.57+, grpc-java): the connection goes through
//   an AuthorityRewriter for its whole life.
// Clients such as grpc-go wait for the server's SETTINGS before their first
// request, so the listener sends an empty one (a valid server preface) itself.

import net from "node:net";
import { Duplex } from "node:stream";
import type { Logger } from "../../log.js";
import { criConnections } from "../../observability/metrics.js";
import { AuthorityRewriter, isAcceptableAuthority } from "./authority-rewriter.js";
import { emptySettingsFrame } from "./frames.js";

/** Bytes a client may send before its first complete request without being decided on. */
const MAX_TRIAGE_BYTES = 64 * 1024;

export type InjectConnection = (connection: Duplex) => void;

export function listenCri(socketPath: string, inject: InjectConnection, logger: Logger): Promise<net.Server> {
  const server = net.createServer((socket) => triage(socket, inject, logger));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function triage(socket: net.Socket, inject: InjectConnection, logger: Logger): void {
  const rewriter = new AuthorityRewriter();
  const received: Buffer[] = [];
  const rewritten: Buffer[] = [];
  let bytes = 0;

  const stop = () => {
    socket.off("readable", onReadable);
    socket.off("error", onError);
  };
  const onError = (err: Error) => {
    logger.debug({ err: err.message }, "CRI client connection failed before its first request");
    stop();
    socket.destroy();
  };
  const onReadable = () => {
    for (let chunk: Buffer | null; (chunk = socket.read()) !== null; ) {
      received.push(chunk);
      bytes += chunk.length;
      try {
        rewritten.push(...rewriter.push(chunk));
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "closing a CRI client connection that does not speak HTTP/2");
        stop();
        socket.destroy();
        return;
      }
      const seen = rewriter.seen;
      const decided = seen.settingsAcked && seen.firstAuthority !== undefined;
      if (decided && isAcceptableAuthority(seen.firstAuthority ?? undefined)) {
        stop();
        criConnections.inc({ authority: "direct" });
        socket.unshift(withoutRange(Buffer.concat(received), seen.ackRange!));
        inject(socket);
        return;
      }
      if (decided || bytes > MAX_TRIAGE_BYTES) {
        stop();
        criConnections.inc({ authority: "rewritten" });
        logger.debug({ authority: seen.firstAuthority?.slice(0, 80) ?? null }, "CRI client connection: :authority rewritten");
        inject(rewritingConnection(socket, rewriter, rewritten, logger));
        return;
      }
    }
  };
  socket.on("readable", onReadable);
  socket.on("error", onError);
  socket.once("close", stop);
  socket.write(emptySettingsFrame());
}

function withoutRange(buf: Buffer, [start, end]: [number, number]): Buffer {
  return Buffer.concat([buf.subarray(0, start), buf.subarray(end)]);
}

/**
 * A Duplex for grpc-js: what it reads is the client's bytes after the
 * rewriter, what it writes goes to the client as is.
 */
function rewritingConnection(socket: net.Socket, rewriter: AuthorityRewriter, pending: Buffer[], logger: Logger): Duplex {
  const conn = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    // Node's HTTP/2 writes a reply's headers, message and trailers to a JS
    // stream as separate chunks under cork(): one writev (one syscall, one
    // wake-up of the client) instead of one write each.
    writev(chunks: { chunk: Buffer }[], cb) {
      socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]!.chunk);
      socket.write(chunks[chunks.length - 1]!.chunk, cb);
      socket.uncork();
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  for (const b of pending) conn.push(b);
  socket.on("data", (chunk: Buffer) => {
    let out: Buffer[];
    try {
      out = rewriter.push(chunk);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "closing a CRI client connection whose headers cannot be rewritten");
      conn.destroy();
      return;
    }
    let more = true;
    for (const b of out) more = conn.push(b) && more;
    if (!more) socket.pause();
  });
  socket.on("end", () => conn.push(null));
  socket.on("close", () => conn.destroy());
  socket.on("error", (err) => conn.destroy(err));
  return conn;
}
