// Exec, Attach and PortForward through the URLs the CRI returns, as kubectl
// and kubelet use them: SPDY/3.1 (v4 and older channel protocols), WebSocket
// (v5, v4 and base64), and the official Kubernetes JavaScript client's
// WebSocket handler as an independent client. Real conmon, runc and crun.

import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { PassThrough } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import { WebSocketHandler } from "@kubernetes/client-node/dist/web-socket-handler.js";
import { describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { containerConfig, runContainer, startPod, useContainerDaemon, waitExited, type ContainerFixture } from "./harness/containers.js";
import { waitFor } from "./harness/processes.js";
import { fixtureDir } from "./harness/run-dir.js";
import { exitCodeOf, spdyCommand, spdyConnect, wsCommand } from "./harness/streaming-clients.js";
import WebSocket from "ws";

async function sleeper(f: ContainerFixture, name: string, extra: Parameters<typeof containerConfig>[2] = {}) {
  const pod = await startPod(f.d, name);
  const id = await runContainer(f.d, pod, containerConfig(name, f.image, { command: ["sleep", "3600"], ...extra }));
  return { pod, id };
}

async function execUrl(f: ContainerFixture, id: string, cmd: string[], o: { stdin?: boolean; stderr?: boolean; tty?: boolean } = {}) {
  const { url } = await f.d.client.runtime.Exec({ container_id: id, cmd, stdin: !!o.stdin, stdout: true, stderr: !!o.stderr && !o.tty, tty: !!o.tty });
  return url;
}

async function psArgs(f: ContainerFixture, id: string): Promise<string> {
  const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["ps", "-o", "args"], timeout: 10 });
  return r.stdout.toString();
}

for (const handler of ["runc", "crun"] as const) {
  describe(`streaming exec (${handler})`, () => {
    const f = useContainerDaemon({ runtime: { default_handler: handler } });

    it("runs a command over SPDY v4: stdout, stderr, Success", async () => {
      const { id } = await sleeper(f, "exec-spdy");
      const url = await execUrl(f, id, ["sh", "-c", "echo out; echo err >&2"], { stderr: true });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{32}$/);
      const r = await spdyCommand(url, { stderr: true });
      expect(r).toMatchObject({ protocol: "v4.channel.k8s.io", stdout: "out\n", stderr: "err\n" });
      expect(JSON.parse(r.error)).toEqual({ metadata: {}, status: "Success" });
    });

    it("reports exit code 7 over SPDY v4 and WebSocket v5", async () => {
      const { id } = await sleeper(f, "exec-exit");
      const spdy = await spdyCommand(await execUrl(f, id, ["sh", "-c", "exit 7"]), {});
      expect(exitCodeOf(spdy.error)).toBe(7);
      expect(JSON.parse(spdy.error)).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "7" }] } });
      const ws = await wsCommand(await execUrl(f, id, ["sh", "-c", "echo bye; exit 7"]), {});
      expect(ws).toMatchObject({ protocol: "v5.channel.k8s.io", stdout: "bye\n", closeCode: 1000 });
      expect(exitCodeOf(ws.error)).toBe(7);
    });

    it("round-trips stdin through cat, ending with the client's EOF", async () => {
      const { id } = await sleeper(f, "exec-stdin");
      const text = "line one\nline two\n";
      const spdy = await spdyCommand(await execUrl(f, id, ["cat"], { stdin: true }), { stdin: text });
      expect(spdy.stdout).toBe(text);
      expect(exitCodeOf(spdy.error)).toBe(0);
      // v5's close channel ends stdin without closing the socket.
      const ws = await wsCommand(await execUrl(f, id, ["sh", "-c", "cat; echo done"], { stdin: true }), { stdin: text });
      expect(ws.stdout).toBe(`${text}done\n`);
      expect(exitCodeOf(ws.error)).toBe(0);
      const big = "0123456789abcdef".repeat(128 * 1024); // 2 MiB both ways at once: many frames and conmon packets
      const large = await spdyCommand(await execUrl(f, id, ["cat"], { stdin: true }), { stdin: big });
      expect(large.stdout.length).toBe(big.length);
      expect(large.stdout).toBe(big);
      // A burst of output: conmon drops an attach client more than 10 packets behind, so none may be lost on the way.
      const burst = await spdyCommand(await execUrl(f, id, ["head", "-c", "8388608", "/dev/zero"]), {});
      expect(burst.stdout.length).toBe(8 * 1024 * 1024);
      expect(exitCodeOf(burst.error)).toBe(0);
    });

    it("gives a tty its size and applies resizes, over SPDY and WebSocket", async () => {
      const { id } = await sleeper(f, "exec-tty");
      const spdy = await spdyCommand(await execUrl(f, id, ["stty", "size"], { tty: true }), { tty: true, size: { width: 77, height: 33 } });
      expect(spdy.stdout.trim()).toBe("33 77");
      expect(exitCodeOf(spdy.error)).toBe(0);
      const ws = await wsCommand(await execUrl(f, id, ["sh", "-c", "stty size; test -t 0 && echo is-a-tty; exit 7"], { tty: true }), { tty: true, size: { width: 100, height: 40 } });
      expect(ws.stdout.replace(/\r/g, "")).toBe("40 100\nis-a-tty\n");
      expect(exitCodeOf(ws.error)).toBe(7);
      // Input through the terminal: the line discipline echoes it, cat repeats it, ^D ends it.
      const typed = await spdyCommand(await execUrl(f, id, ["cat"], { stdin: true, tty: true }), { tty: true, stdin: "typed\n\x04", keepStdinOpen: true });
      expect(typed.stdout.replace(/\r/g, "")).toBe("typed\ntyped\n");
    });
  });
}

describe("streaming protocols, attach, port-forward and failures", () => {
  const f = useContainerDaemon({ streaming: { token_ttl: 2 } });

  it("speaks the older SPDY protocols: v2 reports a non-zero exit as text, and a client without negotiation gets v1", async () => {
    const { id } = await sleeper(f, "exec-old");
    const v2 = await spdyCommand(await execUrl(f, id, ["sh", "-c", "echo two; exit 3"]), {}, ["v2.channel.k8s.io"]);
    expect(v2).toMatchObject({ protocol: "v2.channel.k8s.io", stdout: "two\n", error: "command terminated with non-zero exit code: 3" });
    const v1 = await spdyCommand(await execUrl(f, id, ["echo", "one"]), {}, []);
    expect(v1).toMatchObject({ protocol: "channel.k8s.io", stdout: "one\n", error: "" });
    const refused = await spdyConnect(await execUrl(f, id, ["true"]), ["v9.channel.k8s.io"]).catch((e: Error & { status?: number }) => e);
    expect(refused).toMatchObject({ status: 403 });
  });

  it("speaks WebSocket v4 and the base64 form", async () => {
    const { id } = await sleeper(f, "exec-ws-old");
    const v4 = await wsCommand(await execUrl(f, id, ["sh", "-c", "echo four; exit 2"]), {}, "v4.channel.k8s.io");
    expect(v4).toMatchObject({ protocol: "v4.channel.k8s.io", stdout: "four\n" });
    expect(exitCodeOf(v4.error)).toBe(2);
    const url = (await execUrl(f, id, ["sh", "-c", "echo b64; echo e >&2"], { stderr: true })).replace(/^http/, "ws");
    const got = await new Promise<{ frames: string[]; protocol: string }>((resolve, reject) => {
      const ws = new WebSocket(url, ["v4.base64.channel.k8s.io"]);
      const frames: string[] = [];
      ws.on("message", (d: Buffer, isBinary) => frames.push(`${isBinary ? "bin" : "text"}:${d.toString()}`));
      ws.on("error", reject);
      ws.on("close", () => resolve({ frames, protocol: ws.protocol }));
    });
    expect(got.protocol).toBe("v4.base64.channel.k8s.io");
    expect(got.frames[0]).toBe("text:1"); // the empty "set up" frame on the lowest channel the server writes
    expect(got.frames).toContain(`text:1${Buffer.from("b64\n").toString("base64")}`);
    expect(got.frames).toContain(`text:2${Buffer.from("e\n").toString("base64")}`);
    expect(got.frames.some((m) => m.startsWith("text:3") && Buffer.from(m.slice(6), "base64").toString().includes('"Success"'))).toBe(true);
  });

  it("works with the Kubernetes JavaScript client's WebSocket handler", async () => {
    const { id } = await sleeper(f, "exec-k8s-client");
    const url = new URL(await execUrl(f, id, ["sh", "-c", "cat; echo to-stderr >&2; exit 5"], { stdin: true, stderr: true }));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "skiff", server: `http://${url.host}`, skipTLSVerify: true }],
      users: [{ name: "none" }],
      contexts: [{ name: "skiff", cluster: "skiff", user: "none" }],
      currentContext: "skiff",
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    stderr.on("data", (d: Buffer) => (err += d.toString()));
    const status = await new Promise<{ status: string; details?: { causes: { reason: string; message: string }[] } }>((resolve, reject) => {
      const handler = new WebSocketHandler(kc);
      handler
        .connect(url.pathname, null, (stream: number, buff: Buffer) => {
          const s = WebSocketHandler.handleStandardStreams(stream, buff, stdout, stderr);
          if (s) resolve(s as never);
          return true;
        })
        .then((ws) => {
          WebSocketHandler.handleStandardInput(ws, stdin);
          stdin.end("from the k8s client\n");
        }, reject);
    });
    expect(out).toBe("from the k8s client\n");
    expect(err).toBe("to-stderr\n");
    expect(status.status).toBe("Failure");
    expect(status.details?.causes).toEqual([{ reason: "ExitCode", message: "5" }]);
  });

  it("attaches to a running container's output and stdin without stopping it", async () => {
    const pod = await startPod(f.d, "attach");
    const ticker = await runContainer(f.d, pod, containerConfig("ticker", f.image, { command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"] }));
    const { url } = await f.d.client.runtime.Attach({ container_id: ticker, stdout: true, stderr: true });
    const { session } = await spdyConnect(url, ["v4.channel.k8s.io"]);
    const error = await session.openStream({ streamType: "error" });
    const stdout = await session.openStream({ streamType: "stdout" });
    await session.openStream({ streamType: "stderr" });
    let seen = "";
    stdout.on("data", (d: Buffer) => (seen += d.toString()));
    await waitFor("two ticks through attach", async () => ((seen.match(/tick \d+\n/g) ?? []).length >= 2 ? true : undefined), 10_000);
    session.close();
    expect(error.destroyed).toBe(true);

    // stdin: a container reading its stdin echoes what an attached client types.
    const echo = await runContainer(f.d, pod, containerConfig("echo", f.image, { command: ["sh", "-c", "while read line; do echo got: $line; done"], stdin: true }));
    const attachUrl = (await f.d.client.runtime.Attach({ container_id: echo, stdin: true, stdout: true })).url;
    const ws = new WebSocket(attachUrl.replace(/^http/, "ws"), ["v5.channel.k8s.io"]);
    let got = "";
    ws.on("message", (d: Buffer) => {
      if (d[0] === 1) got += d.subarray(1).toString();
    });
    await new Promise((resolve) => ws.on("open", resolve));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("hello attach\n")]));
    await waitFor("the echo through attach", async () => (got.includes("got: hello attach\n") ? true : undefined), 10_000);
    ws.close();
    // Detaching leaves both containers running (stdin_once is false: stdin stays open).
    for (const id of [ticker, echo]) expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status!.state).toBe("CONTAINER_RUNNING");
  });

  it("attaches to a container's terminal: typed input runs, resizes reach it", async () => {
    const pod = await startPod(f.d, "attach-tty");
    const id = await runContainer(f.d, pod, containerConfig("shell", f.image, { command: ["sh"], stdin: true, tty: true }));
    const { url } = await f.d.client.runtime.Attach({ container_id: id, stdin: true, stdout: true, tty: true });
    const { session } = await spdyConnect(url, ["v4.channel.k8s.io"]);
    try {
      await session.openStream({ streamType: "error" });
      const stdin = await session.openStream({ streamType: "stdin" });
      const stdout = await session.openStream({ streamType: "stdout" });
      const resize = await session.openStream({ streamType: "resize" });
      let out = "";
      stdout.on("data", (d: Buffer) => (out += d.toString().replace(/\r/g, "")));
      resize.write(JSON.stringify({ Width: 91, Height: 27 }));
      await new Promise((r) => setTimeout(r, 200)); // through conmon's control FIFO
      stdin.write("stty size; echo attached-$((6*7))\n");
      await waitFor("the shell's answer", async () => (out.includes("27 91\n") && out.includes("attached-42\n") ? true : undefined), 10_000);
    } finally {
      session.close();
    }
    expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status!.state).toBe("CONTAINER_RUNNING");
  });

  it("port-forwards to a server that listens only on the pod's 127.0.0.1, sequentially and concurrently", async () => {
    const pod = await startPod(f.d, "pf");
    const web = await runContainer(
      f.d,
      pod,
      containerConfig("web", f.image, { command: ["sh", "-c", "mkdir -p /tmp/www && echo skiff-port-forward > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www"] }),
    );
    await waitFor("httpd listening", async () => ((await f.d.client.runtime.ExecSync({ container_id: web, cmd: ["sh", "-c", "netstat -ltn | grep -q 127.0.0.1:8080"], timeout: 5 })).exit_code === 0 ? true : undefined));
    const { url } = await f.d.client.runtime.PortForward({ pod_sandbox_id: pod.id, port: [8080] });
    const { session, protocol } = await spdyConnect(url, ["portforward.k8s.io"]);
    expect(protocol).toBe("portforward.k8s.io");
    const get = async (requestId: number) => {
      const headers = { port: "8080", requestID: String(requestId) };
      const error = await session.openStream({ ...headers, streamType: "error" });
      const data = await session.openStream({ ...headers, streamType: "data" });
      let body = "";
      let err = "";
      error.on("data", (d: Buffer) => (err += d.toString()));
      data.on("data", (d: Buffer) => (body += d.toString()));
      data.end("GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n");
      await new Promise((resolve) => data.on("end", resolve));
      return { body, err };
    };
    for (const n of [0, 1, 2]) {
      const r = await get(n);
      expect(r.err).toBe("");
      expect(r.body).toMatch(/^HTTP\/1\.[01] 200/);
      expect(r.body).toContain("skiff-port-forward");
    }
    const both = await Promise.all([get(3), get(4)]);
    for (const r of both) expect(r.body).toContain("skiff-port-forward");
    // A port nobody listens on: the error stream says so.
    const headers = { port: "9", requestID: "5" };
    const error = await session.openStream({ ...headers, streamType: "error" });
    await session.openStream({ ...headers, streamType: "data" });
    const message = await new Promise<string>((resolve) => {
      let m = "";
      error.on("data", (d: Buffer) => (m += d.toString()));
      error.on("end", () => resolve(m));
    });
    expect(message).toMatch(/error forwarding port 9 .*refused/i);
    session.close();

    // The WebSocket form: ports in the query, each channel starting with the port number.
    const wsUrl = (await f.d.client.runtime.PortForward({ pod_sandbox_id: pod.id, port: [] })).url.replace(/^http/, "ws") + "?port=8080";
    const ws = new WebSocket(wsUrl, ["v4.channel.k8s.io"]);
    const frames: Buffer[] = [];
    ws.on("message", (d: Buffer) => frames.push(d));
    await new Promise((resolve) => ws.on("open", resolve));
    await waitFor("both port prefixes", async () => (frames.length >= 2 ? true : undefined));
    expect(frames[0]).toEqual(Buffer.from([0, 0x90, 0x1f]));
    expect(frames[1]).toEqual(Buffer.from([1, 0x90, 0x1f]));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("GET / HTTP/1.0\r\n\r\n")]));
    await new Promise((resolve) => ws.on("close", resolve));
    const body = Buffer.concat(frames.slice(2).filter((d) => d[0] === 0).map((d) => d.subarray(1))).toString();
    expect(body).toContain("skiff-port-forward");
  });

  it("port-forwards a host-network pod to the node's localhost", async () => {
    const server = net.createServer((c) => c.end("hello from the node\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const pod = await startPod(f.d, "pf-hostnet", { linux: { security_context: { namespace_options: { network: "NODE" } } } });
      const { url } = await f.d.client.runtime.PortForward({ pod_sandbox_id: pod.id, port: [port] });
      const { session } = await spdyConnect(url, ["portforward.k8s.io"]);
      const headers = { port: String(port), requestID: "0" };
      await session.openStream({ ...headers, streamType: "error" });
      const data = await session.openStream({ ...headers, streamType: "data" });
      let got = "";
      data.on("data", (d: Buffer) => (got += d.toString()));
      await new Promise((r) => data.on("end", r));
      session.close();
      expect(got).toBe("hello from the node\n");
    } finally {
      server.close();
    }
  });

  it("refuses reused, expired and unknown tokens with 404", async () => {
    const { id } = await sleeper(f, "tokens");
    const url = await execUrl(f, id, ["true"]);
    expect(exitCodeOf((await spdyCommand(url, {})).error)).toBe(0);
    await expect(spdyConnect(url, ["v4.channel.k8s.io"])).rejects.toMatchObject({ status: 404 });
    const stale = await execUrl(f, id, ["true"]);
    await new Promise((r) => setTimeout(r, 2500)); // token_ttl is 2 s in this suite
    await expect(spdyConnect(stale, ["v4.channel.k8s.io"])).rejects.toMatchObject({ status: 404 });
    const unknown = url.replace(/\/exec\/.*/, "/exec/" + "A".repeat(32));
    await expect(spdyConnect(unknown, ["v4.channel.k8s.io"])).rejects.toMatchObject({ status: 404 });
    // An attach token does not open an exec route.
    const attach = (await f.d.client.runtime.Attach({ container_id: id, stdout: true })).url;
    await expect(spdyConnect(attach.replace("/attach/", "/exec/"), ["v4.channel.k8s.io"])).rejects.toMatchObject({ status: 404 });
  });

  it("kills the command of a client that disconnects mid-stream and keeps serving", async () => {
    const { id } = await sleeper(f, "disconnect");
    const url = await execUrl(f, id, ["sleep", "4242"]);
    const { session } = await spdyConnect(url, ["v4.channel.k8s.io"]);
    await session.openStream({ streamType: "error" });
    await session.openStream({ streamType: "stdout" });
    await waitFor("the exec'd sleep", async () => ((await psArgs(f, id)).includes("sleep 4242") ? true : undefined));
    session.close();
    await waitFor("the exec'd sleep to be killed", async () => (!(await psArgs(f, id)).includes("sleep 4242") ? true : undefined));
    // A WebSocket client that goes away the same way.
    const ws = new WebSocket((await execUrl(f, id, ["sleep", "4343"])).replace(/^http/, "ws"), ["v5.channel.k8s.io"]);
    await new Promise((resolve) => ws.on("open", resolve));
    await waitFor("the second sleep", async () => ((await psArgs(f, id)).includes("sleep 4343") ? true : undefined));
    ws.terminate();
    await waitFor("the second sleep to be killed", async () => (!(await psArgs(f, id)).includes("sleep 4343") ? true : undefined));
    const after = await spdyCommand(await execUrl(f, id, ["echo", "still-serving"]), {});
    expect(after.stdout).toBe("still-serving\n");
  });

  it("takes a client's reset of its streams (RST_STREAM CANCEL, as client-go's executor sends when it is done) as their end, not as a fault", async () => {
    const { id } = await sleeper(f, "reset-streams");
    for (const url of [(await f.d.client.runtime.Attach({ container_id: id, stdout: true })).url, await execUrl(f, id, ["sleep", "4444"])]) {
      const { session } = await spdyConnect(url, ["v4.channel.k8s.io"]);
      const streams = [await session.openStream({ streamType: "error" }), await session.openStream({ streamType: "stdout" })];
      await new Promise((r) => setTimeout(r, 200));
      for (const s of streams) s.destroy(); // not ended by the server: the client's session resets them
      await new Promise((r) => setTimeout(r, 300));
      session.close();
    }
    await waitFor("the exec'd sleep to be killed", async () => (!(await psArgs(f, id)).includes("sleep 4444") ? true : undefined));
    const log = await readFile(f.d.logFile, "utf8");
    expect(log).not.toContain("uncaught exception");
    expect(log).not.toContain("unhandled rejection");
    expect((await spdyCommand(await execUrl(f, id, ["echo", "still-serving"]), {})).stdout).toBe("still-serving\n");
  });

  it("applies a resize sent in the middle of a tty session", async () => {
    const { id } = await sleeper(f, "resize-mid");
    const url = await execUrl(f, id, ["sh", "-c", "read a; stty size; read b; stty size"], { stdin: true, tty: true });
    const { session } = await spdyConnect(url, ["v4.channel.k8s.io"]);
    try {
      const error = await session.openStream({ streamType: "error" });
      const stdin = await session.openStream({ streamType: "stdin" });
      const stdout = await session.openStream({ streamType: "stdout" });
      const resize = await session.openStream({ streamType: "resize" });
      let out = "";
      stdout.on("data", (d: Buffer) => (out += d.toString().replace(/\r/g, "")));
      let status = "";
      error.on("data", (d: Buffer) => (status += d.toString()));
      const ended = new Promise((r) => error.on("end", r));
      resize.write(JSON.stringify({ Width: 20, Height: 10 }));
      stdin.write("one\n");
      await waitFor("the first size", async () => (out.includes("10 20\n") ? true : undefined));
      resize.write(JSON.stringify({ Width: 132, Height: 50 }));
      await new Promise((r) => setTimeout(r, 200)); // the resize goes through conmon's control FIFO
      stdin.write("two\n");
      await waitFor("the new size", async () => (out.includes("50 132\n") ? true : undefined));
      await ended;
      expect(exitCodeOf(status)).toBe(0);
    } finally {
      session.close();
    }
  });

  it("reports a command that cannot start as a failure status naming it", async () => {
    const { id } = await sleeper(f, "no-such-cmd");
    const r = await spdyCommand(await execUrl(f, id, ["no-such-command"]), {});
    expect(JSON.parse(r.error)).toMatchObject({ status: "Failure", reason: "InternalError", message: expect.stringContaining("no-such-command") });
    const after = await spdyCommand(await execUrl(f, id, ["echo", "fine"]), {});
    expect(after.stdout).toBe("fine\n");
  });

  it("serves several sessions on one container at once", async () => {
    const { id } = await sleeper(f, "concurrent");
    const runs = await Promise.all(
      [1, 2, 3, 4].map(async (n) => {
        const url = await execUrl(f, id, ["sh", "-c", `sleep 0.3; echo session-${n}; exit ${n}`]);
        return n % 2 ? spdyCommand(url, {}) : wsCommand(url, {});
      }),
    );
    runs.forEach((r, i) => {
      expect(r.stdout).toBe(`session-${i + 1}\n`);
      expect(exitCodeOf(r.error)).toBe(i + 1);
    });
  });

  it("ends a session whose container is stopped under it with a failure status", async () => {
    const { id } = await sleeper(f, "stopped-under");
    const url = await execUrl(f, id, ["sh", "-c", "echo started; sleep 600"]);
    const run = wsCommand(url, {});
    await waitFor("the exec to start", async () => ((await psArgs(f, id)).includes("sleep 600") ? true : undefined));
    await f.d.client.runtime.StopContainer({ container_id: id, timeout: 0 });
    const r = await run;
    expect(r.stdout).toBe("started\n");
    expect(JSON.parse(r.error)).toMatchObject({ status: "Failure" });
    expect(exitCodeOf(r.error)).toBe(137);
  });

  it("validates requests before handing out a URL", async () => {
    const { pod, id } = await sleeper(f, "validate");
    const cases: [Promise<unknown>, grpc.status, RegExp][] = [
      [f.d.client.runtime.Exec({ container_id: id, cmd: ["true"] }), grpc.status.INVALID_ARGUMENT, /one of stdin, stdout or stderr/],
      [f.d.client.runtime.Exec({ container_id: id, cmd: ["true"], stdout: true, stderr: true, tty: true }), grpc.status.INVALID_ARGUMENT, /tty and stderr/],
      [f.d.client.runtime.Exec({ container_id: id, cmd: [], stdout: true }), grpc.status.INVALID_ARGUMENT, /cmd/],
      [f.d.client.runtime.Exec({ container_id: "nope", cmd: ["true"], stdout: true }), grpc.status.NOT_FOUND, /nope/],
      [f.d.client.runtime.Attach({ container_id: id, stdin: true, stdout: true }), grpc.status.FAILED_PRECONDITION, /stdin/],
      [f.d.client.runtime.PortForward({ pod_sandbox_id: "nope", port: [80] }), grpc.status.NOT_FOUND, /nope/],
      [f.d.client.runtime.PortForward({ pod_sandbox_id: pod.id, port: [70000] }), grpc.status.INVALID_ARGUMENT, /70000/],
    ];
    for (const [call, code, message] of cases) {
      const err = await grpcError(call);
      expect(err.code).toBe(code);
      expect(err.details).toMatch(message);
    }
    const done = await runContainer(f.d, pod, containerConfig("done", f.image, { command: ["true"] }));
    await waitExited(f.d, done);
    const err = await grpcError(f.d.client.runtime.Exec({ container_id: done, cmd: ["true"], stdout: true }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("streaming over TLS", () => {
  const certs = { cert: "", key: "" };
  const f = useContainerDaemon({}, {}, async () => {
    const dir = await fixtureDir("streaming-tls");
    certs.cert = path.join(dir, "tls.crt");
    certs.key = path.join(dir, "tls.key");
    const openssl = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", certs.key, "-out", certs.cert, "-subj", "/CN=127.0.0.1", "-days", "1", "-addext", "subjectAltName=IP:127.0.0.1"]);
    if (openssl.status !== 0) throw new Error(`openssl failed: ${openssl.stderr.toString()}`);
    return { streaming: { tls_cert_file: certs.cert, tls_key_file: certs.key } };
  });

  it("hands out https URLs that a client trusting the certificate can use", async () => {
    const { id } = await sleeper(f, "tls");
    const url = await execUrl(f, id, ["echo", "over-tls"]);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/exec\//);
    const ca = await readFile(certs.cert);
    const out = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url.replace(/^https/, "wss"), ["v5.channel.k8s.io"], { ca });
      let text = "";
      ws.on("message", (d: Buffer) => {
        if (d[0] === 1) text += d.subarray(1).toString();
      });
      ws.on("error", reject);
      ws.on("close", () => resolve(text));
    });
    expect(out).toBe("over-tls\n");
  });
});
