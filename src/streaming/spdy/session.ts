// A SPDY/3.1 connection over an upgraded HTTP socket: frames in, frames out,
// and one Duplex per stream. The server side answers each SYN_STREAM with a
// SYN_REPLY at once (kubelet's clients wait for it before opening the next
// stream); the client side (used by tests) opens streams and waits for that
// reply. Received data is acknowledged with WINDOW_UPDATEs as it arrives; the
// peer's window is not enforced on sends, as Kubernetes' own SPDY peers do not
// track it either.

import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import {
  decodeHeaderBlock,
  encodeControl,
  encodeData,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameType,
  goAwayPayload,
  type Headers,
  parseRstStream,
  parseStreamHeaders,
  parseSynStream,
  readFrame,
  RstStatus,
  rstStreamPayload,
  SPDY_VERSION,
  SpdyProtocolError,
  streamHeadersPayload,
  synStreamPayload,
  windowUpdatePayload,
} from "./frames.js";
import { HeaderCompression } from "./header-compression.js";

const DATA_CHUNK = 32 * 1024;
/** kubelet's streaming idle timeout: a connection with no frame either way for this long is closed. */
export const SPDY_IDLE_TIMEOUT_MS = 4 * 60 * 60 * 1000;
const PEER_CLOSE_WAIT_MS = 10_000;
/** A peer that sends frames larger than this is not a Kubernetes client. */
const MAX_BUFFERED = 17 * 1024 * 1024;

export class SpdyStream extends Duplex {
  /** Set when the peer sent FIN: no more data will come. */
  remoteEnded = false;
  private replied: () => void = () => undefined;
  readonly reply: Promise<void>;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Headers,
  ) {
    super({ allowHalfOpen: true });
    this.reply = new Promise((resolve) => (this.replied = resolve));
    // An error ends the stream ('close' follows) and its users listen if they
    // care. One that none of them handles, such as the peer's reset of a stream
    // the server only writes to (client-go resets its streams when done), must
    // not reach the process as an uncaught exception.
    this.on("error", () => undefined);
  }

  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase());
  }

  override _read(): void {
    /* data is pushed as frames arrive */
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.session.forget(this, err !== null || !this.remoteEnded || !this.writableFinished);
    cb(err);
  }

  /** @internal */
  receive(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin) {
      this.remoteEnded = true;
      this.push(null);
    }
  }

  /** @internal */
  gotReply(): void {
    this.replied();
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
}

export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compression = new HeaderCompression();
  private buffered: Buffer = Buffer.alloc(0);
  private processing: Promise<void> = Promise.resolve();
  private sendQueue: Promise<void> = Promise.resolve();
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly role: "server" | "client",
    head: Buffer = Buffer.alloc(0),
    idleTimeoutMs = SPDY_IDLE_TIMEOUT_MS,
  ) {
    super();
    this.nextStreamId = role === "client" ? 1 : 2;
    socket.setNoDelay(true);
    // Counts reads and writes alike; 'timeout' fires once the socket has been idle that long.
    socket.setTimeout(idleTimeoutMs, () => this.close());
    socket.on("data", (d: Buffer) => this.onBytes(d));
    socket.on("error", () => this.close());
    // The peer is done (http.Server sockets allow half-open connections, so its
    // FIN comes as 'end' only): close once the frames already received are
    // handled, or their data and FINs would be lost.
    const closeAfterQueued = () => {
      this.processing = this.processing.then(() => this.close());
    };
    socket.on("end", closeAfterQueued);
    socket.on("close", closeAfterQueued);
    if (head.length) this.onBytes(head);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Client side: opens a stream and waits for the peer's SYN_REPLY. */
  async openStream(headers: Record<string, string>): Promise<SpdyStream> {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])));
    this.streams.set(id, stream);
    await this.enqueue(async () => {
      const block = await this.compression.compress(encodeHeaderBlock(Object.entries(headers)));
      return encodeControl(FrameType.SynStream, 0, synStreamPayload(id, block));
    });
    await stream.reply;
    return stream;
  }

  /** Sends a whole frame sequence for one stream's data, in chunks. */
  sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the SPDY connection is closed"));
    const frames: Buffer[] = [];
    for (let off = 0; off < data.length; off += DATA_CHUNK) {
      const part = data.subarray(off, off + DATA_CHUNK);
      frames.push(encodeData(streamId, fin && off + DATA_CHUNK >= data.length ? FLAG_FIN : 0, part));
    }
    if (data.length === 0 && fin) frames.push(encodeData(streamId, FLAG_FIN, data));
    return this.enqueue(async () => Buffer.concat(frames));
  }

  /**
   * Ends the connection politely: GOAWAY, our side of the socket once queued
   * frames are out, then the rest when the peer closes (at most 10 s later).
   * Closing at once would reset a connection with unread frames in it (the
   * peer's window updates), and a reset throws away what the peer has not read.
   */
  async end(): Promise<void> {
    if (this.closed) return;
    await this.enqueue(async () => encodeControl(FrameType.GoAway, 0, goAwayPayload(this.lastPeerStreamId, 0))).catch(() => undefined);
    await new Promise<void>((resolve) => this.socket.end(resolve));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PEER_CLOSE_WAIT_MS);
      this.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.compression.close();
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.socket.destroy();
    this.emit("close");
  }

  /** @internal A stream is gone; reset it on the wire if it did not end cleanly. */
  forget(stream: SpdyStream, reset: boolean): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (reset && !this.closed) {
      void this.enqueue(async () => encodeControl(FrameType.RstStream, 0, rstStreamPayload(stream.id, RstStatus.Cancel))).catch(() => undefined);
    }
  }

  /** Frames leave in the order they were queued (header compression depends on it); a full socket applies backpressure. */
  private enqueue(build: () => Promise<Buffer>): Promise<void> {
    const next = this.sendQueue.then(async () => {
      if (this.closed) throw new Error("the SPDY connection is closed");
      const bytes = await build();
      if (!this.socket.write(bytes)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.socket.off("drain", done);
            this.socket.off("close", done);
            resolve();
          };
          this.socket.on("drain", done);
          this.socket.on("close", done);
        });
      }
    });
    this.sendQueue = next.catch(() => undefined);
    return next;
  }

  private onBytes(d: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, d]) : d;
    if (this.buffered.length > MAX_BUFFERED) {
      this.close();
      return;
    }
    this.processing = this.processing.then(() => this.drain()).catch(() => this.close());
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const next = readFrame(this.buffered);
      if (!next) return;
      this.buffered = this.buffered.subarray(next.size);
      const f = next.frame;
      if (f.kind === "data") {
        this.onData(f.streamId, f.data, (f.flags & FLAG_FIN) !== 0);
        continue;
      }
      if (f.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${f.version}`);
      await this.onControl(f.type, f.flags, f.payload);
    }
  }

  private onData(streamId: number, data: Buffer, fin: boolean): void {
    const stream = this.streams.get(streamId);
    if (!stream) {
      void this.enqueue(async () => encodeControl(FrameType.RstStream, 0, rstStreamPayload(streamId, RstStatus.InvalidStream))).catch(() => undefined);
      return;
    }
    if (data.length) {
      // Give the window back at once: both the stream's and (SPDY/3.1) the connection's.
      const n = data.length;
      void this.enqueue(async () =>
        Buffer.concat([encodeControl(FrameType.WindowUpdate, 0, windowUpdatePayload(streamId, n)), encodeControl(FrameType.WindowUpdate, 0, windowUpdatePayload(0, n))]),
      ).catch(() => undefined);
    }
    stream.receive(data, fin);
  }

  private async onControl(type: number, flags: number, payload: Buffer): Promise<void> {
    switch (type) {
      case FrameType.SynStream: {
        const syn = parseSynStream(flags, payload);
        const headers = decodeHeaderBlock(await this.compression.decompress(syn.compressedHeaders));
        if (this.role === "client" || this.streams.has(syn.streamId) || syn.streamId % 2 === 0) {
          await this.enqueue(async () => encodeControl(FrameType.RstStream, 0, rstStreamPayload(syn.streamId, RstStatus.ProtocolError)));
          return;
        }
        this.lastPeerStreamId = Math.max(this.lastPeerStreamId, syn.streamId);
        const stream = new SpdyStream(this, syn.streamId, headers);
        this.streams.set(syn.streamId, stream);
        await this.enqueue(async () => {
          const block = await this.compression.compress(encodeHeaderBlock([]));
          return encodeControl(FrameType.SynReply, 0, streamHeadersPayload(syn.streamId, block));
        });
        if (syn.flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
        this.emit("stream", stream);
        return;
      }
      case FrameType.SynReply:
      case FrameType.Headers: {
        const h = parseStreamHeaders(payload);
        // Always inflate: the zlib state must see every block.
        await this.compression.decompress(h.compressedHeaders);
        const stream = this.streams.get(h.streamId);
        if (type === FrameType.SynReply) stream?.gotReply();
        if (stream && flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
        return;
      }
      case FrameType.RstStream: {
        const r = parseRstStream(payload);
        const stream = this.streams.get(r.streamId);
        if (stream) {
          this.streams.delete(r.streamId);
          stream.destroy(new Error(`the peer reset stream ${r.streamId} (status ${r.status})`));
        }
        return;
      }
      case FrameType.Ping: {
        // Echo the peer's pings (odd ids come from clients, even from servers), never an echo.
        const fromPeer = payload.length >= 4 && payload.readUInt32BE(0) % 2 === (this.role === "server" ? 1 : 0);
        if (fromPeer) await this.enqueue(async () => encodeControl(FrameType.Ping, 0, payload));
        return;
      }
      default:
        // SETTINGS, WINDOW_UPDATE, GOAWAY (no new streams: the peer opens none
        // after it, and its socket close ends ours) and unknown types need no answer.
        return;
    }
  }
}
