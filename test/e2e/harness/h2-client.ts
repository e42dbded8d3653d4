// A hand-made HTTP/2 client for the CRI socket: it sends exactly the frames a
// test asks for (no :authority, small windows, pings, resets, garbage), which
// no gRPC library lets one do, and records every frame the server sends.

import net from "node:net";
import { CLIENT_PREFACE, encodeFrame, Flag, FrameReader, FrameType, type Frame } from "../../../src/cri/transport/frames.js";
import { encodeLiteralBlock, HeaderBlockDecoder, type HeaderField } from "../../../src/cri/transport/hpack.js";

export { Flag, FrameType };

export interface ReceivedFrame extends Frame {
  /** A header block's fields (HEADERS frames, decoded in order). */
  fields?: HeaderField[];
}

export class RawH2Client {
  readonly frames: ReceivedFrame[] = [];
  closed = false;
  private readonly reader = new FrameReader(1 << 24);
  private readonly decoder = new HeaderBlockDecoder();
  private waiters: (() => void)[] = [];

  private constructor(private readonly conn: net.Socket) {
    // The server has no preface to skip: its frames start at the first byte.
    this.reader.push(CLIENT_PREFACE);
    conn.on("data", (chunk: Buffer) => {
      for (const f of this.reader.push(chunk) as ReceivedFrame[]) {
        if (f.type === FrameType.HEADERS) f.fields = this.decoder.decode(f.payload);
        if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) this.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0)));
        this.frames.push(f);
      }
      this.wake();
    });
    conn.on("close", () => {
      this.closed = true;
      this.wake();
    });
    conn.on("error", () => undefined);
  }

  /** Connects and sends the preface with these settings ([id, value] pairs). */
  static connect(socket: string, settings: [number, number][] = []): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const conn = net.connect(socket);
      conn.once("error", reject);
      conn.once("connect", () => {
        conn.off("error", reject);
        const payload = Buffer.alloc(settings.length * 6);
        settings.forEach(([id, value], i) => {
          payload.writeUInt16BE(id, i * 6);
          payload.writeUInt32BE(value, i * 6 + 2);
        });
        conn.write(Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, payload)]));
        resolve(new RawH2Client(conn));
      });
    });
  }

  send(...bytes: Buffer[]): void {
    this.conn.write(Buffer.concat(bytes));
  }

  /**
   * Sends a gRPC request's headers and its message (a protobuf payload) on
   * `streamId`; with message null, only the headers (the test sends DATA).
   */
  request(streamId: number, path: string, message: Buffer | null, opts: { end?: boolean; headers?: HeaderField[] } = {}): void {
    const block = encodeLiteralBlock([
      { name: ":method", value: "POST" },
      { name: ":scheme", value: "http" },
      { name: ":path", value: path },
      { name: "content-type", value: "application/grpc" },
      { name: "te", value: "trailers" },
      ...(opts.headers ?? []),
    ]);
    const headers = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, streamId, block);
    if (!message) return this.send(headers);
    const framed = Buffer.alloc(5 + message.length);
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    this.send(headers, encodeFrame(FrameType.DATA, opts.end === false ? 0 : Flag.END_STREAM, streamId, framed));
  }

  /** Resolves to the first received frame that matches, waiting up to timeoutMs. */
  async waitFor(what: string, match: (f: ReceivedFrame) => boolean, timeoutMs = 10_000): Promise<ReceivedFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(match);
      if (f) return f;
      if (this.closed) throw new Error(`connection closed before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The trailers (END_STREAM header block) of a stream, waited for. */
  trailers(streamId: number): Promise<ReceivedFrame> {
    return this.waitFor(`stream ${streamId}'s trailers`, (f) => f.type === FrameType.HEADERS && f.streamId === streamId && (f.flags & Flag.END_STREAM) !== 0);
  }

  /** DATA bytes received on a stream so far (gRPC framing included). */
  dataOf(streamId: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === FrameType.DATA && f.streamId === streamId).map((f) => f.payload));
  }

  close(): void {
    this.conn.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

export function field(frame: ReceivedFrame, name: string): string | undefined {
  return frame.fields?.find((f) => f.name === name)?.value;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, p);
}
