// SPDY/3.1 framing, pure: turning bytes into frames and back. Header blocks are
// handled uncompressed here; header-compression.ts adds the zlib layer.
//
//   control frame: 1 | version(15) | type(16) | flags(8) | length(24) | payload
//   data frame:    0 | stream-id(31)           | flags(8) | length(24) | payload

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const MAX_FRAME_PAYLOAD = 0xffffff;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

/** RST_STREAM status codes used here. */
export const RstStatus = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6, StreamInUse: 8 } as const;

export type Frame =
  | { kind: "data"; streamId: number; flags: number; data: Buffer }
  | { kind: "control"; version: number; type: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {}

/** Reads one frame from the front of buf; undefined when buf holds less than a whole frame. */
export function readFrame(buf: Buffer): { frame: Frame; size: number } | undefined {
  if (buf.length < 8) return undefined;
  const length = buf.readUIntBE(5, 3);
  if (buf.length < 8 + length) return undefined;
  const flags = buf[4]!;
  const payload = buf.subarray(8, 8 + length);
  const first = buf.readUInt32BE(0);
  if (first & 0x80000000) {
    const version = (first >>> 16) & 0x7fff;
    return { frame: { kind: "control", version, type: first & 0xffff, flags, payload }, size: 8 + length };
  }
  return { frame: { kind: "data", streamId: first, flags, data: payload }, size: 8 + length };
}

export function encodeControl(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`control frame payload of ${payload.length} bytes is too large`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  head.writeUInt8(flags, 4);
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

export function encodeData(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`data frame of ${data.length} bytes is too large`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt8(flags, 4);
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

/** Header names are lowercase on the wire; several values of one name are joined by NUL. */
export type Headers = Map<string, string>;

export function encodeHeaderBlock(headers: Iterable<[string, string]>): Buffer {
  const entries = [...headers];
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(value, "utf8");
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  const headers: Headers = new Map();
  let off = 0;
  const take = (what: string): Buffer => {
    if (off + 4 > block.length) throw new SpdyProtocolError(`header block truncated at ${what}`);
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new SpdyProtocolError(`header block truncated in ${what}`);
    const out = block.subarray(off, off + len);
    off += len;
    return out;
  };
  if (block.length < 4) throw new SpdyProtocolError("header block shorter than its count");
  const count = block.readUInt32BE(0);
  off = 4;
  for (let i = 0; i < count; i++) {
    const name = take("a name").toString("utf8");
    const value = take("a value").toString("utf8");
    headers.set(name.toLowerCase(), headers.has(name) ? `${headers.get(name)}\0${value}` : value);
  }
  return headers;
}

export interface SynStream {
  streamId: number;
  associatedId: number;
  flags: number;
  compressedHeaders: Buffer;
}

export function parseSynStream(flags: number, p: Buffer): SynStream {
  if (p.length < 10) throw new SpdyProtocolError("SYN_STREAM shorter than 10 bytes");
  return { streamId: p.readUInt32BE(0) & 0x7fffffff, associatedId: p.readUInt32BE(4) & 0x7fffffff, flags, compressedHeaders: p.subarray(10) };
}

export function synStreamPayload(streamId: number, compressedHeaders: Buffer): Buffer {
  return Buffer.concat([u32(streamId), u32(0), Buffer.from([0, 0]), compressedHeaders]);
}

/** SYN_REPLY and HEADERS share a layout: stream id, then the header block. */
export function parseStreamHeaders(p: Buffer): { streamId: number; compressedHeaders: Buffer } {
  if (p.length < 4) throw new SpdyProtocolError("SYN_REPLY/HEADERS shorter than 4 bytes");
  return { streamId: p.readUInt32BE(0) & 0x7fffffff, compressedHeaders: p.subarray(4) };
}

export function streamHeadersPayload(streamId: number, compressedHeaders: Buffer): Buffer {
  return Buffer.concat([u32(streamId), compressedHeaders]);
}

export function parseRstStream(p: Buffer): { streamId: number; status: number } {
  if (p.length < 8) throw new SpdyProtocolError("RST_STREAM shorter than 8 bytes");
  return { streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
}

export function rstStreamPayload(streamId: number, status: number): Buffer {
  return Buffer.concat([u32(streamId), u32(status)]);
}

export function windowUpdatePayload(streamId: number, delta: number): Buffer {
  return Buffer.concat([u32(streamId), u32(delta)]);
}

export function goAwayPayload(lastGoodStreamId: number, status: number): Buffer {
  return Buffer.concat([u32(lastGoodStreamId), u32(status)]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
