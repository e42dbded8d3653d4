// The standard streams of a process that a streaming client is connected to
// (exec or attach), as the runtime sees them: transport-free.

import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";

export interface TerminalSize {
  width: number;
  height: number;
}

/** Terminal size changes sent by the client; remembers the latest for a process that is not started yet. */
export class TerminalSizes extends EventEmitter<{ resize: [TerminalSize] }> {
  latest: TerminalSize | undefined;

  push(size: TerminalSize): void {
    this.latest = size;
    this.emit("resize", size);
  }
}

export interface ProcessStdio {
  tty: boolean;
  /** Client input; its end closes the process's stdin. */
  stdin: Readable | null;
  stdout: Writable | null;
  /** Unused with a tty: the terminal merges both outputs. */
  stderr: Writable | null;
  sizes: TerminalSizes | null;
}
