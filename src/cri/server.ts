// The CRI gRPC server: both CRI services, and skiff's admin service, on one unix socket.

import * as grpc from "@grpc/grpc-js";
import { chmod } from "node:fs/promises";
import type { Logger } from "../log.js";
import type { CriDeps } from "./deps.js";
import { imageServiceHandlers } from "./image-service.js";
import { adminServiceHandlers } from "./admin-service.js";
import { installFastSerializers } from "./fast-serialize.js";
import { loadAdmin, loadCri } from "./proto.js";
import { runtimeServiceHandlers } from "./runtime-service.js";
import { implementService } from "./service.js";
import { prepareSocketPath } from "./socket.js";
import { listenCri } from "./transport/listener.js";

export interface CriServer {
  /** Stops accepting calls, waits for in-flight ones up to timeoutMs, then cancels the rest. */
  shutdown(timeoutMs: number): Promise<void>;
}

type AnyHandlers = Parameters<typeof implementService>[2];

/** RuntimeService calls answered before recovery is done: kubelet's liveness and config checks. */
const ANSWERED_DURING_RECOVERY = new Set(["Version", "Status", "RuntimeConfig"]);

/** `recovered`: resolves once pods and containers are reconciled; other RuntimeService calls wait for it. */
export async function startCriServer(deps: CriDeps, logger: Logger, recovered: Promise<void> = Promise.resolve()): Promise<CriServer> {
  const cri = loadCri().runtime.v1;
  const maxBytes = deps.config.grpcMaxMessageBytes;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    // channelz (grpc's introspection service, which skiff does not serve) traces every call: ~10% of a status call's CPU.
    "grpc.enable_channelz": 0,
  });
  installFastSerializers(cri.RuntimeService.service);
  server.addService(
    cri.RuntimeService.service,
    implementService("RuntimeService", cri.RuntimeService.service, runtimeServiceHandlers(deps) as AnyHandlers, logger, { ready: recovered, open: ANSWERED_DURING_RECOVERY }),
  );
  server.addService(
    cri.ImageService.service,
    implementService("ImageService", cri.ImageService.service, imageServiceHandlers(deps) as AnyHandlers, logger),
  );

  const admin = loadAdmin().skiff.admin.v1.Admin.service;
  server.addService(admin, implementService("Admin", admin, adminServiceHandlers(deps) as AnyHandlers, logger));

  const socketPath = deps.config.listen;
  await prepareSocketPath(socketPath);
  // skiff owns the socket (see transport/listener.ts): grpc-js gets each connection once its :authority is usable.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = await listenCri(socketPath, (conn) => injector.injectConnection(conn), logger.child({ module: "cri-socket" }));
  // kubelet runs as root; group access lets an operator's group use crictl without root.
  await chmod(socketPath, 0o660);
  logger.info({ socket: socketPath, sinceProcessStartMs: Math.round(process.uptime() * 1000) }, "CRI server listening");

  return {
    shutdown(timeoutMs) {
      listener.close();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs }, "in-flight calls did not finish in time; cancelling them");
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
