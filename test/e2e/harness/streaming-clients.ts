// Clients of the streaming server, as kubectl/kubelet speak to it: SPDY/3.1
// (through the daemon's own codec in client mode: a different role from the
// one under test) and WebSocket (the `ws` package).

import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { SpdySession, type SpdyStream } from "../../../src/streaming/spdy/session.js";

export interface SpdyConnection {
  session: SpdySession;
  protocol: string;
}

/**
 * Upgrades to SPDY/3.1; rejects with the status and body when the server refuses.
 * https URLs (a kubelet's API) are not checked against a CA: the servers here are self-signed.
 */
export function spdyConnect(url: string, protocols: string[]): Promise<SpdyConnection> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? https : http).request(url, {
      method: "POST",
      headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": protocols },
      rejectUnauthorized: false,
    });
    req.on("upgrade", (res, socket: Socket, head) => {
      resolve({ session: new SpdySession(socket, "client", head), protocol: String(res.headers["x-stream-protocol-version"] ?? "") });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim()}`), { status: res.statusCode })));
    });
    req.on("error", reject);
    req.end();
  });
}

function collect(s: SpdyStream | undefined): Promise<string> {
  if (!s) return Promise.resolve("");
  return new Promise((resolve) => {
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString()));
    s.on("end", () => resolve(out));
    s.on("close", () => resolve(out));
    s.on("error", () => resolve(out));
  });
}

export interface CommandOptions {
  stdin?: string;
  /** Keep stdin open after writing (a tty session ends with ^D instead). */
  keepStdinOpen?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  size?: { width: number; height: number };
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** The error stream: a JSON Status for v4+, plain text before. */
  error: string;
}

/** Runs an exec/attach session over SPDY the way client-go does: error stream first, then stdio, then resize. */
export async function spdyCommand(url: string, o: CommandOptions, protocols = ["v4.channel.k8s.io"]): Promise<CommandResult & { protocol: string }> {
  const { session, protocol } = await spdyConnect(url, protocols);
  try {
    const error = await session.openStream({ streamType: "error" });
    const errorText = collect(error);
    error.end();
    const stdin = o.stdin !== undefined ? await session.openStream({ streamType: "stdin" }) : undefined;
    const stdout = o.stdout !== false ? await session.openStream({ streamType: "stdout" }) : undefined;
    const stderr = o.stderr && !o.tty ? await session.openStream({ streamType: "stderr" }) : undefined;
    for (const s of [stdout, stderr]) s?.end();
    const resize = o.tty ? await session.openStream({ streamType: "resize" }) : undefined;
    if (resize && o.size) resize.write(JSON.stringify({ Width: o.size.width, Height: o.size.height }));
    const outs = [collect(stdout), collect(stderr)];
    if (stdin) {
      stdin.write(o.stdin!);
      if (!o.keepStdinOpen) stdin.end();
    }
    const [out, err, status] = await Promise.all([...outs, errorText]);
    return { stdout: out!, stderr: err!, error: status!, protocol };
  } finally {
    session.close();
  }
}

export interface WsCommandResult extends CommandResult {
  protocol: string;
  closeCode: number;
}

/** The same over WebSocket with one subprotocol, speaking the channel framing directly. */
export function wsCommand(url: string, o: CommandOptions, protocol = "v5.channel.k8s.io"): Promise<WsCommandResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), [protocol], { rejectUnauthorized: false });
    const r = { stdout: "", stderr: "", error: "" };
    ws.on("open", () => {
      if (o.size) ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: o.size.width, Height: o.size.height }))]));
      if (o.stdin !== undefined) {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(o.stdin)]));
        if (!o.keepStdinOpen) ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on("message", (data: Buffer) => {
      const text = data.subarray(1).toString();
      if (data[0] === 1) r.stdout += text;
      else if (data[0] === 2) r.stderr += text;
      else if (data[0] === 3) r.error += text;
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
    ws.on("close", (code) => resolve({ ...r, protocol: ws.protocol, closeCode: code }));
  });
}

/** The exit code a v4+ Status reports (0 for Success). */
export function exitCodeOf(statusJson: string): number {
  const s = JSON.parse(statusJson) as { status: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
  if (s.status === "Success") return 0;
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  if (s.reason !== "NonZeroExitCode" || !cause) throw new Error(`not an exit status: ${statusJson}`);
  return Number(cause.message);
}
