// The CRI gRPC server: both CRI services, and skiff's admin service, on one unix socket.

import { chmod } from "node:fs/promises";
import type { Logger } from "../log.js";
import type { CriDeps } from "./deps.js";
import { imageServiceHandlers } from "./image-service.js";
import { adminServiceHandlers } from "./admin-service.js";
import { installContainerStatusSerializer, installFastSerializers, installImageSerializers } from "./fast-serialize.js";
import { ADMIN_PROTO_PATH, packageDefinition, PROTO_PATH, protoRoot } from "./proto.js";
import { runtimeServiceHandlers } from "./runtime-service.js";
import { implementService } from "./service.js";
import { prepareSocketPath } from "./socket.js";
import { listenGrpc } from "./transport/grpc-server.js";

export interface CriServer {
  /** Stops accepting calls, waits for in-flight ones up to timeoutMs, then cancels the rest. */
  shutdown(timeoutMs: number): Promise<void>;
}

type AnyHandlers = Parameters<typeof implementService>[2];

/** RuntimeService calls answered before recovery is done: kubelet's liveness and config checks. */
const ANSWERED_DURING_RECOVERY = new Set(["Version", "Status", "RuntimeConfig"]);

/** `recovered`: resolves once pods and containers are reconciled; other RuntimeService calls wait for it. */
export async function startCriServer(deps: CriDeps, logger: Logger, recovered: Promise<void> = Promise.resolve()): Promise<CriServer> {
  const cri = packageDefinition(protoRoot(PROTO_PATH));
  const runtime = cri["runtime.v1.RuntimeService"]!;
  const image = cri["runtime.v1.ImageService"]!;
  const admin = packageDefinition(protoRoot(ADMIN_PROTO_PATH))["skiff.admin.v1.Admin"]!;
  installFastSerializers(runtime);
  installContainerStatusSerializer(runtime);
  installImageSerializers(image);
  const methods = [
    ...implementService("RuntimeService", runtime, runtimeServiceHandlers(deps) as AnyHandlers, logger, { ready: recovered, open: ANSWERED_DURING_RECOVERY }),
    ...implementService("ImageService", image, imageServiceHandlers(deps) as AnyHandlers, logger),
    ...implementService("Admin", admin, adminServiceHandlers(deps) as AnyHandlers, logger),
  ];

  const socketPath = deps.config.listen;
  await prepareSocketPath(socketPath);
  const server = await listenGrpc(socketPath, methods, { maxMessageBytes: deps.config.grpcMaxMessageBytes }, logger.child({ module: "cri-socket" }));
  // kubelet runs as root; group access lets an operator's group use crictl without root.
  await chmod(socketPath, 0o660);
  logger.info({ socket: socketPath, sinceProcessStartMs: Math.round(process.uptime() * 1000) }, "CRI server listening");

  return {
    async shutdown(timeoutMs) {
      if (!(await server.shutdown(timeoutMs))) logger.warn({ timeoutMs }, "in-flight calls did not finish in time; cancelled them");
    },
  };
}
