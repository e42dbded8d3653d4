// conmon's attach socket: every packet conmon sends is one read of the
// process's output, its first byte naming the pipe (2 stdout, 3 stderr); what
// we send becomes the process's stdin, and shutting our write side closes it.
// The socket is SOCK_SEQPACKET, reached through the native bridge, which
// length-prefixes each packet.

import { openSeqpacketBridge } from "../native/index.js";
import { writeConmonControl } from "./conmon.js";
import type { ProcessStdio } from "./stdio.js";

export const ATTACH_PIPE_STDOUT = 2;
export const ATTACH_PIPE_STDERR = 3;

/** Splits the bridge's byte stream back into conmon's packets. Pure. */
export class AttachPacketReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { pipe: number; data: Buffer }[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: { pipe: number; data: Buffer }[] = [];
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (this.pending.length < 4 + len) break;
      if (len > 0) out.push({ pipe: this.pending[4]!, data: this.pending.subarray(5, 4 + len) });
      this.pending = this.pending.subarray(4 + len);
    }
    return out;
  }
}

/**
 * Connects a client's streams to a conmon attach socket until conmon closes it
 * (the process ended and its output is drained) or the signal aborts (the
 * client went away). Resizes go through conmon's control FIFO.
 */
export async function relayStdio(socketPath: string, ctlPath: string, io: ProcessStdio, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const sock = openSeqpacketBridge(socketPath);
  const reader = new AttachPacketReader();
  const onResize = (s: { width: number; height: number }) => {
    void writeConmonControl(ctlPath, 1, s.height, s.width).catch(() => undefined);
  };
  if (io.tty) io.sizes?.on("resize", onResize);
  const onStdin = (d: Buffer) => {
    if (!sock.write(d)) io.stdin?.pause();
  };
  // The client's EOF closes the process's stdin. Not with a terminal: there
  // conmon's stdin is the terminal itself, and EOF is the ^D the client types.
  const onStdinEnd = () => {
    if (!io.tty) sock.end();
  };
  sock.on("drain", () => io.stdin?.resume());
  if (io.stdin) {
    io.stdin.on("data", onStdin);
    io.stdin.on("end", onStdinEnd);
  }
  try {
    await new Promise<void>((resolve) => {
      const finish = () => resolve();
      signal.addEventListener("abort", finish, { once: true });
      sock.on("data", (chunk: Buffer) => {
        for (const p of reader.push(chunk)) {
          const target = p.pipe === ATTACH_PIPE_STDERR && !io.tty ? io.stderr : io.stdout;
          if (target && !target.write(p.data)) {
            sock.pause();
            target.once("drain", () => sock.resume());
          }
        }
      });
      sock.on("end", finish);
      sock.on("close", finish);
      sock.on("error", finish);
    });
  } finally {
    io.sizes?.off("resize", onResize);
    io.stdin?.off("data", onStdin);
    io.stdin?.off("end", onStdinEnd);
    sock.destroy();
  }
}
