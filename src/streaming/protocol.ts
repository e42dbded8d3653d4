// The Kubernetes streaming protocols' small rules, pure: subprotocol
// negotiation, the exit status a client reads from the error channel, and the
// terminal size messages.

import type { TerminalSize } from "../runtime/stdio.js";

/** Remote command over SPDY, newest first (v5 exists only over WebSocket). */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
export const SPDY_PORT_FORWARD_PROTOCOLS = ["portforward.k8s.io"];

/** Remote command over WebSocket; the base64 forms carry text frames. */
export const WS_REMOTE_COMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
];
export const WS_PORT_FORWARD_PROTOCOLS = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", "portforward.k8s.io"];

/** Protocol names listed by a client, from repeated or comma-separated headers. */
export function listedProtocols(header: string | string[] | undefined): string[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
}

/**
 * The client's first choice that the server speaks. A client that lists none
 * predates negotiation and gets the oldest protocol (as kubelet does); one
 * that lists only unknown ones gets undefined (refused).
 */
export function negotiate(client: string[], server: string[]): string | undefined {
  if (client.length === 0) return server[server.length - 1];
  return client.find((p) => server.includes(p));
}

/** The version number of a channel protocol name: v4.channel.k8s.io -> 4, channel.k8s.io -> 1. */
export function protocolVersion(name: string): number {
  const m = /^v(\d+)\./.exec(name);
  return m ? Number(m[1]) : 1;
}

export type CommandOutcome = { kind: "exited"; exitCode: number } | { kind: "ended" } | { kind: "failed"; message: string };

/**
 * What v4+ clients read from the error channel: a metav1.Status. A non-zero
 * exit is a Failure with reason NonZeroExitCode and the code as a cause, which
 * kubectl turns into its own exit code.
 */
export function statusFor(outcome: CommandOutcome): Record<string, unknown> {
  if (outcome.kind === "failed") {
    return { metadata: {}, status: "Failure", message: outcome.message, reason: "InternalError", details: { causes: [{ message: outcome.message }] }, code: 500 };
  }
  if (outcome.kind === "exited" && outcome.exitCode !== 0) {
    return {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: ${outcome.exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(outcome.exitCode) }] },
    };
  }
  return { metadata: {}, status: "Success" };
}

/**
 * The bytes written to the error channel when the session ends, or undefined
 * for nothing: v4+ always gets a JSON Status, older versions only an error text.
 */
export function errorChannelMessage(version: number, outcome: CommandOutcome): Buffer | undefined {
  if (version >= 4) return Buffer.from(JSON.stringify(statusFor(outcome)));
  if (outcome.kind === "failed") return Buffer.from(outcome.message);
  if (outcome.kind === "exited" && outcome.exitCode !== 0) return Buffer.from(`command terminated with non-zero exit code: ${outcome.exitCode}`);
  return undefined;
}

/** A resize message: {"Width": w, "Height": h}; undefined if it is not one. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  try {
    const doc = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    const width = Number(doc.Width);
    const height = Number(doc.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/** Splits a stream of concatenated JSON resize objects (the SPDY resize stream has no framing). */
export class ResizeDecoder {
  private pending = "";

  push(chunk: string): TerminalSize[] {
    this.pending += chunk;
    const out: TerminalSize[] = [];
    let depth = 0;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.pending.length; i++) {
      const ch = this.pending[i];
      if (ch === "{") {
        if (depth === 0) start = i;
        depth++;
      } else if (ch === "}" && depth > 0) {
        depth--;
        if (depth === 0) {
          const size = parseTerminalSize(this.pending.slice(start, i + 1));
          if (size) out.push(size);
          consumed = i + 1;
        }
      }
    }
    this.pending = this.pending.slice(consumed);
    if (this.pending.length > 4096) this.pending = "";
    return out;
  }
}
