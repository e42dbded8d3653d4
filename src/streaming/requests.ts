// What a streaming URL stands for, in the daemon's own terms, and what the
// streaming server needs from the runtime to serve it.

import type { Socket } from "node:net";
import type { ProcessStdio } from "../runtime/stdio.js";

export type StreamRequest =
  | { kind: "exec"; containerId: string; cmd: string[]; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }
  | { kind: "attach"; containerId: string; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }
  | { kind: "portforward"; sandboxId: string; ports: number[] };

export interface StreamingBackend {
  /** Resolves to the command's exit code. */
  exec(containerId: string, cmd: string[], io: ProcessStdio, signal: AbortSignal): Promise<number>;
  /** Resolves when the container's process ends or the signal aborts. */
  attach(containerId: string, io: ProcessStdio, signal: AbortSignal): Promise<void>;
  connectPort(sandboxId: string, port: number): Promise<Socket>;
}
