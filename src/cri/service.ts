// Turns promise-returning RPC handlers into the methods the transport serves.
// Every method of the schema gets an implementation: a missing handler answers
// UNIMPLEMENTED naming the RPC, never a silent empty success. Each call is
// logged once with its method, duration, gRPC code and the ids involved.

import type * as grpc from "@grpc/grpc-js";
import { rpcDuration, rpcRequests } from "../observability/metrics.js";
import { errorMessage, SkiffError } from "../errors.js";
import { shorten } from "../util/shorten.js";
import type { Logger } from "../log.js";
import { codeName, MAX_STATUS_MESSAGE, Status, toServiceError } from "./grpc-errors.js";
import { checkRequestLimits } from "./limits.js";

/** What a handler gets besides its request. */
export interface CallContext {
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  /** Absolute deadline (ms since epoch), if the client set one. */
  deadline?: number;
  log: Logger;
}

/** A sink for server-streaming RPCs; write() resolves when the client can take more. */
export interface StreamSink<T> {
  write(message: T): Promise<void>;
}

type UnaryFn<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
type StreamFn<Req, Res> = (req: Req, out: StreamSink<Res>, ctx: CallContext) => Promise<void>;

/**
 * Promise-style handlers for a generated `...Handlers` interface; every entry
 * optional. The `as` clause drops the string index signature inherited from
 * grpc's UntypedServiceImplementation so that only real RPC names remain.
 */
export type PromiseHandlers<H> = {
  [K in keyof H as string extends K ? never : K]?: H[K] extends grpc.handleUnaryCall<infer Req, infer Res>
    ? UnaryFn<Req, Res>
    : H[K] extends grpc.handleServerStreamingCall<infer Req, infer Res>
      ? StreamFn<Req, Res>
      : never;
};

/** Ids and references are logged up to this length: a caller may send megabytes. */
const MAX_LOGGED_ID = 256;

/** Request and response fields worth logging: ids, never payloads or credentials. */
function idsOf(message: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof message !== "object" || message === null) return out;
  const m = message as Record<string, unknown>;
  for (const key of ["pod_sandbox_id", "container_id", "image_ref", "image_id"]) {
    const v = m[key];
    if (typeof v === "string" && v) out[key] = shorten(v, MAX_LOGGED_ID);
  }
  const image = m.image as { image?: unknown } | null | undefined;
  if (image && typeof image.image === "string" && image.image) out.image = shorten(image.image, MAX_LOGGED_ID);
  return out;
}

/** What a call's context needs of the transport's call. */
export interface CallControl {
  /** Absolute deadline (ms since epoch), if the client set one. */
  readonly deadline?: number;
  readonly cancelled: boolean;
  onCancel(listener: () => void): void;
  offCancel(listener: () => void): void;
}

/** How a call ended: its response (unary), or a gRPC status code and message. */
export type Outcome = { code: Status.OK; response?: unknown } | { code: Exclude<Status, Status.OK>; message: string };

/** One RPC as the transport serves it. */
export interface RpcMethod {
  /** "/package.Service/Method" */
  readonly path: string;
  readonly responseStream: boolean;
  decodeRequest(bytes: Buffer): unknown;
  encodeResponse(message: unknown): Buffer;
  /**
   * Runs the handler; never rejects. A streaming method writes its messages
   * with `write`, which resolves when the client can take more.
   */
  run(request: unknown, call: CallControl, write?: (message: unknown) => Promise<void>): Promise<Outcome>;
}

/**
 * A call's context. Its abort signal is made only when a handler asks for it:
 * most calls (status, list) never do, and an AbortController with its
 * cancellation listener and deadline timer is a measurable share of such a
 * call. end() stops listening.
 */
export class LiveCallContext implements CallContext {
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly call: CallControl,
    readonly log: Logger,
  ) {}

  get deadline(): number | undefined {
    return this.call.deadline;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      if (this.ended) return controller.signal; // asked for after the call: nothing left to listen for
      if (this.call.cancelled) controller.abort(new Error("the client cancelled the call"));
      else this.call.onCancel(this.onCancelled);
      if (this.deadline !== undefined && !controller.signal.aborted) {
        this.timer = setTimeout(() => controller.abort(new Error("deadline exceeded")), Math.max(0, this.deadline - Date.now()));
        this.timer.unref();
      }
    }
    return this.controller.signal;
  }

  private readonly onCancelled = () => {
    this.controller?.abort(new Error("the client cancelled the call"));
  };

  end(): void {
    this.ended = true;
    if (!this.controller) return;
    clearTimeout(this.timer);
    this.call.offCancel(this.onCancelled);
  }
}

export function implementService(
  serviceName: string,
  definition: grpc.ServiceDefinition,
  handlers: Record<string, UnaryFn<unknown, unknown> | StreamFn<unknown, unknown> | undefined>,
  logger: Logger,
  /** Calls other than `open` wait for `ready` (the daemon's recovery). */
  gate?: { ready: Promise<void>; open: Set<string> },
): RpcMethod[] {
  const methods: RpcMethod[] = [];
  let gateOpen = !gate;
  gate?.ready.then(
    () => (gateOpen = true),
    () => (gateOpen = true),
  );
  for (const [method, def] of Object.entries(definition)) {
    const rpc = `${serviceName}/${method}`;
    const handler = handlers[method];
    if (def.requestStream) throw new Error(`${rpc}: client streaming is not part of CRI v1`);

    // The metric children of successful calls, made at the first one (a method never called has no series):
    // labelling per call hashes the labels each time.
    let ok: { requests: ReturnType<typeof rpcRequests.labels>; duration: ReturnType<typeof rpcDuration.labels> } | undefined;
    const finish = (start: bigint, req: unknown, res: unknown, code: Status, err?: unknown) => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === Status.OK) {
        ok ??= { requests: rpcRequests.labels({ method: rpc, code: "OK" }), duration: rpcDuration.labels({ method: rpc, code: "OK" }) };
        ok.requests.inc();
        ok.duration.observe(durationMs / 1000);
        if (!logger.isLevelEnabled("debug")) return;
      } else {
        rpcRequests.inc({ method: rpc, code: codeName(code) });
        rpcDuration.observe({ method: rpc, code: codeName(code) }, durationMs / 1000);
      }
      const fields = { rpc: method, durationMs: Math.round(durationMs * 1000) / 1000, code: codeName(code), ...idsOf(req), ...idsOf(res) };
      if (code === Status.OK) logger.debug(fields, "rpc");
      else if (code === Status.INTERNAL || code === Status.UNKNOWN) logger.error({ ...fields, err: shorten((err instanceof Error && err.stack) || errorMessage(err), 4 * MAX_STATUS_MESSAGE) }, "rpc failed");
      else if (code === Status.CANCELLED) logger.debug(fields, "rpc cancelled by the client");
      else logger.info({ ...fields, error: shorten(errorMessage(err), MAX_STATUS_MESSAGE) }, "rpc failed");
    };
    const notBuilt = new SkiffError("unimplemented", `skiff does not implement ${rpc} yet`);
    // Every request is bounded before its handler sees it (limits.ts), and waits for recovery unless it need not.
    const waits = !!gate && !gate.open.has(method);
    const guarded = <T>(request: unknown, run: () => Promise<T>): Promise<T> => {
      try {
        checkRequestLimits(method, request);
      } catch (err) {
        return Promise.reject(err);
      }
      return waits && !gateOpen ? gate!.ready.then(run) : run();
    };
    const failed = (start: bigint, request: unknown, err: unknown): Outcome => {
      const e = toServiceError(err);
      finish(start, request, undefined, e.code, err);
      return e.code === Status.OK ? { code: Status.INTERNAL, message: e.message } : { code: e.code, message: e.message };
    };

    methods.push({
      path: def.path,
      responseStream: def.responseStream,
      decodeRequest: def.requestDeserialize as (bytes: Buffer) => unknown,
      encodeResponse: def.responseSerialize as (message: unknown) => Buffer,
      run(request, call, write) {
        const start = process.hrtime.bigint();
        if (!handler) return Promise.resolve(failed(start, request, notBuilt));
        const ctx = new LiveCallContext(call, logger);
        const running = def.responseStream
          ? guarded(request, () => (handler as StreamFn<unknown, unknown>)(request, { write: write! }, ctx)).then(() => undefined)
          : guarded(request, () => (handler as UnaryFn<unknown, unknown>)(request, ctx));
        return running
          .then(
            (response): Outcome => {
              finish(start, request, response, Status.OK);
              return { code: Status.OK, response };
            },
            (err: unknown): Outcome => {
              if (!call.cancelled) return failed(start, request, err);
              // A stream (or a call) the client cancelled: nothing went wrong on skiff's side.
              finish(start, request, undefined, Status.CANCELLED, err);
              return { code: Status.CANCELLED, message: "the client cancelled the call" };
            },
          )
          .finally(() => ctx.end());
      },
    });
  }
  return methods;
}
