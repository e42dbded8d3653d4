// PortForward over SPDY (portforward.k8s.io): for each connection the client
// opens an error stream and a data stream with the same "requestID" and
// "port" headers; the data stream is joined to a TCP connection to that port
// on the pod's localhost. The SPDY connection lives until the client closes it.

import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { StreamingBackend } from "./requests.js";
import type { SpdySession, SpdyStream } from "./spdy/session.js";

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
}

export function parsePort(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

export function serveSpdyPortForward(session: SpdySession, sandboxId: string, backend: StreamingBackend, log: Logger): Promise<void> {
  const pairs = new Map<string, Pair>();
  session.on("stream", (s) => {
    const type = s.header("streamtype");
    // Clients older than requestID pair streams by id: the error stream comes first.
    const requestId = s.header("requestid") ?? String(type === "data" ? s.id - 2 : s.id);
    if (type !== "data" && type !== "error") {
      s.destroy();
      return;
    }
    const pair = pairs.get(requestId) ?? {};
    pair[type] = s;
    pairs.set(requestId, pair);
    if (pair.data && pair.error) {
      pairs.delete(requestId);
      void forward(pair.data, pair.error, sandboxId, backend, log);
    }
  });
  return new Promise((resolve) => session.once("close", resolve));
}

async function forward(data: SpdyStream, error: SpdyStream, sandboxId: string, backend: StreamingBackend, log: Logger): Promise<void> {
  const port = parsePort(data.header("port"));
  const fail = (message: string) => {
    error.end(Buffer.from(message));
    data.end();
  };
  if (port === undefined) {
    fail(`invalid port header ${JSON.stringify(data.header("port") ?? "")}: a port is 1-65535`);
    return;
  }
  let sock;
  try {
    sock = await backend.connectPort(sandboxId, port);
  } catch (err) {
    log.info({ port, err: errorMessage(err) }, "port-forward connection failed");
    fail(`error forwarding port ${port} to pod ${sandboxId}: ${errorMessage(err)}`);
    return;
  }
  data.pipe(sock);
  sock.pipe(data);
  sock.on("error", (err) => {
    if (!error.writableEnded) error.end(Buffer.from(`error forwarding port ${port} to pod ${sandboxId}: ${err.message}`));
  });
  data.on("error", () => sock.destroy());
  data.on("close", () => sock.destroy());
  sock.on("close", () => {
    if (!error.writableEnded) error.end();
    if (!data.writableEnded) data.end();
  });
}
