// Runs one exec or attach for a streaming session, whatever the transport:
// the transport supplies the client's streams, this turns the runtime's result
// into the outcome that the error channel reports.

import { errorMessage } from "../errors.js";
import type { ProcessStdio } from "../runtime/stdio.js";
import type { CommandOutcome } from "./protocol.js";
import type { StreamingBackend, StreamRequest } from "./requests.js";

export type CommandRequest = Extract<StreamRequest, { kind: "exec" | "attach" }>;

export async function runCommand(backend: StreamingBackend, req: CommandRequest, io: ProcessStdio, signal: AbortSignal): Promise<CommandOutcome> {
  try {
    if (req.kind === "exec") return { kind: "exited", exitCode: await backend.exec(req.containerId, req.cmd, io, signal) };
    await backend.attach(req.containerId, io, signal);
    return { kind: "ended" };
  } catch (err) {
    return { kind: "failed", message: errorMessage(err) };
  }
}

/** Which client streams a session waits for before it starts. */
export function expectedStreams(req: CommandRequest, version: number): string[] {
  const want = ["error"];
  if (req.stdin) want.push("stdin");
  if (req.stdout) want.push("stdout");
  if (req.stderr && !req.tty) want.push("stderr");
  if (req.tty && version >= 3) want.push("resize");
  return want;
}
