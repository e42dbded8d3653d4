// Exec and attach over WebSocket: channels 0 stdin, 1 stdout, 2 stderr,
// 3 error (the exit status), 4 resize (JSON), 255 close (v5). The socket
// closes once the status is sent.

import { PassThrough } from "node:stream";
import type WebSocket from "ws";
import { TerminalSizes, type ProcessStdio } from "../runtime/stdio.js";
import { errorChannelMessage, parseTerminalSize, protocolVersion } from "./protocol.js";
import { runCommand, type CommandRequest } from "./remote-command.js";
import type { StreamingBackend } from "./requests.js";
import { channelWriter, CLOSE_CHANNEL, decodeChannelMessage, isBase64Protocol, sendOnChannel } from "./ws-channels.js";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

export async function serveWsRemoteCommand(ws: WebSocket, protocol: string, req: CommandRequest, backend: StreamingBackend): Promise<void> {
  const base64 = isBase64Protocol(protocol);
  const version = protocolVersion(protocol);
  const stdin = req.stdin ? new PassThrough() : null;
  const sizes = req.tty ? new TerminalSizes() : null;
  const abort = new AbortController();
  ws.on("message", (raw: Buffer, isBinary: boolean) => {
    const m = decodeChannelMessage(raw, isBinary, base64);
    if (!m) return;
    if (m.channel === STDIN && stdin && !stdin.writableEnded) stdin.write(m.data);
    else if (m.channel === RESIZE && sizes) {
      const size = parseTerminalSize(m.data.toString("utf8"));
      if (size) sizes.push(size);
    } else if (m.channel === CLOSE_CHANNEL && version >= 5 && m.data[0] === STDIN) stdin?.end();
  });
  ws.on("close", () => {
    stdin?.end();
    abort.abort();
  });
  ws.on("error", () => undefined);
  const io: ProcessStdio = {
    tty: req.tty,
    stdin,
    stdout: req.stdout ? channelWriter(ws, STDOUT, base64) : null,
    stderr: req.stderr && !req.tty ? channelWriter(ws, STDERR, base64) : null,
    sizes,
  };
  // As kubelet's server does: an empty frame on the lowest channel the server
  // writes tells the client that the session is set up.
  await sendOnChannel(ws, io.stdout ? STDOUT : io.stderr ? STDERR : ERROR, Buffer.alloc(0), base64);
  const outcome = await runCommand(backend, req, io, abort.signal);
  if (ws.readyState !== ws.OPEN) return;
  await Promise.all([io.stdout, io.stderr].map((s) => (s ? new Promise<void>((resolve) => s.end(resolve)) : undefined)));
  const message = errorChannelMessage(version, outcome);
  if (message) await sendOnChannel(ws, ERROR, message, base64);
  ws.close(1000);
}
