// PortForward over WebSocket: the ports come in the URL (?port=80&port=443);
// port i uses channel 2i for data and 2i+1 for errors, and each channel's first
// message from the server is the port as two little-endian bytes. One TCP
// connection per port; the socket closes when they have all ended.

import type { Socket } from "node:net";
import type WebSocket from "ws";
import { errorMessage } from "../errors.js";
import type { StreamingBackend } from "./requests.js";
import { decodeChannelMessage, isBase64Protocol, sendOnChannel } from "./ws-channels.js";

export async function serveWsPortForward(ws: WebSocket, protocol: string, sandboxId: string, ports: number[], backend: StreamingBackend): Promise<void> {
  const base64 = isBase64Protocol(protocol);
  const sockets: (Socket | undefined)[] = [];
  ws.on("message", (raw: Buffer, isBinary: boolean) => {
    const m = decodeChannelMessage(raw, isBinary, base64);
    if (!m || m.channel % 2 !== 0) return;
    sockets[m.channel / 2]?.write(m.data);
  });
  ws.on("close", () => sockets.forEach((s) => s?.destroy()));
  ws.on("error", () => undefined);
  await Promise.all(
    ports.map(async (port, i) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(port);
      await sendOnChannel(ws, 2 * i, prefix, base64);
      await sendOnChannel(ws, 2 * i + 1, prefix, base64);
      let sock: Socket;
      try {
        sock = await backend.connectPort(sandboxId, port);
      } catch (err) {
        await sendOnChannel(ws, 2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${sandboxId}: ${errorMessage(err)}`), base64);
        return;
      }
      if (ws.readyState !== ws.OPEN) {
        sock.destroy();
        return;
      }
      sockets[i] = sock;
      await new Promise<void>((resolve) => {
        sock.on("data", (d: Buffer) => {
          sock.pause();
          void sendOnChannel(ws, 2 * i, d, base64).then(() => sock.resume());
        });
        sock.on("error", (err) => void sendOnChannel(ws, 2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${sandboxId}: ${err.message}`), base64));
        sock.on("close", () => resolve());
      });
    }),
  );
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
