// A typed, promise-based CRI client over a unix socket, built from proto/ with
// the same loader options as the daemon. Unary RPCs resolve to the response or
// reject with the grpc ServiceError (check `.code` and `.details`).

import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { loadCri } from "../../../src/cri/client-proto.js";
import type { ImageServiceDefinition } from "../../../src/cri/generated/runtime/v1/ImageService.js";
import type { RuntimeServiceDefinition } from "../../../src/cri/generated/runtime/v1/RuntimeService.js";

export interface CallOptions {
  /** Deadline in ms from now. */
  timeoutMs?: number;
}

type Unary<D> = {
  [K in keyof D as string extends K ? never : K]: D[K] extends MethodDefinition<infer Req, infer _ResIn, infer _ReqOut, infer Res>
    ? (req?: Req, opts?: CallOptions) => Promise<Res>
    : never;
};

export type RuntimeClient = Unary<RuntimeServiceDefinition>;
export type ImageClient = Unary<ImageServiceDefinition>;

const MAX = 64 * 1024 * 1024;

function promisify<T>(client: grpc.Client, definition: grpc.ServiceDefinition): T {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(definition)) {
    const method = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.bind(client);
    out[name] = def.responseStream
      ? (req: unknown = {}, opts: CallOptions = {}) => method(req, callOptions(opts))
      : (req: unknown = {}, opts: CallOptions = {}) =>
          new Promise((resolve, reject) => method(req, callOptions(opts), (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
  }
  return out as T;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {};
}

export class CriClient {
  readonly runtime: RuntimeClient;
  readonly image: ImageClient;
  /** The raw grpc clients, for server-streaming RPCs. */
  readonly rawRuntime: grpc.Client;
  readonly rawImage: grpc.Client;

  /** `maxMessageBytes`: what the client accepts (kubelet's limit is 16 MiB). */
  constructor(socketPath: string, maxMessageBytes = MAX) {
    const cri = loadCri().runtime.v1;
    const target = `unix://${socketPath}`;
    const opts = { "grpc.max_receive_message_length": maxMessageBytes, "grpc.max_send_message_length": maxMessageBytes };
    this.rawRuntime = new cri.RuntimeService(target, grpc.credentials.createInsecure(), opts);
    this.rawImage = new cri.ImageService(target, grpc.credentials.createInsecure(), opts);
    this.runtime = promisify<RuntimeClient>(this.rawRuntime, cri.RuntimeService.service);
    this.image = promisify<ImageClient>(this.rawImage, cri.ImageService.service);
  }

  close(): void {
    this.rawRuntime.close();
    this.rawImage.close();
  }
}

/** Awaits a call expected to fail and returns its gRPC error. */
export async function grpcError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export { grpc };
