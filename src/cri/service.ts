// Turns promise-returning RPC handlers into a gRPC service implementation.
// Every method of the schema gets an implementation: a missing handler answers
// UNIMPLEMENTED naming the RPC, never a silent empty success. Each call is
// logged once with its method, duration, gRPC code and the ids involved.

import * as grpc from "@grpc/grpc-js";
import { rpcDuration, rpcRequests } from "../observability/metrics.js";
import { status as Status } from "@grpc/grpc-js";
import { errorMessage, SkiffError } from "../errors.js";
import { shorten } from "../util/shorten.js";
import type { Logger } from "../log.js";
import { codeName, MAX_STATUS_MESSAGE, toServiceError } from "./grpc-errors.js";
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

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): number | undefined {
  const d = call.getDeadline();
  if (d instanceof Date) return d.getTime();
  return typeof d === "number" && Number.isFinite(d) ? d : undefined;
}

/** What a call's context needs of a grpc-js call. */
interface CancellableCall {
  readonly cancelled: boolean;
  once(event: "cancelled", listener: () => void): unknown;
  off(event: "cancelled", listener: () => void): unknown;
}

/**
 * A call's context. Its abort signal is made only when a handler asks for it:
 * most calls (status, list) never do, and an AbortController with its
 * cancellation listener and deadline timer is a measurable share of such a
 * call. grpc-js emits "cancelled" when every stream closes, finished or not;
 * end() stops listening first.
 */
export class LiveCallContext implements CallContext {
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly call: CancellableCall,
    readonly deadline: number | undefined,
    readonly log: Logger,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      if (this.ended) return controller.signal; // asked for after the call: nothing left to listen for
      if (this.call.cancelled) controller.abort(new Error("the client cancelled the call"));
      else this.call.once("cancelled", this.onCancelled);
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
    this.call.off("cancelled", this.onCancelled);
  }
}

export function implementService(
  serviceName: string,
  definition: grpc.ServiceDefinition,
  handlers: Record<string, UnaryFn<unknown, unknown> | StreamFn<unknown, unknown> | undefined>,
  logger: Logger,
  /** Calls other than `open` wait for `ready` (the daemon's recovery). */
  gate?: { ready: Promise<void>; open: Set<string> },
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
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

    if (!def.responseStream) {
      impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const start = process.hrtime.bigint();
        if (!handler) {
          const e = toServiceError(notBuilt);
          finish(start, call.request, undefined, e.code, notBuilt);
          callback(e);
          return;
        }
        const ctx = new LiveCallContext(call, deadlineOf(call), logger);
        guarded(call.request, () => (handler as UnaryFn<unknown, unknown>)(call.request, ctx))
          .then((res) => {
            finish(start, call.request, res, Status.OK);
            callback(null, res);
          })
          .catch((err: unknown) => {
            const e = toServiceError(err);
            finish(start, call.request, undefined, e.code, err);
            callback(e);
          })
          .finally(() => ctx.end());
      };
    } else {
      impl[method] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const start = process.hrtime.bigint();
        if (!handler) {
          const e = toServiceError(notBuilt);
          finish(start, call.request, undefined, e.code, notBuilt);
          call.emit("error", e);
          return;
        }
        const ctx = new LiveCallContext(call, deadlineOf(call), logger);
        const sink: StreamSink<unknown> = {
          write: (message) =>
            new Promise<void>((resolve, reject) => {
              if (ctx.signal.aborted) return reject(ctx.signal.reason);
              if (call.write(message)) resolve();
              else call.once("drain", () => resolve());
            }),
        };
        guarded(call.request, () => (handler as StreamFn<unknown, unknown>)(call.request, sink, ctx))
          .then(() => {
            finish(start, call.request, undefined, Status.OK);
            call.end();
          })
          .catch((err: unknown) => {
            const e = toServiceError(err);
            finish(start, call.request, undefined, e.code, err);
            if (!call.cancelled) call.emit("error", e);
          })
          .finally(() => ctx.end());
      };
    }
  }
  return impl;
}
