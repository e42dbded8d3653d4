// The streaming server behind the URLs that Exec, Attach and PortForward
// return: /exec/<token>, /attach/<token>, /portforward/<token>. Each token is
// used once and expires. A request upgrades to SPDY/3.1 or WebSocket and is
// served with the Kubernetes channel protocols (see protocol.ts).

import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { StreamingConfig } from "../config/config.js";
import { errorMessage, resourceExhausted } from "../errors.js";
import type { Logger } from "../log.js";
import {
  listedProtocols,
  negotiate,
  protocolVersion,
  SPDY_PORT_FORWARD_PROTOCOLS,
  SPDY_REMOTE_COMMAND_PROTOCOLS,
  WS_PORT_FORWARD_PROTOCOLS,
  WS_REMOTE_COMMAND_PROTOCOLS,
} from "./protocol.js";
import type { StreamingBackend, StreamRequest } from "./requests.js";
import { SpdySession } from "./spdy/session.js";
import { parsePort, serveSpdyPortForward } from "./spdy-port-forward.js";
import { serveSpdyRemoteCommand } from "./spdy-remote-command.js";
import { TokenCache } from "./token-cache.js";
import { serveWsPortForward } from "./ws-port-forward.js";
import { serveWsRemoteCommand } from "./ws-remote-command.js";

/** Outstanding tokens at most: a client that asks for URLs and never uses them cannot grow the daemon. */
const MAX_TOKENS = 1000;
const ROUTE = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{16,64})(?:\?.*)?$/;

export class StreamingServer {
  private readonly tokens: TokenCache<StreamRequest>;
  private readonly sockets = new Set<Duplex>();
  private readonly chosenProtocol = new WeakMap<http.IncomingMessage, string | false>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (_offered, req) => this.chosenProtocol.get(req) ?? false,
  });
  private baseUrl = "";

  private constructor(
    private readonly server: http.Server,
    private readonly backend: StreamingBackend,
    private readonly log: Logger,
    opts: StreamingConfig,
  ) {
    this.tokens = new TokenCache(opts.tokenTtlSeconds * 1000, MAX_TOKENS);
  }

  static async start(opts: StreamingConfig, backend: StreamingBackend, log: Logger): Promise<StreamingServer> {
    const tls = opts.tlsCertFile && opts.tlsKeyFile ? { cert: await readFile(opts.tlsCertFile), key: await readFile(opts.tlsKeyFile) } : undefined;
    const server = tls ? https.createServer(tls) : http.createServer();
    const s = new StreamingServer(server, backend, log, opts);
    server.on("request", (req, res) => s.onPlainRequest(req, res));
    server.on("upgrade", (req, socket, head) => s.onUpgrade(req, socket, head));
    server.on("connection", (sock: Socket) => {
      s.sockets.add(sock);
      sock.on("close", () => s.sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    s.baseUrl = `${tls ? "https" : "http"}://${host}:${addr.port}`;
    log.info({ url: s.baseUrl, tls: !!tls }, "streaming server listening");
    return s;
  }

  /** scheme://host:port of the server. */
  get address(): string {
    return this.baseUrl;
  }

  /** A single-use URL for the request. */
  url(request: StreamRequest): string {
    const token = this.tokens.insert(request);
    if (!token) throw resourceExhausted(`too many unused streaming URLs (${MAX_TOKENS}); try again in a minute`);
    return `${this.baseUrl}/${request.kind}/${token}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The request behind a path, once; undefined for an unknown, used or expired token. */
  private claim(url: string | undefined): StreamRequest | undefined {
    const m = ROUTE.exec(url ?? "");
    if (!m) return undefined;
    const req = this.tokens.consume(m[2]!);
    return req && req.kind === m[1] ? req : undefined;
  }

  private onPlainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const claimed = this.claim(req.url);
    res.statusCode = claimed ? 400 : 404;
    res.setHeader("Content-Type", "text/plain");
    res.end(claimed ? "this URL must be opened with an Upgrade to SPDY/3.1 or websocket\n" : "unknown or expired streaming token\n");
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const request = this.claim(req.url);
    if (!request) return refuse(socket, 404, "unknown or expired streaming token");
    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    const log = this.log.child(request.kind === "portforward" ? { kind: request.kind, pod_sandbox_id: request.sandboxId } : { kind: request.kind, container_id: request.containerId });
    if (upgrade === "websocket") this.upgradeWebSocket(req, socket, head, request, log);
    else if (upgrade === "spdy/3.1") this.upgradeSpdy(req, socket, head, request, log);
    else refuse(socket, 400, `unsupported upgrade "${req.headers.upgrade ?? ""}": use SPDY/3.1 or websocket`);
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, request: StreamRequest, log: Logger): void {
    const offered = listedProtocols(req.headers["x-stream-protocol-version"]);
    const protocol = negotiateOrRefuse(socket, offered, request.kind === "portforward" ? SPDY_PORT_FORWARD_PROTOCOLS : SPDY_REMOTE_COMMAND_PROTOCOLS);
    if (!protocol) return;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const session = new SpdySession(socket as Socket, "server", head);
    log.info({ transport: "spdy", protocol }, "streaming session started");
    logOutcome(
      log,
      "spdy",
      request.kind === "portforward"
        ? serveSpdyPortForward(session, request.sandboxId, this.backend, log)
        : serveSpdyRemoteCommand(session, protocolVersion(protocol), request, this.backend, log),
      () => session.close(),
    );
  }

  private upgradeWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, request: StreamRequest, log: Logger): void {
    const offered = listedProtocols(req.headers["sec-websocket-protocol"]);
    const protocol = negotiateOrRefuse(socket, offered, request.kind === "portforward" ? WS_PORT_FORWARD_PROTOCOLS : WS_REMOTE_COMMAND_PROTOCOLS);
    if (!protocol) return;
    let ports: number[] = [];
    if (request.kind === "portforward") {
      const query = new URL(req.url ?? "/", "http://streaming").searchParams.getAll("port").flatMap((p) => p.split(","));
      const parsed = query.map((p) => parsePort(p.trim()));
      if (parsed.some((p) => p === undefined)) return refuse(socket, 400, `invalid port in ${query.join(",")}: a port is 1-65535`);
      ports = query.length ? (parsed as number[]) : request.ports;
      if (ports.length === 0) return refuse(socket, 400, "no port to forward: add ?port=N to the URL");
    }
    // The protocol is chosen above; the handshake echoes exactly it, or none
    // to a client that offered none.
    this.chosenProtocol.set(req, offered.length ? protocol : false);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      log.info({ transport: "websocket", protocol }, "streaming session started");
      logOutcome(
        log,
        "websocket",
        request.kind === "portforward" ? serveWsPortForward(ws, protocol, request.sandboxId, ports, this.backend) : serveWsRemoteCommand(ws, protocol, request, this.backend),
        () => ws.terminate(),
      );
    });
  }
}

/** The protocol both sides speak, or undefined after answering 403 with both lists. */
function negotiateOrRefuse(socket: Duplex, offered: string[], supported: string[]): string | undefined {
  const protocol = negotiate(offered, supported);
  if (!protocol) refuse(socket, 403, `unable to negotiate a protocol: client offers ${offered.join(", ")}, server supports ${supported.join(", ")}`);
  return protocol;
}

function logOutcome(log: Logger, transport: string, served: Promise<void>, abandon: () => void): void {
  served.then(
    () => log.info({ transport }, "streaming session ended"),
    (err) => {
      log.warn({ transport, err: errorMessage(err) }, "streaming session failed");
      abandon();
    },
  );
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
