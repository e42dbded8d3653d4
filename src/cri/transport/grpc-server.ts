// gRPC over HTTP/2 (grpc's doc/PROTOCOL-HTTP2.md) on the CRI's unix socket:
// the request's headers and its one length-prefixed message in; response
// headers, messages and the status trailers out. CRI has no client streaming,
// so a request is read whole before its method runs.
//
// Any :authority is taken: kubelet and crictl up to ~1.30 send the socket path,
// C-core its percent-encoding, newer clients "localhost", some none at all, and
// no CRI call depends on it.

import net from "node:net";
import zlib from "node:zlib";
import type { Logger } from "../../log.js";
import { criConnections } from "../../observability/metrics.js";
import { Status } from "../grpc-errors.js";
import type { CallControl, RpcMethod } from "../service.js";
import { Http2ServerConnection, type ServerStream } from "./h2-connection.js";
import { encodeLiteralBlock, type HeaderField } from "./hpack.js";

/** The length prefix of a gRPC message: a compressed flag and a 4-byte length. */
const PREFIX_BYTES = 5;

const RESPONSE_FIELDS: HeaderField[] = [
  { name: ":status", value: "200" },
  { name: "content-type", value: "application/grpc" },
];
const RESPONSE_HEADERS = encodeLiteralBlock(RESPONSE_FIELDS);
const OK_TRAILERS = encodeLiteralBlock([{ name: "grpc-status", value: "0" }]);

export interface GrpcServerOptions {
  /** Largest request and reply message. */
  maxMessageBytes: number;
}

export interface GrpcServer {
  /** Stops accepting connections and calls; resolves when the open calls end, or cancels them after timeoutMs. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

/** Serves `methods` on a unix socket path (which must be free). */
export function listenGrpc(socketPath: string, methods: RpcMethod[], opts: GrpcServerOptions, logger: Logger): Promise<GrpcServer> {
  const byPath = new Map(methods.map((m) => [m.path, m]));
  const connections = new Set<Http2ServerConnection>();
  const server = net.createServer((socket) => {
    criConnections.inc();
    const calls = new GrpcCalls(byPath, opts, logger);
    const conn = new Http2ServerConnection(socket, calls, logger);
    connections.add(conn);
    socket.once("close", () => {
      connections.delete(conn);
      if (closing && connections.size === 0) closing();
    });
  });
  let closing: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve({
        shutdown(timeoutMs) {
          server.close();
          return new Promise<boolean>((done) => {
            const timer = setTimeout(() => {
              for (const c of connections) c.destroy();
              done(false);
            }, timeoutMs);
            closing = () => {
              clearTimeout(timer);
              done(true);
            };
            if (connections.size === 0) closing();
            for (const c of connections) c.goAway();
          });
        },
      });
    });
  });
}

interface Reply {
  /** Not compressed, and the payload's length. */
  prefix: Buffer;
  payload: Buffer;
}

/** What a stream's call has so far. */
interface CallState {
  method?: RpcMethod;
  body: Buffer[];
  bytes: number;
  /** The message's length, from its prefix once that has arrived. */
  length?: number;
  /** Answered already (a refused request): the rest of its body is dropped. */
  answered: boolean;
}

/** The gRPC calls of one connection. */
class GrpcCalls {
  private readonly calls = new WeakMap<ServerStream, CallState>();

  constructor(
    private readonly methods: Map<string, RpcMethod>,
    private readonly opts: GrpcServerOptions,
    private readonly log: Logger,
  ) {}

  onHeaders(stream: ServerStream): void {
    const state: CallState = { body: [], bytes: 0, answered: false };
    this.calls.set(stream, state);
    if (stream.header(":method") !== "POST") return this.refuse(stream, state, "405");
    const type = stream.header("content-type") ?? "";
    if (type !== "application/grpc" && !type.startsWith("application/grpc+") && !type.startsWith("application/grpc;")) return this.refuse(stream, state, "415");
    const path = stream.header(":path") ?? "";
    state.method = this.methods.get(path);
    if (!state.method) return this.fail(stream, state, Status.UNIMPLEMENTED, `unknown method ${path.slice(0, 200)}: skiff serves runtime.v1's RuntimeService and ImageService`);
  }

  onData(stream: ServerStream, data: Buffer): void {
    const state = this.calls.get(stream)!;
    if (state.answered) return;
    state.body.push(data);
    state.bytes += data.length;
    if (state.length === undefined && state.bytes >= PREFIX_BYTES) {
      // Read once, as soon as the prefix is in: a large request arrives in many frames.
      const head = state.body[0]!.length >= PREFIX_BYTES ? state.body[0]! : Buffer.concat(state.body);
      state.length = head.readUInt32BE(1);
      if (state.length > this.opts.maxMessageBytes) {
        return this.fail(stream, state, Status.RESOURCE_EXHAUSTED, `the request message of ${state.length} bytes is larger than the ${this.opts.maxMessageBytes} allowed (grpc_max_message_size)`);
      }
    }
    if (state.length !== undefined && state.bytes > PREFIX_BYTES + state.length) {
      this.fail(stream, state, Status.UNIMPLEMENTED, "the request carries more than one message; CRI methods take one");
    }
  }

  onEnd(stream: ServerStream): void {
    const state = this.calls.get(stream)!;
    if (state.answered) return;
    const method = state.method!;
    let request: unknown;
    try {
      request = method.decodeRequest(this.message(stream, state));
    } catch (err) {
      if (err instanceof CallError) return this.fail(stream, state, err.code, err.message);
      // INTERNAL, as grpc-go servers (containerd, CRI-O) answer a request that does not unmarshal.
      return this.fail(stream, state, Status.INTERNAL, `the request is not a valid ${method.path} request: ${(err as Error).message}`);
    }
    let deadline: number | undefined;
    const timeout = stream.header("grpc-timeout");
    if (timeout !== undefined) {
      const ms = parseTimeout(timeout);
      if (ms === undefined) return this.fail(stream, state, Status.INVALID_ARGUMENT, `grpc-timeout "${timeout.slice(0, 40)}" is not a gRPC timeout`);
      deadline = Date.now() + ms;
    }
    const call = new Call(stream, deadline);
    state.answered = true;
    if (!method.responseStream) {
      method.run(request, call).then((outcome) => {
        if (outcome.code !== Status.OK) return this.sendStatus(stream, false, outcome.code, outcome.message);
        let reply: Reply;
        try {
          reply = this.reply(method, outcome.response);
        } catch (err) {
          return this.sendStatus(stream, false, errorCode(err), (err as Error).message);
        }
        stream.sendHeaders(RESPONSE_HEADERS, false);
        stream.sendData([reply.prefix, reply.payload]);
        stream.sendHeaders(OK_TRAILERS, true);
      });
      return;
    }
    let headersSent = false;
    const write = (message: unknown): Promise<void> => {
      if (stream.cancelled) return Promise.reject(new Error("the client cancelled the call"));
      const reply = this.reply(method, message);
      if (!headersSent) {
        headersSent = true;
        stream.sendHeaders(RESPONSE_HEADERS, false);
      }
      return new Promise<void>((resolve, reject) => {
        const onCancel = () => reject(new Error("the client cancelled the call"));
        stream.onCancel(onCancel);
        stream.sendData([reply.prefix, reply.payload], () => {
          stream.offCancel(onCancel);
          stream.whenWritable().then(resolve);
        });
      });
    };
    method.run(request, call, write).then((outcome) => {
      if (outcome.code !== Status.OK) return this.sendStatus(stream, headersSent, outcome.code, outcome.message);
      if (!headersSent) stream.sendHeaders(RESPONSE_HEADERS, false);
      stream.sendHeaders(OK_TRAILERS, true);
    });
  }

  /** The request's one message, decompressed if it must be. */
  private message(stream: ServerStream, state: CallState): Buffer {
    const body = state.body.length === 1 ? state.body[0]! : Buffer.concat(state.body);
    if (body.length < PREFIX_BYTES) throw new CallError(Status.UNIMPLEMENTED, "the request carries no message; CRI methods take one");
    const length = body.readUInt32BE(1);
    if (body.length !== PREFIX_BYTES + length) throw new CallError(Status.INTERNAL, `the request's message is cut short: ${body.length - PREFIX_BYTES} of ${length} bytes`);
    const payload = body.subarray(PREFIX_BYTES);
    if (body[0] === 0) return payload;
    const encoding = stream.header("grpc-encoding") ?? "identity";
    const limit = { maxOutputLength: this.opts.maxMessageBytes };
    try {
      if (encoding === "gzip") return zlib.gunzipSync(payload, limit);
      if (encoding === "deflate") return zlib.inflateSync(payload, limit);
    } catch (err) {
      const tooLarge = (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
      throw new CallError(tooLarge ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL, tooLarge ? `the request message inflates past the ${this.opts.maxMessageBytes} bytes allowed` : `the request message does not inflate with ${encoding}: ${(err as Error).message}`);
    }
    throw new CallError(Status.UNIMPLEMENTED, `the request message is compressed with "${encoding.slice(0, 40)}"; skiff takes gzip, deflate or none`);
  }

  /** A reply message and its length prefix, apart: the message's bytes are not copied to join them. */
  private reply(method: RpcMethod, message: unknown): Reply {
    const payload = method.encodeResponse(message);
    if (payload.length > this.opts.maxMessageBytes) {
      throw new CallError(Status.RESOURCE_EXHAUSTED, `the reply of ${payload.length} bytes is larger than the ${this.opts.maxMessageBytes} allowed (grpc_max_message_size)`);
    }
    const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
    prefix[0] = 0;
    prefix.writeUInt32BE(payload.length, 1);
    return { prefix, payload };
  }

  /** Ends a call with a status: trailers after a reply's headers, else a trailers-only reply. */
  private sendStatus(stream: ServerStream, headersSent: boolean, code: Status, message: string): void {
    const status: HeaderField[] = [
      { name: "grpc-status", value: String(code) },
      { name: "grpc-message", value: percentEncode(message) },
    ];
    stream.sendHeaders(encodeLiteralBlock(headersSent ? status : [...RESPONSE_FIELDS, ...status]), true);
  }

  private fail(stream: ServerStream, state: CallState, code: Status, message: string): void {
    state.answered = true;
    state.body = [];
    this.log.info({ path: stream.header(":path")?.slice(0, 200), code: Status[code], error: message }, "rpc refused");
    this.sendStatus(stream, false, code, message);
  }

  /** A request that is not gRPC at all gets a bare HTTP status. */
  private refuse(stream: ServerStream, state: CallState, httpStatus: string): void {
    state.answered = true;
    stream.sendHeaders(encodeLiteralBlock([{ name: ":status", value: httpStatus }]), true);
  }
}

class CallError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
  }
}

function errorCode(err: unknown): Status {
  return err instanceof CallError ? err.code : Status.INTERNAL;
}

/** A call's cancellation and deadline, as the service layer sees them. */
class Call implements CallControl {
  constructor(
    private readonly stream: ServerStream,
    readonly deadline: number | undefined,
  ) {}

  get cancelled(): boolean {
    return this.stream.cancelled;
  }

  onCancel(listener: () => void): void {
    this.stream.onCancel(listener);
  }

  offCancel(listener: () => void): void {
    this.stream.offCancel(listener);
  }
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout: up to 8 digits and a unit (hours down to nanoseconds); undefined if malformed. */
export function parseTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : undefined;
}

/** grpc-message's encoding: UTF-8, with "%" and bytes outside printable ASCII as %XX. */
export function percentEncode(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
