// skiff's own HTTP/2 and gRPC transport (src/cri/transport/), through a real
// daemon and a hand-made client that sends exactly the frames each test needs:
// flow control, pings, resets, errors a client can cause, and shutdown.

import net from "node:net";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTO_PATH, protoRoot } from "../../src/cri/proto.js";
import { encodeFrame } from "../../src/cri/transport/frames.js";
import { encodeLiteralBlock } from "../../src/cri/transport/hpack.js";
import { TestDaemon } from "./harness/daemon.js";
import { field, Flag, FrameType, RawH2Client, rstStreamFrame, windowUpdateFrame } from "./harness/h2-client.js";
import { waitFor } from "./harness/processes.js";

const root = protoRoot(PROTO_PATH);
const encode = (type: string, value: object) => Buffer.from(root.lookupType(`runtime.v1.${type}`).encode(value).finish());
const VERSION = "/runtime.v1.RuntimeService/Version";
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const REFUSED = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8 };

/** The reply message of a finished stream, decoded. */
function replyOf(c: RawH2Client, streamId: number, type: string): Record<string, unknown> {
  const data = c.dataOf(streamId);
  expect(data.readUInt32BE(1)).toBe(data.length - 5);
  return root.lookupType(`runtime.v1.${type}`).toObject(root.lookupType(`runtime.v1.${type}`).decode(data.subarray(5)), { defaults: true });
}

async function eventSubscribers(d: TestDaemon): Promise<number> {
  return Number((await d.client.runtime.Status({ verbose: true })).info.eventSubscribers);
}

describe("the CRI socket's HTTP/2 and gRPC", () => {
  let d: TestDaemon;
  const clients: RawH2Client[] = [];
  const connect = async (settings: [number, number][] = []) => {
    const c = await RawH2Client.connect(d.socket, settings);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    d = await TestDaemon.start({ config: { metrics: { address: "127.0.0.1:0" } } });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.cleanup();
  });

  it("answers a call that carries no :authority at all (no gRPC library leaves it out)", async () => {
    const c = await connect();
    c.request(1, VERSION, encode("VersionRequest", { version: "v1" }));
    expect(field(await c.trailers(1), "grpc-status")).toBe("0");
    expect(replyOf(c, 1, "VersionResponse")).toMatchObject({ runtime_name: "skiff", runtime_api_version: "v1" });
  });

  it("acknowledges a PING with its payload", async () => {
    const c = await connect();
    const payload = Buffer.from("skiff-01");
    c.send(encodeFrame(FrameType.PING, 0, 0, payload));
    const ack = await c.waitFor("PING ACK", (f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
    expect(ack.payload.equals(payload)).toBe(true);
  });

  it("sends a reply no faster than the client's stream window lets it, and the rest when the window grows", async () => {
    const c = await connect([[SETTINGS_INITIAL_WINDOW_SIZE, 100]]);
    c.request(1, "/runtime.v1.RuntimeService/Status", encode("StatusRequest", { verbose: true }));
    await c.waitFor("the first DATA", (f) => f.type === FrameType.DATA && f.streamId === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.dataOf(1).length).toBe(100);
    expect(c.frames.some((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0)).toBe(false);
    c.send(windowUpdateFrame(1, 1 << 20));
    expect(field(await c.trailers(1), "grpc-status")).toBe("0");
    const status = replyOf(c, 1, "StatusResponse") as { status: { conditions: { type: string }[] }; info: Record<string, string> };
    expect(c.dataOf(1).length).toBeGreaterThan(100);
    expect(status.status.conditions.map((x) => x.type)).toContain("RuntimeReady");
  });

  it("answers requests it cannot serve with a status, on a connection that stays usable", async () => {
    const c = await connect();
    c.request(1, "/runtime.v1.RuntimeService/NoSuchCall", Buffer.alloc(0));
    c.request(3, VERSION, Buffer.from([0x0a, 0xff, 0xff]));
    c.request(5, VERSION, Buffer.alloc(0), { headers: [{ name: "grpc-timeout", value: "soon" }] });
    // A gzip-compressed request (flag 1) is taken.
    const gz = zlib.gzipSync(encode("VersionRequest", { version: "v1" }));
    const framed = Buffer.alloc(5 + gz.length);
    framed[0] = 1;
    framed.writeUInt32BE(gz.length, 1);
    gz.copy(framed, 5);
    c.request(9, VERSION, null, { headers: [{ name: "grpc-encoding", value: "gzip" }] });
    c.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, 9, framed));
    const brFramed = Buffer.from([1, 0, 0, 0, 2, 0xaa, 0xbb]);
    c.request(11, VERSION, null, { headers: [{ name: "grpc-encoding", value: "br" }] });
    c.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, 11, brFramed));

    const unknown = await c.trailers(1);
    expect(field(unknown, "grpc-status")).toBe("12");
    expect(decodeURIComponent(field(unknown, "grpc-message")!)).toContain("unknown method /runtime.v1.RuntimeService/NoSuchCall");
    const garbled = await c.trailers(3);
    expect(field(garbled, "grpc-status")).toBe("13");
    expect(decodeURIComponent(field(garbled, "grpc-message")!)).toContain("not a valid /runtime.v1.RuntimeService/Version request");
    expect(field(await c.trailers(5), "grpc-status")).toBe("3");
    expect(field(await c.trailers(9), "grpc-status")).toBe("0");
    expect(replyOf(c, 9, "VersionResponse")).toMatchObject({ runtime_name: "skiff" });
    const br = await c.trailers(11);
    expect(field(br, "grpc-status")).toBe("12");
    expect(decodeURIComponent(field(br, "grpc-message")!)).toContain('compressed with "br"');

    // Not gRPC at all: an HTTP status.
    const plain = (method: string, type: string) =>
      encodeLiteralBlock([
        { name: ":method", value: method },
        { name: ":scheme", value: "http" },
        { name: ":path", value: VERSION },
        { name: "content-type", value: type },
      ]);
    c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 13, plain("GET", "application/grpc")));
    c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 15, plain("POST", "text/plain")));
    expect(field(await c.trailers(13), ":status")).toBe("405");
    expect(field(await c.trailers(15), ":status")).toBe("415");
    c.request(17, VERSION, encode("VersionRequest", {}));
    expect(field(await c.trailers(17), "grpc-status")).toBe("0");
  });

  it("refuses a request larger than grpc_max_message_size from its length alone, and resets the stream", async () => {
    const c = await connect();
    const head = Buffer.alloc(5 + 1000);
    head.writeUInt32BE(100 * 1024 * 1024, 1);
    c.request(1, VERSION, null);
    c.send(encodeFrame(FrameType.DATA, 0, 1, head));
    const t = await c.trailers(1);
    expect(field(t, "grpc-status")).toBe("8");
    expect(decodeURIComponent(field(t, "grpc-message")!)).toContain("larger than the 67108864 allowed (grpc_max_message_size)");
    const rst = await c.waitFor("RST_STREAM", (f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).toBe(REFUSED.NO_ERROR);
    // More DATA on the answered stream is ignored; the connection serves on.
    c.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(1000)));
    c.request(3, VERSION, encode("VersionRequest", {}));
    expect(field(await c.trailers(3), "grpc-status")).toBe("0");
  });

  it("cancels a server stream the client resets", async () => {
    const before = await eventSubscribers(d);
    const c = await connect();
    c.request(1, "/runtime.v1.RuntimeService/GetContainerEvents", encode("GetEventsRequest", {}));
    await waitFor("the stream subscribed", async () => ((await eventSubscribers(d)) === before + 1 ? true : undefined));
    c.send(rstStreamFrame(1, REFUSED.CANCEL));
    await waitFor("the subscription dropped", async () => ((await eventSubscribers(d)) === before ? true : undefined));
  });

  it("closes a connection that does not speak HTTP/2 with GOAWAY PROTOCOL_ERROR, and serves others", async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const conn = net.connect(d.socket);
      const got: Buffer[] = [];
      conn.on("connect", () => conn.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      conn.on("data", (b: Buffer) => got.push(b));
      conn.on("close", () => resolve(Buffer.concat(got)));
      conn.on("error", reject);
    });
    // The server's SETTINGS and WINDOW_UPDATE, then GOAWAY: find its type byte and error code.
    let at = 0;
    let goaway: Buffer | undefined;
    while (at + 9 <= reply.length) {
      const len = reply.readUIntBE(at, 3);
      if (reply[at + 3] === FrameType.GOAWAY) goaway = reply.subarray(at + 9, at + 9 + len);
      at += 9 + len;
    }
    expect(goaway?.readUInt32BE(4)).toBe(REFUSED.PROTOCOL_ERROR);
    expect(goaway!.subarray(8).toString()).toContain("client preface");
    expect((await d.client.runtime.Version({})).runtime_name).toBe("skiff");
  });

  it("counts the connections it accepts", async () => {
    const metricsAddress = (await d.client.runtime.Status({ verbose: true })).info.metricsServer;
    const count = async () => Number(/^skiff_cri_connections_total (\d+)/m.exec(await (await fetch(`http://${metricsAddress}/metrics`)).text())?.[1] ?? 0);
    const before = await count();
    for (let i = 0; i < 2; i++) {
      const c = await connect();
      c.request(1, VERSION, encode("VersionRequest", {}));
      await c.trailers(1);
    }
    expect((await count()) - before).toBe(2);
  });
});

describe("the CRI socket at shutdown", () => {
  it("sends GOAWAY, lets the open stream be cancelled at shutdown_timeout, and exits 0", async () => {
    const d = await TestDaemon.start({ config: { shutdown_timeout: 2 } });
    const c = await RawH2Client.connect(d.socket);
    try {
      c.request(1, "/runtime.v1.RuntimeService/GetContainerEvents", encode("GetEventsRequest", {}));
      await waitFor("the stream subscribed", async () => ((await eventSubscribers(d)) === 1 ? true : undefined));
      const stopping = d.stop();
      const goaway = await c.waitFor("GOAWAY", (f) => f.type === FrameType.GOAWAY);
      expect(goaway.payload.readUInt32BE(0)).toBe(1); // the last stream it took
      expect(goaway.payload.readUInt32BE(4)).toBe(REFUSED.NO_ERROR);
      // A stream opened after GOAWAY is refused.
      c.request(3, VERSION, encode("VersionRequest", {}));
      const r = await stopping;
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.ms).toBeGreaterThan(1500);
      expect(r.ms).toBeLessThan(6000);
      expect(c.closed).toBe(true);
      expect(c.frames.some((f) => f.type === FrameType.HEADERS && f.streamId === 3)).toBe(false);
    } finally {
      c.close();
      await d.cleanup();
    }
  });
});
