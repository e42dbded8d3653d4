// Exec and attach over SPDY: the client opens one stream per channel, told
// apart by its "streamType" header; the session starts once the expected ones
// are open. The exit status goes on the error stream, then the connection ends.

import type { Logger } from "../log.js";
import { TerminalSizes, type ProcessStdio } from "../runtime/stdio.js";
import { errorChannelMessage, ResizeDecoder } from "./protocol.js";
import { expectedStreams, runCommand, type CommandRequest } from "./remote-command.js";
import type { StreamingBackend } from "./requests.js";
import type { SpdySession, SpdyStream } from "./spdy/session.js";

const STREAM_CREATION_TIMEOUT_MS = 30_000;

function waitForStreams(session: SpdySession, want: string[]): Promise<Map<string, SpdyStream> | undefined> {
  return new Promise((resolve) => {
    const got = new Map<string, SpdyStream>();
    const timer = setTimeout(() => done(undefined), STREAM_CREATION_TIMEOUT_MS);
    const done = (v: Map<string, SpdyStream> | undefined) => {
      clearTimeout(timer);
      session.off("stream", onStream);
      session.off("close", onClose);
      resolve(v);
    };
    const onStream = (s: SpdyStream) => {
      const type = s.header("streamtype") ?? "";
      // Unexpected streams (e.g. stderr next to a tty from old clients) are accepted and left unused.
      got.set(type, s);
      if (want.every((w) => got.has(w))) done(got);
    };
    const onClose = () => done(undefined);
    session.on("stream", onStream);
    session.on("close", onClose);
  });
}

export async function serveSpdyRemoteCommand(session: SpdySession, version: number, req: CommandRequest, backend: StreamingBackend, log: Logger): Promise<void> {
  const streams = await waitForStreams(session, expectedStreams(req, version));
  if (!streams) {
    log.warn({ version }, "streaming client did not open its streams in time; closing");
    session.close();
    return;
  }
  const sizes = req.tty ? new TerminalSizes() : null;
  const resize = streams.get("resize");
  if (resize && sizes) {
    const decoder = new ResizeDecoder();
    resize.on("data", (d: Buffer) => decoder.push(d.toString("utf8")).forEach((s) => sizes.push(s)));
  }
  const io: ProcessStdio = {
    tty: req.tty,
    stdin: req.stdin ? (streams.get("stdin") ?? null) : null,
    stdout: req.stdout ? (streams.get("stdout") ?? null) : null,
    stderr: req.stderr && !req.tty ? (streams.get("stderr") ?? null) : null,
    sizes,
  };
  const abort = new AbortController();
  session.once("close", () => abort.abort());
  const outcome = await runCommand(backend, req, io, abort.signal);
  if (session.isClosed) return;
  await Promise.all([io.stdout, io.stderr].map((s) => (s ? new Promise<void>((resolve) => s.end(resolve)) : undefined)));
  const error = streams.get("error")!;
  const message = errorChannelMessage(version, outcome);
  await new Promise<void>((resolve) => (message ? error.end(message, resolve) : error.end(resolve)));
  await session.end();
}
