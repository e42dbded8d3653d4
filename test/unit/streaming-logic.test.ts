import { describe, expect, it } from "vitest";
import { AttachPacketReader } from "../../src/runtime/attach-socket.js";
import { execProcessSpec } from "../../src/runtime/exec-session.js";
import { errorChannelMessage, listedProtocols, negotiate, parseTerminalSize, protocolVersion, ResizeDecoder, SPDY_REMOTE_COMMAND_PROTOCOLS, statusFor, WS_REMOTE_COMMAND_PROTOCOLS } from "../../src/streaming/protocol.js";
import { expectedStreams } from "../../src/streaming/remote-command.js";
import { parsePort } from "../../src/streaming/spdy-port-forward.js";
import { TokenCache } from "../../src/streaming/token-cache.js";
import { decodeChannelMessage, encodeChannelMessage } from "../../src/streaming/ws-channels.js";

describe("streaming tokens", () => {
  it("are unguessable, single use, expiring and bounded", () => {
    let now = 1000;
    const cache = new TokenCache<string>(60_000, 2, () => now);
    const a = cache.insert("a")!;
    const b = cache.insert("b")!;
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a).not.toBe(b);
    expect(cache.insert("c")).toBeUndefined(); // full of live tokens
    expect(cache.consume(a)).toBe("a");
    expect(cache.consume(a)).toBeUndefined(); // used
    now += 60_000;
    expect(cache.consume(b)).toBeUndefined(); // expired
    expect(cache.insert("d")).toBeDefined(); // expired ones are pruned
    expect(cache.consume("nonsense")).toBeUndefined();
  });
});

describe("streaming protocol negotiation", () => {
  it("takes the client's first supported protocol, v1 for a client without any, nothing for unknown ones", () => {
    expect(listedProtocols(["v4.channel.k8s.io, v3.channel.k8s.io", "v2.channel.k8s.io"])).toEqual(["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io"]);
    expect(negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io"], SPDY_REMOTE_COMMAND_PROTOCOLS)).toBe("v4.channel.k8s.io");
    expect(negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io"], WS_REMOTE_COMMAND_PROTOCOLS)).toBe("v5.channel.k8s.io");
    expect(negotiate([], SPDY_REMOTE_COMMAND_PROTOCOLS)).toBe("channel.k8s.io");
    expect(negotiate(["v9.channel.k8s.io"], SPDY_REMOTE_COMMAND_PROTOCOLS)).toBeUndefined();
    expect([protocolVersion("v4.channel.k8s.io"), protocolVersion("v4.base64.channel.k8s.io"), protocolVersion("channel.k8s.io")]).toEqual([4, 4, 1]);
  });

  it("waits for the streams kubelet's server waits for", () => {
    const exec = { kind: "exec" as const, containerId: "c", cmd: ["sh"], stdin: true, stdout: true, stderr: false, tty: true };
    expect(expectedStreams(exec, 4)).toEqual(["error", "stdin", "stdout", "resize"]);
    expect(expectedStreams(exec, 2)).toEqual(["error", "stdin", "stdout"]);
    expect(expectedStreams({ ...exec, stdin: false, tty: false, stderr: true }, 4)).toEqual(["error", "stdout", "stderr"]);
  });
});

describe("exit status on the error channel", () => {
  it("is a metav1.Status for v4+, and text only on failure before", () => {
    expect(statusFor({ kind: "exited", exitCode: 0 })).toEqual({ metadata: {}, status: "Success" });
    expect(statusFor({ kind: "exited", exitCode: 7 })).toEqual({
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: 7",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "7" }] },
    });
    expect(statusFor({ kind: "failed", message: "boom" })).toMatchObject({ status: "Failure", reason: "InternalError", message: "boom" });
    expect(JSON.parse(errorChannelMessage(5, { kind: "ended" })!.toString())).toEqual({ metadata: {}, status: "Success" });
    expect(errorChannelMessage(3, { kind: "exited", exitCode: 0 })).toBeUndefined();
    expect(errorChannelMessage(2, { kind: "exited", exitCode: 3 })!.toString()).toBe("command terminated with non-zero exit code: 3");
    expect(errorChannelMessage(1, { kind: "failed", message: "no such container" })!.toString()).toBe("no such container");
  });
});

describe("terminal sizes", () => {
  it("parses resize messages and splits the unframed SPDY resize stream", () => {
    expect(parseTerminalSize('{"Width":80,"Height":24}')).toEqual({ width: 80, height: 24 });
    expect(parseTerminalSize('{"Width":-1,"Height":24}')).toBeUndefined();
    expect(parseTerminalSize("not json")).toBeUndefined();
    const d = new ResizeDecoder();
    expect(d.push('{"Width":80,"Height":24}{"Width":1')).toEqual([{ width: 80, height: 24 }]);
    expect(d.push('00,"Height":40}')).toEqual([{ width: 100, height: 40 }]);
  });
});

describe("WebSocket channel framing", () => {
  it("prefixes the channel byte, or a digit and base64 in the base64 protocols", () => {
    expect(encodeChannelMessage(1, Buffer.from("hi"), false)).toEqual(Buffer.from([1, 0x68, 0x69]));
    expect(encodeChannelMessage(2, Buffer.from("hi"), true)).toBe("2aGk=");
    expect(decodeChannelMessage(Buffer.from([0, 0x61]), true, false)).toEqual({ channel: 0, data: Buffer.from("a") });
    expect(decodeChannelMessage(Buffer.from("0aGk="), false, true)).toEqual({ channel: 0, data: Buffer.from("hi") });
    expect(decodeChannelMessage(Buffer.alloc(0), true, false)).toBeUndefined();
  });
});

describe("conmon attach packets", () => {
  it("are split back out of the bridge's length-prefixed stream, however it is chunked", () => {
    const packet = (pipe: number, text: string) => {
      const body = Buffer.concat([Buffer.from([pipe]), Buffer.from(text)]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      return Buffer.concat([len, body]);
    };
    const bytes = Buffer.concat([packet(2, "out"), packet(3, "err"), packet(2, "more")]);
    const r = new AttachPacketReader();
    const got = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
    expect(got.map((p) => [p.pipe, p.data.toString()])).toEqual([
      [2, "out"],
      [3, "err"],
      [2, "more"],
    ]);
  });
});

describe("streaming exec process", () => {
  it("inherits the container's process, with the command, the terminal flag and TERM for a tty", () => {
    const base = { user: { uid: 5, gid: 5 }, cwd: "/w", env: ["PATH=/bin"], args: ["sleep", "1"], terminal: false, capabilities: { bounding: ["CAP_KILL"] } };
    const p = execProcessSpec(base, ["sh"], true);
    expect(p).toMatchObject({ user: { uid: 5, gid: 5 }, cwd: "/w", args: ["sh"], terminal: true, env: ["PATH=/bin", "TERM=xterm"], capabilities: base.capabilities });
    expect(execProcessSpec({ ...base, env: ["TERM=vt100"] }, ["sh"], true).env).toEqual(["TERM=vt100"]);
    expect(execProcessSpec(base, ["ls"], false)).toMatchObject({ terminal: false, env: ["PATH=/bin"] });
    // The client's first size is the console's size from the start.
    expect(execProcessSpec(base, ["sh"], true, { width: 80, height: 24 }).consoleSize).toEqual({ height: 24, width: 80 });
    expect(execProcessSpec({ ...base, consoleSize: { height: 1, width: 1 } }, ["ls"], false).consoleSize).toBeUndefined();
  });

  it("accepts port headers 1-65535 only", () => {
    expect([parsePort("80"), parsePort("65535"), parsePort("0"), parsePort("70000"), parsePort("8a"), parsePort(undefined)]).toEqual([80, 65535, undefined, undefined, undefined, undefined]);
  });
});
