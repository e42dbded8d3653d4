import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { CLIENT_PREFACE, encodeFrame, Flag, FrameReader, FrameType, type Frame } from "../../src/cri/transport/frames.js";
import { Http2ServerConnection, type ServerStream } from "../../src/cri/transport/h2-connection.js";
import { parseTimeout, percentEncode } from "../../src/cri/transport/grpc-server.js";
import { encodeLiteralBlock } from "../../src/cri/transport/hpack.js";

/** What the connection uses of a socket; what it writes is parsed back into frames. */
class FakeSocket extends EventEmitter {
  readonly reader = new FrameReader(1 << 24);
  readonly frames: Frame[] = [];
  writableNeedDrain = false;
  destroyed = false;
  ended = false;
  constructor() {
    super();
    this.reader.push(CLIENT_PREFACE);
  }
  /** The frame types of each write. */
  readonly writes: number[][] = [];
  write(b: Buffer) {
    const frames = this.reader.push(b);
    this.writes.push(frames.map((f) => f.type));
    this.frames.push(...frames);
    return true;
  }
  cork() {}
  uncork() {}
  end() {
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
  }
  /**
   * Client bytes in, from a callback of the event loop as a real socket's
   * (so that process.nextTick runs before promise jobs, as there); then a
   * turn for the connection's writes.
   */
  async feed(...bytes: Buffer[]) {
    await new Promise<void>((r) =>
      setImmediate(() => {
        this.emit("data", Buffer.concat(bytes));
        r();
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  of(type: number, streamId?: number) {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }
  dataBytes(streamId: number) {
    return this.of(FrameType.DATA, streamId).reduce((n, f) => n + f.payload.length, 0);
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const settings = (...pairs: [number, number][]) =>
  encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.concat(pairs.map(([id, v]) => Buffer.concat([Buffer.from([id >> 8, id & 0xff]), u32(v)]))));
const INITIAL_WINDOW = 0x4;
const MAX_FRAME = 0x5;
const requestBlock = encodeLiteralBlock([
  { name: ":method", value: "POST" },
  { name: ":path", value: "/x" },
]);
const headersEnd = (id: number) => encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, requestBlock);

/**
 * A connection whose requests are answered with `replyBytes` of DATA (or the
 * parts given, in one sendData) and trailers (a microtask later with `later`,
 * as the gRPC layer does).
 */
function serve(replyBytes: number | Buffer[], later = false) {
  const socket = new FakeSocket();
  const streams: ServerStream[] = [];
  const bodies = new Map<number, number>();
  const log = { error: () => undefined, warn: () => undefined, debug: () => undefined };
  const conn = new Http2ServerConnection(socket as unknown as Socket, {
    onHeaders: (s) => streams.push(s),
    onData: (s, d) => bodies.set(s.id, (bodies.get(s.id) ?? 0) + d.length),
    onEnd: (s) => {
      const reply = () => {
        s.sendHeaders(encodeLiteralBlock([{ name: ":status", value: "200" }]), false);
        s.sendData(typeof replyBytes === "number" ? Buffer.alloc(replyBytes, 7) : replyBytes);
        s.sendHeaders(encodeLiteralBlock([{ name: "grpc-status", value: "0" }]), true);
      };
      if (later) queueMicrotask(reply);
      else reply();
    },
  }, log);
  return { socket, conn, streams, bodies };
}

describe("an HTTP/2 server connection", () => {
  it("keeps to the stream window, and applies a changed SETTINGS_INITIAL_WINDOW_SIZE to open streams", async () => {
    const { socket } = serve(30);
    await socket.feed(CLIENT_PREFACE, settings([INITIAL_WINDOW, 10]), headersEnd(1));
    expect(socket.dataBytes(1)).toBe(10);
    expect(socket.of(FrameType.HEADERS, 1)).toHaveLength(1); // trailers wait behind the DATA
    await socket.feed(settings([INITIAL_WINDOW, 25]));
    expect(socket.dataBytes(1)).toBe(25);
    await socket.feed(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(5)));
    expect(socket.dataBytes(1)).toBe(30);
    const trailers = socket.of(FrameType.HEADERS, 1)[1]!;
    expect(trailers.flags & Flag.END_STREAM).toBeTruthy();
  });

  it("keeps to the connection window across streams and splits DATA at the peer's frame size", async () => {
    const { socket } = serve(40_000);
    await socket.feed(CLIENT_PREFACE, settings([INITIAL_WINDOW, 1 << 20]), headersEnd(1), headersEnd(3));
    expect(socket.dataBytes(1) + socket.dataBytes(3)).toBe(65_535);
    expect(Math.max(...socket.of(FrameType.DATA).map((f) => f.payload.length))).toBeLessThanOrEqual(16_384);
    await socket.feed(settings([MAX_FRAME, 40_000]), encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(100_000)));
    expect(socket.dataBytes(1) + socket.dataBytes(3)).toBe(80_000);
    expect(socket.of(FrameType.HEADERS).filter((f) => f.flags & Flag.END_STREAM)).toHaveLength(2);
  });

  it("fills each DATA frame from consecutive sends (a message's prefix and its bytes), in order", async () => {
    const prefix = Buffer.from([0, 0, 0, 0x9c, 0x45]);
    const body = Buffer.alloc(40_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const { socket } = serve([prefix, Buffer.alloc(0), body]);
    await socket.feed(CLIENT_PREFACE, settings([INITIAL_WINDOW, 1 << 20]), encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 20)), headersEnd(1));
    const data = socket.of(FrameType.DATA, 1);
    expect(data.map((f) => f.payload.length)).toEqual([16_384, 16_384, 40_005 - 2 * 16_384]);
    expect(Buffer.concat(data.map((f) => f.payload)).equals(Buffer.concat([prefix, body]))).toBe(true);

    // A window smaller than the prefix and the bytes: a frame ends inside either, and the rest follows in order.
    const small = serve([prefix, Buffer.from("abcdefgh")]).socket;
    await small.feed(CLIENT_PREFACE, settings([INITIAL_WINDOW, 3]), headersEnd(1));
    await small.feed(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(4)));
    await small.feed(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(100)));
    const parts = small.of(FrameType.DATA, 1).map((f) => f.payload);
    expect(parts.map((p) => p.length)).toEqual([3, 4, 6]);
    expect(Buffer.concat(parts).equals(Buffer.concat([prefix, Buffer.from("abcdefgh")]))).toBe(true);
    expect(small.of(FrameType.HEADERS, 1).at(-1)!.flags & Flag.END_STREAM).toBeTruthy();
  });

  it("gives a large request's window back as it arrives", async () => {
    const { socket, bodies } = serve(0);
    const chunk = Buffer.alloc(16_384);
    await socket.feed(CLIENT_PREFACE, settings(), encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock));
    for (let i = 0; i < 40; i++) await socket.feed(encodeFrame(FrameType.DATA, 0, 1, chunk));
    // 640 KiB against a 1 MiB stream window: given back once half of it is used.
    expect(socket.of(FrameType.WINDOW_UPDATE, 1).map((f) => f.payload.readUInt32BE(0))).toEqual([16_384 * 32]);
    await socket.feed(encodeFrame(FrameType.DATA, Flag.END_STREAM | Flag.PADDED, 1, Buffer.concat([Buffer.from([3]), Buffer.from("abc"), Buffer.alloc(3)])));
    expect(bodies.get(1)).toBe(40 * 16_384 + 3);
    expect(socket.of(FrameType.HEADERS, 1).at(-1)!.flags & Flag.END_STREAM).toBeTruthy();
  });

  it("takes a header block split over CONTINUATION frames, with padding and priority", async () => {
    const { socket, streams } = serve(1);
    const block = encodeLiteralBlock([
      { name: ":method", value: "POST" },
      { name: ":path", value: "/runtime.v1.RuntimeService/Version" },
      { name: "x-long", value: "v".repeat(100) },
    ]);
    const first = Buffer.concat([Buffer.from([2]), Buffer.alloc(5), block.subarray(0, 20), Buffer.alloc(2)]);
    await socket.feed(
      CLIENT_PREFACE,
      settings(),
      encodeFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 1, first),
      encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(20)),
    );
    expect(streams[0]!.header(":path")).toBe("/runtime.v1.RuntimeService/Version");
    expect(streams[0]!.header("x-long")).toHaveLength(100);
    expect(socket.of(FrameType.HEADERS, 1).at(-1)!.flags & Flag.END_STREAM).toBeTruthy();
  });

  it("ends the request with the client's trailers", async () => {
    const { socket } = serve(1);
    await socket.feed(CLIENT_PREFACE, settings(), encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock));
    expect(socket.of(FrameType.HEADERS, 1)).toHaveLength(0);
    await socket.feed(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, encodeLiteralBlock([{ name: "x-t", value: "1" }])));
    expect(socket.of(FrameType.HEADERS, 1)).toHaveLength(2);
  });

  it("cancels a stream the client resets, and drops what it had queued", async () => {
    const { socket, streams } = serve(100);
    let cancelled = 0;
    await socket.feed(CLIENT_PREFACE, settings([INITIAL_WINDOW, 10]), headersEnd(1));
    streams[0]!.onCancel(() => cancelled++);
    await socket.feed(encodeFrame(FrameType.RST_STREAM, 0, 1, u32(8)), encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(1000)));
    expect(cancelled).toBe(1);
    expect(streams[0]!.cancelled).toBe(true);
    expect(socket.dataBytes(1)).toBe(10);
  });

  it("answers protocol errors with GOAWAY and the error code", async () => {
    const cases: [string, Buffer, number][] = [
      ["an even stream id", headersEnd(2), 0x1],
      ["DATA on a stream never opened", encodeFrame(FrameType.DATA, 0, 5, Buffer.alloc(1)), 0x1],
      ["a PING of the wrong size", encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(3)), 0x6],
      ["a window past 2^31-1", encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)), 0x3],
      ["CONTINUATION without HEADERS", encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(0)), 0x1],
    ];
    for (const [what, frame, code] of cases) {
      const { socket } = serve(1);
      await socket.feed(CLIENT_PREFACE, settings(), frame);
      const goaway = socket.of(FrameType.GOAWAY);
      expect(goaway, what).toHaveLength(1);
      expect(goaway[0]!.payload.readUInt32BE(4), what).toBe(code);
      expect(socket.ended, what).toBe(true);
    }
  });

  it("ignores unknown frame types and PRIORITY, and acks SETTINGS", async () => {
    const { socket } = serve(1);
    await socket.feed(CLIENT_PREFACE, settings(), encodeFrame(0xfa, 0, 0, Buffer.alloc(4)), encodeFrame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5)), headersEnd(1));
    expect(socket.of(FrameType.GOAWAY)).toHaveLength(0);
    expect(socket.of(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK)).toHaveLength(1);
    expect(socket.of(FrameType.HEADERS, 1)).toHaveLength(2);
  });
});

describe("an HTTP/2 server connection's acknowledgements", () => {
  const ping = (payload: number) => encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8, payload));

  it("sends a PING's ack in the write of the reply to a request that came with it, ack first", async () => {
    const { socket } = serve(10, true);
    await socket.feed(CLIENT_PREFACE, settings());
    const before = socket.writes.length;
    await socket.feed(ping(1), headersEnd(1));
    expect(socket.writes.slice(before)).toEqual([[FrameType.PING, FrameType.HEADERS, FrameType.DATA, FrameType.HEADERS]]);
    const ack = socket.of(FrameType.PING)[0]!;
    expect(ack.flags & Flag.ACK).toBeTruthy();
    expect(ack.payload).toEqual(Buffer.alloc(8, 1));
  });

  it("acks a PING that comes alone in the same turn of the event loop, and never acks an ack", async () => {
    const { socket } = serve(1, true);
    await socket.feed(CLIENT_PREFACE, settings());
    const before = socket.writes.length;
    await socket.feed(ping(2), encodeFrame(FrameType.PING, Flag.ACK, 0, Buffer.alloc(8, 3)));
    expect(socket.writes.slice(before)).toEqual([[FrameType.PING]]);
    expect(socket.of(FrameType.PING).map((f) => f.payload[0])).toEqual([2]);
  });
});

describe("gRPC wire details", () => {
  it("reads grpc-timeout in every unit and refuses malformed ones", () => {
    expect(parseTimeout("2S")).toBe(2000);
    expect(parseTimeout("1H")).toBe(3_600_000);
    expect(parseTimeout("3M")).toBe(180_000);
    expect(parseTimeout("250m")).toBe(250);
    expect(parseTimeout("1500u")).toBe(1.5);
    expect(parseTimeout("99999999n")).toBeCloseTo(99.999999);
    for (const bad of ["", "5", "S", "123456789S", "1.5S", "-1S", "5s"]) expect(parseTimeout(bad), bad).toBeUndefined();
  });

  it("percent-encodes grpc-message as the gRPC spec says", () => {
    expect(percentEncode("container abc not found")).toBe("container abc not found");
    expect(percentEncode("100% sure\nnext")).toBe("100%25 sure%0Anext");
    expect(percentEncode("café")).toBe("caf%C3%A9");
    expect(decodeURIComponent(percentEncode("line1\r\n% ünïcode ✓"))).toBe("line1\r\n% ünïcode ✓");
  });
});
