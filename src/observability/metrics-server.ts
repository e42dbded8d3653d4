// Serves the Prometheus text format on GET /metrics (anything else is 404).

import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log.js";
import { registry } from "./metrics.js";

export interface MetricsServer {
  /** host:port actually listened on. */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(host: string, port: number, log: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.statusCode = 404;
      res.end("only GET /metrics is served here\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.setHeader("Content-Type", registry.contentType);
        res.end(text);
      },
      (err: Error) => {
        res.statusCode = 500;
        res.end(`cannot collect metrics: ${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  log.info({ address }, "metrics server listening on /metrics");
  return { address, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
