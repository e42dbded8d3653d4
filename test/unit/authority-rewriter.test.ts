// The CRI socket's :authority rewriter, fed client byte streams built here:
// HPACK with the dynamic table and table-size updates, padded and prioritised
// HEADERS, CONTINUATION, any chunking.

import { describe, expect, it } from "vitest";
import { AuthorityRewriter, isAcceptableAuthority, withUsableAuthority } from "../../src/cri/transport/authority-rewriter.js";
import {
  CLIENT_PREFACE,
  encodeFrame,
  Flag,
  FrameError,
  FrameReader,
  FrameType,
  headerBlockFrames,
  parseHeadersPayload,
  type Frame,
} from "../../src/cri/transport/frames.js";
import { encodeLiteralBlock, HeaderBlockDecoder, type HeaderField } from "../../src/cri/transport/hpack.js";

// A client-side HPACK encoder for the tests: literals with incremental indexing
// (§6.2.1) and indexed fields (§6.1), as grpc-go and nghttp2 send them.
function int(first: number, prefixBits: number, value: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  for (; rest >= 128; rest = Math.floor(rest / 128)) out.push((rest % 128) + 128);
  return [...out, rest];
}
function str(s: string): number[] {
  const b = [...Buffer.from(s, "latin1")];
  return [...int(0, 7, b.length), ...b];
}
const incremental = (name: string, value: string) => [0x40, ...str(name), ...str(value)];
const indexed = (index: number) => int(0x80, 7, index);
const tableSizeUpdate = (size: number) => int(0x20, 5, size);

const SETTINGS = encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0));
const SETTINGS_ACK = encodeFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0));

function requestFields(authority?: string): HeaderField[] {
  return [
    { name: ":method", value: "POST" },
    { name: ":scheme", value: "http" },
    { name: ":path", value: "/runtime.v1.RuntimeService/Version" },
    ...(authority === undefined ? [] : [{ name: ":authority", value: authority }]),
    { name: "content-type", value: "application/grpc" },
  ];
}

/** Runs bytes through a rewriter in chunks of `step` and returns the server-side frames. */
function rewrite(bytes: Buffer, step = bytes.length): { frames: Frame[]; rewriter: AuthorityRewriter } {
  const rewriter = new AuthorityRewriter();
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...rewriter.push(bytes.subarray(i, i + step)));
  const all = Buffer.concat(out);
  expect(all.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)).toBe(true);
  return { frames: new FrameReader(1 << 20).push(all), rewriter };
}

/** Decodes the header blocks of frames (HEADERS + CONTINUATION) in order. */
function headerBlocks(frames: Frame[]): { streamId: number; flags: number; fields: HeaderField[] }[] {
  const decoder = new HeaderBlockDecoder();
  const out: { streamId: number; flags: number; fields: HeaderField[] }[] = [];
  let pending: { streamId: number; flags: number; parts: Buffer[] } | undefined;
  for (const f of frames) {
    if (f.type === FrameType.HEADERS) pending = { streamId: f.streamId, flags: f.flags, parts: [parseHeadersPayload(f).fragment] };
    else if (f.type === FrameType.CONTINUATION) pending!.parts.push(f.payload);
    else continue;
    if (f.flags & Flag.END_HEADERS) {
      out.push({ streamId: pending!.streamId, flags: pending!.flags, fields: decoder.decode(Buffer.concat(pending!.parts)) });
      pending = undefined;
    }
  }
  return out;
}

describe("isAcceptableAuthority", () => {
  it("takes host names and host:port, refuses paths, percent-encoding, spaces and nothing", () => {
    for (const ok of ["localhost", "skiff", "127.0.0.1:1234", "[::1]:80", "node-1.example"]) expect(isAcceptableAuthority(ok), ok).toBe(true);
    for (const bad of ["/run/skiff/skiff.sock", "%2Frun%2Fskiff.sock", "a b", "", undefined]) expect(isAcceptableAuthority(bad), String(bad)).toBe(false);
  });
});

describe("withUsableAuthority", () => {
  it("replaces an unusable authority, keeps a usable one and every other field in order", () => {
    expect(withUsableAuthority(requestFields("/run/x.sock"))).toEqual(requestFields("localhost"));
    expect(withUsableAuthority(requestFields("node:1"))).toEqual(requestFields("node:1"));
  });

  it("adds one after the pseudo-headers when there is none, and leaves trailers alone", () => {
    const fields = withUsableAuthority(requestFields(undefined));
    expect(fields.map((f) => f.name)).toEqual([":method", ":scheme", ":path", ":authority", "content-type"]);
    const trailers = [{ name: "grpc-status", value: "0" }];
    expect(withUsableAuthority(trailers)).toBe(trailers);
  });

  it("keeps a single authority when a client sent two", () => {
    const twice = [...requestFields("/a"), { name: ":authority", value: "/b" }];
    expect(withUsableAuthority(twice).filter((f) => f.name === ":authority")).toEqual([{ name: ":authority", value: "localhost" }]);
  });
});

describe("AuthorityRewriter", () => {
  const path = "/run/skiff/skiff.sock";
  // Request 1 indexes every field; request 2 (stream 3) refers to them through the dynamic table.
  const block1 = Buffer.from([
    ...incremental(":method", "POST"),
    ...incremental(":scheme", "http"),
    ...incremental(":path", "/runtime.v1.RuntimeService/Version"),
    ...incremental(":authority", path),
    ...incremental("content-type", "application/grpc"),
  ]);
  // Dynamic indexes start at 62, newest first: content-type 62, :authority 63, :path 64, :scheme 65, :method 66.
  const block2 = Buffer.from([...indexed(66), ...indexed(65), ...indexed(64), ...indexed(63), ...indexed(62)]);
  const data = encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0]));
  const stream = Buffer.concat([
    CLIENT_PREFACE,
    SETTINGS,
    SETTINGS_ACK,
    encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, block1),
    data,
    encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, block2),
  ]);

  it("rewrites the authority of every request, following the client's dynamic table, at any chunking", () => {
    for (const step of [1, 7, 100, stream.length]) {
      const { frames, rewriter } = rewrite(stream, step);
      const blocks = headerBlocks(frames);
      expect(blocks.map((b) => b.streamId)).toEqual([1, 3]);
      for (const b of blocks) expect(b.fields).toEqual(requestFields("localhost"));
      expect(blocks[1]!.flags & Flag.END_STREAM).toBe(Flag.END_STREAM);
      expect(rewriter.seen.firstAuthority).toBe(path);
    }
  });

  it("drops exactly the first SETTINGS ACK and passes every other frame through byte for byte", () => {
    const extraAck = Buffer.concat([stream, SETTINGS_ACK]);
    const { frames, rewriter } = rewrite(extraAck);
    const acks = frames.filter((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK);
    expect(acks).toHaveLength(1);
    expect(frames.find((f) => f.type === FrameType.DATA)!.raw.equals(data)).toBe(true);
    expect(frames.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK))!.raw.equals(SETTINGS)).toBe(true);
    const start = CLIENT_PREFACE.length + SETTINGS.length;
    expect(rewriter.seen.ackRange).toEqual([start, start + SETTINGS_ACK.length]);
  });

  it("takes padded and prioritised HEADERS with CONTINUATION frames, keeping the priority", () => {
    const pad = 4;
    const priority = Buffer.from([0x80, 0, 0, 0, 16]); // exclusive, depends on stream 0, weight 17
    const first = block1.subarray(0, 10);
    const rest = block1.subarray(10);
    const payload = Buffer.concat([Buffer.from([pad]), priority, first, Buffer.alloc(pad)]);
    const bytes = Buffer.concat([
      CLIENT_PREFACE,
      SETTINGS,
      encodeFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, payload),
      encodeFrame(FrameType.CONTINUATION, 0, 1, rest.subarray(0, 20)),
      encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, rest.subarray(20)),
    ]);
    const { frames } = rewrite(bytes);
    const headers = frames.find((f) => f.type === FrameType.HEADERS)!;
    expect(headers.flags & Flag.PADDED).toBe(0);
    expect(parseHeadersPayload(headers).priority).toEqual(priority);
    expect(headerBlocks(frames)[0]!.fields).toEqual(requestFields("localhost"));
  });

  it("follows dynamic table size updates", () => {
    const shrink = Buffer.from([...tableSizeUpdate(0), ...tableSizeUpdate(4096), ...block1]);
    const bytes = Buffer.concat([CLIENT_PREFACE, SETTINGS, encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, shrink)]);
    expect(headerBlocks(rewrite(bytes).frames)[0]!.fields).toEqual(requestFields("localhost"));
    const tooBig = Buffer.from([...tableSizeUpdate(65536), ...block1]);
    expect(() => rewrite(Buffer.concat([CLIENT_PREFACE, SETTINGS, encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, tooBig)]))).toThrow(/header block/);
  });

  it("splits a rewritten block larger than 16 KiB into CONTINUATION frames", () => {
    const big = encodeLiteralBlock([...requestFields(path), ...Array.from({ length: 40 }, (_, i) => ({ name: `x-big-${i}`, value: "v".repeat(1000) }))]);
    const bytes = Buffer.concat([CLIENT_PREFACE, SETTINGS, ...headerBlockFrames(1, big, { endStream: true, maxFrameBytes: 16_384 })]);
    const { frames } = rewrite(bytes, 1000);
    for (const f of frames) expect(f.payload.length).toBeLessThanOrEqual(16_384);
    expect(frames.filter((f) => f.type === FrameType.CONTINUATION).length).toBeGreaterThan(1);
    const [block] = headerBlocks(frames);
    expect(block!.fields.find((f) => f.name === ":authority")!.value).toBe("localhost");
    expect(block!.fields).toHaveLength(45);
    expect(block!.flags & Flag.END_STREAM).toBe(Flag.END_STREAM);
  });

  it("notes a request without an authority as null and gives it one", () => {
    const bytes = Buffer.concat([CLIENT_PREFACE, SETTINGS, ...headerBlockFrames(1, encodeLiteralBlock(requestFields(undefined)), { endStream: false })]);
    const { frames, rewriter } = rewrite(bytes);
    expect(rewriter.seen.firstAuthority).toBeNull();
    expect(headerBlocks(frames)[0]!.fields).toEqual(requestFields("localhost"));
  });

  it("refuses what is not HTTP/2 or breaks a header block", () => {
    expect(() => new AuthorityRewriter().push(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toThrow(FrameError);
    const interrupted = Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.HEADERS, 0, 1, block1.subarray(0, 5)), data]);
    expect(() => new AuthorityRewriter().push(interrupted)).toThrow(/interrupted/);
    const orphan = Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block1)]);
    expect(() => new AuthorityRewriter().push(orphan)).toThrow(/without a header block/);
  });
});
