// An HTTP proxy in front of the test registry: it records every request, can
// slow blob bodies down (to interrupt a pull half-way), hold a request back
// (to order a pull's requests), and can replace a blob's body (to test digest
// verification). Listens on 127.0.0.1 only.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxyOptions {
  /** Bytes per tick and tick length for blob bodies; unset = full speed. */
  throttle?: { bytes: number; everyMs: number };
  /** Return a body to serve instead of the registry's for this path. */
  tamper?: (path: string) => Buffer | undefined;
  /** Return a promise to forward this path's request only once it settles. */
  hold?: (path: string) => Promise<unknown> | undefined;
}

export class TestProxy {
  readonly requests: { method: string; path: string }[] = [];
  private server!: http.Server;
  host = "";

  private constructor(
    private readonly target: string,
    public options: ProxyOptions,
  ) {}

  static async start(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
    const p = new TestProxy(target, options);
    p.server = http.createServer((req, res) => p.handle(req, res));
    await new Promise<void>((resolve) => p.server.listen(0, "127.0.0.1", resolve));
    p.host = `127.0.0.1:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  blobGets(digest: string): number {
    return this.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${digest}`)).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = req.url ?? "/";
    this.requests.push({ method: req.method ?? "GET", path });
    const tampered = this.options.tamper?.(path);
    if (tampered) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": tampered.length });
      res.end(tampered);
      return;
    }
    const held = this.options.hold?.(path);
    if (held) void held.then(() => this.forward(req, res, path), () => this.forward(req, res, path));
    else this.forward(req, res, path);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    const upstream = http.request(`http://${this.target}${path}`, { method: req.method, headers: { ...req.headers, host: this.target } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      const throttle = this.options.throttle;
      if (!throttle || !path.includes("/blobs/")) {
        up.pipe(res);
        return;
      }
      up.on("data", (chunk: Buffer) => {
        up.pause();
        let offset = 0;
        const tick = () => {
          if (res.destroyed) return up.destroy();
          res.write(chunk.subarray(offset, offset + throttle.bytes));
          offset += throttle.bytes;
          if (offset < chunk.length) setTimeout(tick, throttle.everyMs);
          else setTimeout(() => up.resume(), throttle.everyMs);
        };
        tick();
      });
      up.on("end", () => res.end());
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
