import { createHash } from "node:crypto";
import net from "node:net";
import zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { SPDY3_DICTIONARY } from "../../src/streaming/spdy/dictionary.js";
import {
  decodeHeaderBlock,
  encodeControl,
  encodeData,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameType,
  parseSynStream,
  readFrame,
  synStreamPayload,
} from "../../src/streaming/spdy/frames.js";
import { HeaderCompression } from "../../src/streaming/spdy/header-compression.js";
import { SpdySession, type SpdyStream } from "../../src/streaming/spdy/session.js";

describe("SPDY/3 header dictionary", () => {
  it("is byte-exact: 1423 bytes with the spec's SHA-256", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(createHash("sha256").update(SPDY3_DICTIONARY).digest("hex")).toBe("51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02");
  });
});

describe("SPDY frames", () => {
  it("encodes and reads control and data frames, waiting for whole frames", () => {
    const ctl = encodeControl(FrameType.SynStream, FLAG_FIN, synStreamPayload(5, Buffer.from("hdrs")));
    expect(ctl.subarray(0, 4)).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x01]));
    const data = encodeData(5, FLAG_FIN, Buffer.from("hello"));
    const both = Buffer.concat([ctl, data]);
    expect(readFrame(both.subarray(0, 7))).toBeUndefined();
    expect(readFrame(both.subarray(0, ctl.length - 1))).toBeUndefined();
    const first = readFrame(both)!;
    expect(first.frame).toMatchObject({ kind: "control", version: 3, type: FrameType.SynStream, flags: FLAG_FIN });
    const syn = parseSynStream(FLAG_FIN, (first.frame as { payload: Buffer }).payload);
    expect(syn).toMatchObject({ streamId: 5, associatedId: 0 });
    expect(syn.compressedHeaders.toString()).toBe("hdrs");
    const second = readFrame(both.subarray(first.size))!;
    expect(second.frame).toEqual({ kind: "data", streamId: 5, flags: FLAG_FIN, data: Buffer.from("hello") });
  });

  it("round-trips header blocks with lowercase names and NUL-joined repeats", () => {
    const block = encodeHeaderBlock([["StreamType", "stdout"], ["port", "80"]]);
    expect(block.readUInt32BE(0)).toBe(2);
    expect(decodeHeaderBlock(block)).toEqual(new Map([["streamtype", "stdout"], ["port", "80"]]));
    const repeated = encodeHeaderBlock([["a", "1"], ["a", "2"]]);
    expect(decodeHeaderBlock(repeated).get("a")).toBe("1\u00002");
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 2))).toThrow(/truncated/);
  });
});

describe("SPDY header compression", () => {
  it("keeps one zlib context per direction, readable by a plain zlib inflater with the dictionary", async () => {
    const a = new HeaderCompression();
    const b = new HeaderCompression();
    const blocks = [encodeHeaderBlock([["streamtype", "error"]]), encodeHeaderBlock([["streamtype", "stdout"]]), encodeHeaderBlock([])];
    const compressed: Buffer[] = [];
    for (const block of blocks) compressed.push(await a.compress(block));
    // The second block refers back to the first: only a continuing inflater can read it.
    for (const [i, c] of compressed.entries()) expect(await b.decompress(c)).toEqual(blocks[i]);
    const independent = zlib.inflateSync(Buffer.concat(compressed), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(independent).toEqual(Buffer.concat(blocks));
    a.close();
    b.close();
  });
});

describe("SPDY session", () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  async function pair(): Promise<{ client: SpdySession; server: SpdySession; streams: SpdyStream[] }> {
    const streams: SpdyStream[] = [];
    let server!: SpdySession;
    const listening = net.createServer((sock) => {
      server = new SpdySession(sock, "server");
      server.on("stream", (s) => streams.push(s));
    });
    await new Promise<void>((r) => listening.listen(0, "127.0.0.1", r));
    const sock = net.connect((listening.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    const client = new SpdySession(sock, "client");
    await new Promise((r) => setTimeout(r, 20));
    cleanup.push(() => {
      client.close();
      listening.close();
    });
    return { client, server, streams };
  }

  it("opens streams with headers, carries data both ways, and half-closes with FIN", async () => {
    const { client, streams } = await pair();
    const s = await client.openStream({ streamType: "stdin", requestID: "1" });
    expect(s.id).toBe(1);
    const t = await client.openStream({ streamType: "stdout" });
    expect(t.id).toBe(3);
    expect(streams.map((x) => x.header("streamtype"))).toEqual(["stdin", "stdout"]);
    const [srvIn, srvOut] = streams as [SpdyStream, SpdyStream];
    expect(srvIn.header("requestid")).toBe("1");
    let got = "";
    srvIn.on("data", (d: Buffer) => (got += d.toString()));
    const ended = new Promise((r) => srvIn.on("end", r));
    const big = "z".repeat(100_000);
    s.end(big);
    await ended;
    expect(got).toBe(big);
    let back = "";
    t.on("data", (d: Buffer) => (back += d.toString()));
    const backEnded = new Promise((r) => t.on("end", r));
    srvOut.end("reply");
    await backEnded;
    expect(back).toBe("reply");
  });

  it("reports the peer's reset and closes every stream when the connection drops", async () => {
    const { client, server, streams } = await pair();
    const s = await client.openStream({ streamType: "error" });
    const srv = streams[0]!;
    const reset = new Promise<Error>((r) => srv.on("error", r));
    s.destroy();
    expect((await reset).message).toMatch(/reset stream 1/);
    const s2 = await client.openStream({ streamType: "data" });
    const closed = new Promise<void>((r) => server.on("close", () => r()));
    const streamClosed = new Promise((r) => s2.on("close", r));
    client.close();
    await closed;
    await streamClosed;
    expect(server.isClosed).toBe(true);
  });
});

describe("SPDY idle timeout", () => {
  it("closes a connection on which nothing moves for the idle timeout", async () => {
    const closed = new Promise<number>((resolve) => {
      const server = net.createServer((sock) => {
        const t0 = Date.now();
        const s = new SpdySession(sock, "server", Buffer.alloc(0), 150);
        s.on("close", () => {
          resolve(Date.now() - t0);
          server.close();
        });
      });
      server.listen(0, "127.0.0.1", () => {
        const c = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
        c.on("error", () => undefined);
      });
    });
    expect(await closed).toBeGreaterThanOrEqual(140);
  });
});
