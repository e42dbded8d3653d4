// HTTP/2 framing (RFC 9113 §4, §6): splitting a byte stream into frames and
// encoding frames. Pure: no sockets.

export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER_BYTES = 9;
/** Every peer must accept frames this large (SETTINGS_MAX_FRAME_SIZE's floor). */
export const MIN_MAX_FRAME_SIZE = 16_384;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export class FrameError extends Error {}

/**
 * Splits a byte stream into the client preface and frames. Bytes may arrive in
 * any chunking; a frame is returned once all of it is there.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds bytes; returns the frames now complete (the preface is checked and skipped). */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    if (!this.prefaceSeen) {
      const n = Math.min(this.buf.length, CLIENT_PREFACE.length);
      if (!this.buf.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n))) {
        throw new FrameError("the connection does not start with the HTTP/2 client preface");
      }
      if (this.buf.length < CLIENT_PREFACE.length) return frames;
      this.buf = this.buf.subarray(CLIENT_PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.buf.length >= FRAME_HEADER_BYTES) {
      const length = this.buf.readUIntBE(0, 3);
      if (length > this.maxFrameBytes) {
        throw new FrameError(`a frame of ${length} bytes is larger than the ${this.maxFrameBytes} allowed`);
      }
      const total = FRAME_HEADER_BYTES + length;
      if (this.buf.length < total) break;
      const raw = this.buf.subarray(0, total);
      frames.push({
        type: raw[3]!,
        flags: raw[4]!,
        streamId: raw.readUInt32BE(5) & 0x7fff_ffff,
        payload: raw.subarray(FRAME_HEADER_BYTES),
      });
      this.buf = this.buf.subarray(total);
    }
    return frames;
  }

}

/** A frame's 9-byte header, for a payload of `length` bytes. */
export function frameHeader(type: number, flags: number, streamId: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  head.writeUIntBE(length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fff_ffff, 5);
  return head;
}

export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(type, flags, streamId, payload.length), payload]);
}

/** A HEADERS frame's payload taken apart (§6.2): padding dropped, priority kept. */
export interface HeadersPayload {
  /** Stream dependency (4 bytes) + weight (1 byte), when the PRIORITY flag is set. */
  priority?: Buffer;
  fragment: Buffer;
}

export function parseHeadersPayload(frame: Frame): HeadersPayload {
  let body = frame.payload;
  let padding = 0;
  if (frame.flags & Flag.PADDED) {
    if (body.length < 1) throw new FrameError(`HEADERS on stream ${frame.streamId} is too short for its pad length`);
    padding = body[0]!;
    body = body.subarray(1);
  }
  let priority: Buffer | undefined;
  if (frame.flags & Flag.PRIORITY) {
    if (body.length < 5) throw new FrameError(`HEADERS on stream ${frame.streamId} is too short for its priority`);
    priority = body.subarray(0, 5);
    body = body.subarray(5);
  }
  if (padding > body.length) throw new FrameError(`HEADERS on stream ${frame.streamId} has more padding than payload`);
  return { priority, fragment: body.subarray(0, body.length - padding) };
}
