// The server side of one HTTP/2 connection (RFC 9113), as much of it as gRPC
// over a unix socket uses: requests are header blocks plus a body that ends
// the client's half of the stream; replies are a header block, DATA under the
// peer's flow control, and trailers. No server push, no priorities (ignored),
// no dynamic table in what skiff sends (every field a literal, see hpack.ts).
//
// Why not Node's http2 module: with grpc-js on top, a status call cost about
// twice containerd's, and clients that send the socket path as :authority
// (kubelet and crictl up to ~1.30) needed a rewriting proxy in front of it.
// Here a call is a few frames parsed in JS and one socket write for its reply.

import type { Socket } from "node:net";
import { Flag, FrameError, FrameReader, FrameType, MIN_MAX_FRAME_SIZE, encodeFrame, frameHeader, parseHeadersPayload, type Frame } from "./frames.js";
import { DEFAULT_TABLE_BYTES, HeaderBlockDecoder, HpackError, type HeaderField } from "./hpack.js";

/** RFC 9113 §7 error codes skiff sends. */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

const Setting = { HEADER_TABLE_SIZE: 0x1, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5 } as const;

const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;
/** What each request stream may send before skiff's first WINDOW_UPDATE for it (advertised in SETTINGS). */
const STREAM_RECEIVE_WINDOW = 1 << 20;
/** The connection's receive window, raised at once from the default 64 KiB. */
const CONNECTION_RECEIVE_WINDOW = 16 << 20;
/** Open streams per connection; more are refused (REFUSED_STREAM; the client may retry). */
export const MAX_CONCURRENT_STREAMS = 1000;
/** A header block larger than this ends the connection (kubelet's are a few hundred bytes). */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One request stream as the layer above sees it. */
export class ServerStream {
  /** Set when the client resets the stream or the connection goes. */
  cancelled = false;
  /** The client has closed its half: the request is complete. */
  ended = false;
  private cancelListeners: (() => void)[] = [];
  /** Flow-controlled output not yet sent; headers wait behind DATA queued before them. */
  readonly queue: OutItem[] = [];
  sendWindow: number;
  /** Received DATA bytes not yet given back with a WINDOW_UPDATE. */
  unacked = 0;
  closed = false;

  constructor(
    readonly id: number,
    readonly headers: HeaderField[],
    private readonly conn: Http2ServerConnection,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  header(name: string): string | undefined {
    for (const f of this.headers) if (f.name === name) return f.value;
    return undefined;
  }

  onCancel(listener: () => void): void {
    this.cancelListeners.push(listener);
  }

  offCancel(listener: () => void): void {
    const i = this.cancelListeners.indexOf(listener);
    if (i >= 0) this.cancelListeners.splice(i, 1);
  }

  /** Sends a header block (response headers or trailers; `end` closes skiff's half). */
  sendHeaders(block: Buffer, end: boolean): void {
    if (this.closed) return;
    this.queue.push({ headers: block, end });
    this.conn.flushStream(this);
  }

  /**
   * Queues DATA, given whole or in parts (sent as if joined: a frame may hold
   * the end of one and the start of the next); `sent` runs once all of it has
   * gone to the socket (flow control allowing).
   */
  sendData(data: Buffer | readonly Buffer[], sent?: () => void): void {
    if (this.closed) return;
    const parts = Buffer.isBuffer(data) ? [data] : data.length ? data : [Buffer.alloc(0)]; // `sent` runs for no bytes too
    parts.forEach((part, i) => this.queue.push({ data: part, end: false, sent: i === parts.length - 1 ? sent : undefined }));
    this.conn.flushStream(this);
  }

  /** Ends the stream with RST_STREAM (e.g. a reply sent before the request was all read). */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }

  /** Resolves when the socket can take more: a streaming reply's back-pressure. */
  whenWritable(): Promise<void> {
    return this.conn.whenWritable();
  }

  /** @internal */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.cancelListeners;
    this.cancelListeners = [];
    for (const l of listeners) l();
  }
}

interface OutItem {
  headers?: Buffer;
  data?: Buffer;
  end: boolean;
  sent?: () => void;
}

export interface RequestSink {
  /** A stream's request headers have arrived. */
  onHeaders(stream: ServerStream): void;
  /** Request body bytes (DATA payload, padding removed). */
  onData(stream: ServerStream, data: Buffer): void;
  /** The client closed its half: the request is complete. */
  onEnd(stream: ServerStream): void;
}

export interface ConnectionLog {
  error(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export class Http2ServerConnection {
  private readonly reader = new FrameReader(MIN_MAX_FRAME_SIZE);
  private readonly decoder = new HeaderBlockDecoder();
  private readonly streams = new Map<number, ServerStream>();
  private lastStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = MIN_MAX_FRAME_SIZE;
  private sendWindow = DEFAULT_WINDOW;
  private connUnacked = 0;
  /** Streams with DATA waiting for window. */
  private readonly blocked = new Set<ServerStream>();
  private pendingBlock?: { streamId: number; endStream: boolean; fragments: Buffer[]; bytes: number };
  private out: Buffer[] = [];
  private outBytes = 0;
  /** A flush is queued for the end of this tick (process.nextTick). */
  private flushScheduled = false;
  /** A flush is queued for the end of this turn of the event loop (setImmediate). */
  private lateFlushScheduled = false;
  private goingAway = false;
  private dead = false;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly sink: RequestSink,
    private readonly log: ConnectionLog,
  ) {
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(Setting.MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(MAX_CONCURRENT_STREAMS, 2);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(STREAM_RECEIVE_WINDOW, 8);
    settings.writeUInt16BE(Setting.HEADER_TABLE_SIZE, 12);
    settings.writeUInt32BE(DEFAULT_TABLE_BYTES, 14);
    this.queueFrame(encodeFrame(FrameType.SETTINGS, 0, 0, settings));
    this.queueFrame(windowUpdate(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW));
    socket.on("data", (chunk: Buffer) => this.onBytes(chunk));
    socket.on("drain", () => {
      for (const w of this.drainWaiters.splice(0)) w();
    });
    socket.on("error", (err) => this.log.debug({ err: err.message }, "CRI client connection failed"));
    socket.on("close", () => this.onClose());
  }

  /** Open streams. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** Resolves when the socket can take more (for streaming replies). */
  whenWritable(): Promise<void> {
    if (this.dead || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Asks the client to open no more streams; the connection closes when the open ones end. */
  goAway(): void {
    if (this.goingAway || this.dead) return;
    this.goingAway = true;
    this.queueFrame(goAwayFrame(this.lastStreamId, H2Error.NO_ERROR, ""));
    if (this.streams.size === 0) this.endSoon();
  }

  /** Cancels every stream and closes the socket. */
  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private endSoon(): void {
    this.flushOut();
    this.socket.end();
    // A client that keeps its half open after GOAWAY does not hold up a shutdown.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onBytes(chunk: Buffer): void {
    if (this.dead) return;
    try {
      for (const frame of this.reader.push(chunk)) this.onFrame(frame);
    } catch (err) {
      const message = (err as Error).message;
      const code =
        err instanceof ConnectionError ? err.code
        : err instanceof FrameError ? H2Error.PROTOCOL_ERROR
        : err instanceof HpackError ? H2Error.COMPRESSION_ERROR
        : H2Error.INTERNAL_ERROR;
      if (code === H2Error.INTERNAL_ERROR) this.log.error({ err: (err as Error).stack ?? message }, "closing a CRI client connection after an internal error");
      else this.log.warn({ err: message }, "closing a CRI client connection that broke the HTTP/2 protocol");
      this.queueFrame(goAwayFrame(this.lastStreamId, code, message));
      this.flushOut();
      this.socket.end();
      this.dead = true;
      this.cancelAll();
    }
  }

  private onFrame(f: Frame): void {
    if (this.pendingBlock) {
      if (f.type !== FrameType.CONTINUATION || f.streamId !== this.pendingBlock.streamId) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `stream ${this.pendingBlock.streamId}'s header block is interrupted by a frame of type ${f.type}`);
      }
      this.addFragment(f.payload, (f.flags & Flag.END_HEADERS) !== 0);
      return;
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.onDataFrame(f);
      case FrameType.HEADERS:
        return this.onHeadersFrame(f);
      case FrameType.PRIORITY:
        if (f.payload.length !== 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "PRIORITY frame of the wrong size");
        return;
      case FrameType.RST_STREAM:
        return this.onReset(f);
      case FrameType.SETTINGS:
        return this.onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "a client may not send PUSH_PROMISE");
      case FrameType.PING:
        if (f.streamId !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PING on a stream");
        if (f.payload.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "PING frame of the wrong size");
        if (!(f.flags & Flag.ACK)) this.queueReply(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload));
        return;
      case FrameType.GOAWAY:
        // The client opens no more streams; the open ones finish as usual.
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f);
      case FrameType.CONTINUATION:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `CONTINUATION on stream ${f.streamId} without a header block`);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private onHeadersFrame(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "HEADERS on stream 0");
    const { fragment } = parseHeadersPayload(f);
    this.pendingBlock = { streamId: f.streamId, endStream: (f.flags & Flag.END_STREAM) !== 0, fragments: [], bytes: 0 };
    this.addFragment(fragment, (f.flags & Flag.END_HEADERS) !== 0);
  }

  private addFragment(fragment: Buffer, last: boolean): void {
    const block = this.pendingBlock!;
    block.fragments.push(fragment);
    block.bytes += fragment.length;
    if (block.bytes > MAX_HEADER_BLOCK_BYTES) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `stream ${block.streamId}'s header block is larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
    }
    if (!last) return;
    this.pendingBlock = undefined;
    // Decoded even for a stream about to be refused: the decoder's table must follow the client's encoder.
    const fields = this.decoder.decode(block.fragments.length === 1 ? block.fragments[0]! : Buffer.concat(block.fragments));
    this.onHeaderBlock(block.streamId, fields, block.endStream);
  }

  private onHeaderBlock(id: number, fields: HeaderField[], endStream: boolean): void {
    const open = this.streams.get(id);
    if (open) {
      // Trailers from the client: they must end its half.
      if (open.ended || !endStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `unexpected header block on stream ${id}`);
      this.endRequest(open);
      return;
    }
    if (id <= this.lastStreamId) {
      // A stream skiff closed already (it may have answered before the client finished): ignore.
      return;
    }
    if (id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `a client may not open even-numbered stream ${id}`);
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= MAX_CONCURRENT_STREAMS) {
      this.queueFrame(rstFrame(id, H2Error.REFUSED_STREAM));
      return;
    }
    const stream = new ServerStream(id, fields, this, this.peerInitialWindow);
    this.streams.set(id, stream);
    this.sink.onHeaders(stream);
    if (endStream && !stream.closed) this.endRequest(stream);
  }

  private endRequest(stream: ServerStream): void {
    stream.ended = true;
    this.sink.onEnd(stream);
  }

  private onDataFrame(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "DATA on stream 0");
    let body = f.payload;
    if (f.flags & Flag.PADDED) {
      const pad = body[0];
      if (pad === undefined || pad >= body.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on stream ${f.streamId} has more padding than payload`);
      body = body.subarray(1, body.length - pad);
    }
    // The whole frame counts against the windows, padding included.
    this.connUnacked += f.payload.length;
    if (this.connUnacked >= CONNECTION_RECEIVE_WINDOW / 2) {
      this.queueFrame(windowUpdate(0, this.connUnacked));
      this.connUnacked = 0;
    }
    const stream = this.streams.get(f.streamId);
    if (!stream) {
      if (f.streamId > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on stream ${f.streamId}, which was never opened`);
      return; // closed already: ignored, as RFC 9113 §5.1 allows after RST_STREAM
    }
    if (stream.ended) {
      this.resetStream(stream, H2Error.STREAM_CLOSED);
      return;
    }
    const end = (f.flags & Flag.END_STREAM) !== 0;
    stream.unacked += f.payload.length;
    if (!end && stream.unacked >= STREAM_RECEIVE_WINDOW / 2) {
      this.queueFrame(windowUpdate(stream.id, stream.unacked));
      stream.unacked = 0;
    }
    if (body.length) this.sink.onData(stream, body);
    if (end && !stream.closed) this.endRequest(stream);
  }

  private onReset(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (f.payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "RST_STREAM frame of the wrong size");
    const stream = this.streams.get(f.streamId);
    if (stream) this.closeStream(stream);
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (f.flags & Flag.ACK) {
      if (f.payload.length) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      return;
    }
    if (f.payload.length % 6) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS payload is not a whole number of settings");
    for (let at = 0; at < f.payload.length; at += 6) {
      const id = f.payload.readUInt16BE(at);
      const value = f.payload.readUInt32BE(at + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value} is too large`);
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < MIN_MAX_FRAME_SIZE || value > 0xff_ffff) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} is out of range`);
        this.peerMaxFrame = value;
      }
      // The rest do not concern skiff: it never pushes, and its header blocks use no dynamic table.
    }
    this.queueReply(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0)));
    this.flushBlocked();
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "WINDOW_UPDATE frame of the wrong size");
    const increment = f.payload.readUInt32BE(0) & 0x7fff_ffff;
    if (f.streamId === 0) {
      if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection");
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "the connection's window grew past 2^31-1");
      this.flushBlocked();
      return;
    }
    const stream = this.streams.get(f.streamId);
    if (!stream) return;
    if (increment === 0 || stream.sendWindow + increment > MAX_WINDOW) {
      this.resetStream(stream, increment === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    this.flushStream(stream);
  }

  private flushBlocked(): void {
    for (const s of [...this.blocked]) {
      this.blocked.delete(s);
      this.flushStream(s);
    }
  }

  /**
   * @internal Sends what the stream has queued, as far as the windows allow.
   * A DATA frame is filled from consecutive DATA items (a gRPC message's
   * prefix and its bytes are two) and refers to their bytes: they are copied
   * once, into the connection's write.
   */
  flushStream(s: ServerStream): void {
    while (s.queue.length && !s.closed) {
      const item = s.queue[0]!;
      if (item.headers) {
        s.queue.shift();
        this.queueHeaderBlock(s.id, item.headers, item.end);
        if (item.end) this.finishStream(s);
        continue;
      }
      const room = Math.min(s.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (room <= 0 && item.data!.length) {
        this.blocked.add(s);
        return;
      }
      const parts: Buffer[] = [];
      const done: OutItem[] = [];
      let size = 0;
      while (s.queue.length && s.queue[0]!.data && (size < room || !s.queue[0]!.data.length)) {
        const next = s.queue[0]!;
        const data = next.data!;
        const n = Math.min(data.length, room - size);
        if (n) parts.push(n === data.length ? data : data.subarray(0, n));
        size += n;
        if (n < data.length) {
          next.data = data.subarray(n);
          break;
        }
        done.push(s.queue.shift()!);
      }
      if (size) {
        this.queueFrameParts(frameHeader(FrameType.DATA, 0, s.id, size), parts, size);
        s.sendWindow -= size;
        this.sendWindow -= size;
      }
      // After the frame is queued: a callback may queue more.
      for (const item of done) item.sent?.();
    }
  }

  private queueHeaderBlock(id: number, block: Buffer, end: boolean): void {
    let flags = end ? Flag.END_STREAM : 0;
    if (block.length <= this.peerMaxFrame) {
      this.queueFrame(encodeFrame(FrameType.HEADERS, flags | Flag.END_HEADERS, id, block));
      return;
    }
    let rest = block;
    let type: number = FrameType.HEADERS;
    while (rest.length) {
      const part = rest.subarray(0, this.peerMaxFrame);
      rest = rest.subarray(part.length);
      if (!rest.length) flags |= Flag.END_HEADERS;
      this.queueFrame(encodeFrame(type, flags, id, part));
      type = FrameType.CONTINUATION;
      flags = 0;
    }
  }

  /** skiff's half is closed: with the client's half closed too, the stream is gone. */
  private finishStream(s: ServerStream): void {
    if (!s.ended) {
      // Answered before the request was all read (an error): the client need send no more.
      this.queueFrame(rstFrame(s.id, H2Error.NO_ERROR));
    }
    this.removeStream(s);
  }

  /** @internal */
  resetStream(s: ServerStream, code: number): void {
    this.queueFrame(rstFrame(s.id, code));
    this.closeStream(s);
  }

  private closeStream(s: ServerStream): void {
    this.removeStream(s);
    s.cancel();
  }

  private removeStream(s: ServerStream): void {
    s.closed = true;
    s.queue.length = 0;
    this.blocked.delete(s);
    this.streams.delete(s.id);
    if (this.goingAway && this.streams.size === 0) this.endSoon();
  }

  private cancelAll(): void {
    for (const s of [...this.streams.values()]) this.closeStream(s);
  }

  private onClose(): void {
    this.dead = true;
    this.cancelAll();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Frames made in one turn of the event loop go out in one write. */
  private queueFrame(frame: Buffer): void {
    this.queueFrameParts(frame, [], 0);
  }

  /** A frame as its header and the parts of its payload (bytes of the layer above, not copied here). */
  private queueFrameParts(head: Buffer, parts: Buffer[], size: number): void {
    if (this.dead) return;
    this.out.push(head, ...parts);
    this.outBytes += head.length + size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushOut);
    }
  }

  /**
   * An acknowledgement (PING, SETTINGS) goes out in the same turn of the event
   * loop, but in the write of the replies of the calls that arrived with it:
   * grpc-go pings after every response it reads (its bandwidth estimate), so
   * the ping usually comes in with the next request, and flushed at once its
   * ack would cost that request a write(2) of its own, with the wake-up of the
   * client that comes with it, before the reply.
   */
  private queueReply(frame: Buffer): void {
    if (this.dead) return;
    this.out.push(frame);
    this.outBytes += frame.length;
    if (!this.flushScheduled && !this.lateFlushScheduled) {
      this.lateFlushScheduled = true;
      setImmediate(this.lateFlush);
    }
  }

  private readonly lateFlush = (): void => {
    this.lateFlushScheduled = false;
    if (!this.flushScheduled) this.flushOut();
  };

  private readonly flushOut = (): void => {
    this.flushScheduled = false;
    if (!this.out.length) return;
    const out = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (this.dead || this.socket.destroyed) return;
    if (out.length === 1 || bytes <= 64 * 1024) {
      this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes));
      return;
    }
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  };
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment, 0);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

function rstFrame(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, p);
}

function goAwayFrame(lastStreamId: number, code: number, debug: string): Buffer {
  const d = Buffer.from(debug.slice(0, 256), "utf8");
  const p = Buffer.alloc(8 + d.length);
  p.writeUInt32BE(lastStreamId, 0);
  p.writeUInt32BE(code, 4);
  d.copy(p, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, p);
}
