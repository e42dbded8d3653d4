// The Kubernetes channel framing over WebSocket: each message starts with its
// channel number (a byte, or an ASCII digit followed by base64 in the
// *.base64.channel.k8s.io forms). v5 adds channel 255: [255, n] closes channel n.

import { Writable } from "node:stream";
import type WebSocket from "ws";

export const CLOSE_CHANNEL = 255;

export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes("base64");
}

export function encodeChannelMessage(channel: number, data: Buffer, base64: boolean): Buffer | string {
  if (base64) return String.fromCharCode(48 + channel) + data.toString("base64");
  return Buffer.concat([Buffer.from([channel]), data]);
}

export function decodeChannelMessage(raw: Buffer, isBinary: boolean, base64: boolean): { channel: number; data: Buffer } | undefined {
  if (raw.length === 0) return undefined;
  if (base64 && !isBinary) {
    const channel = raw[0]! - 48;
    return channel < 0 || channel > 9 ? undefined : { channel, data: Buffer.from(raw.subarray(1).toString("latin1"), "base64") };
  }
  return { channel: raw[0]!, data: raw.subarray(1) };
}

/** A Writable that sends each chunk on one channel, with the socket's send callback as backpressure. */
export function channelWriter(ws: WebSocket, channel: number, base64: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(encodeChannelMessage(channel, chunk, base64), { binary: !base64 }, () => cb());
    },
  });
}

export function sendOnChannel(ws: WebSocket, channel: number, data: Buffer, base64: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve();
    ws.send(encodeChannelMessage(channel, data, base64), { binary: !base64 }, () => resolve());
  });
}
