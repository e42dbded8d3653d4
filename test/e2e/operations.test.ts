// Running skiff as a node daemon: Prometheus /metrics, SIGHUP reload, `skiff
// config`, and readiness notification to systemd.

import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { containerConfig, runContainer, startPod, useContainerDaemon, waitExited } from "./harness/containers.js";
import { runSkiff, TestDaemon } from "./harness/daemon.js";
import { waitFor } from "./harness/processes.js";
import { TestRegistry } from "./harness/registry.js";
import { fixtureDir } from "./harness/run-dir.js";
import { buildImage } from "../support/oci-image.js";

async function scrape(d: TestDaemon): Promise<string> {
  const { info } = await d.client.runtime.Status({ verbose: true });
  const res = await fetch(`http://${info.metricsServer}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line, e.g. metric('x_total{a="b"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("Prometheus /metrics", () => {
  const f = useContainerDaemon({ metrics: { address: "127.0.0.1:0" } });

  it("counts and times the calls made, pulls, CNI and runtime calls, states and OOM kills", async () => {
    for (let i = 0; i < 3; i++) await f.d.client.runtime.Version({});
    expect((await grpcError(f.d.client.runtime.ContainerStatus({ container_id: "missing" }))).code).toBe(grpc.status.NOT_FOUND);
    const pod = await startPod(f.d, "metrics");
    await runContainer(f.d, pod, containerConfig("sleeper", f.image, { command: ["sleep", "3600"] }));
    const hog = await runContainer(
      f.d,
      pod,
      containerConfig("hog", f.image, { command: ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"], linux: { resources: { memory_limit_in_bytes: String(20 * 1024 * 1024) } } }),
    );
    expect((await waitExited(f.d, hog)).reason).toBe("OOMKilled");
    const missing = await grpcError(f.d.client.image.PullImage({ image: { image: `${f.image.split("/")[0]}/e2e/not-pushed:1` } }));
    expect(missing.code).not.toBe(grpc.status.OK);

    const text = await scrape(f.d);
    expect(sample(text, 'skiff_grpc_requests_total{method="RuntimeService/Version",code="OK"}')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'skiff_grpc_request_duration_seconds_count{method="RuntimeService/Version",code="OK"}')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'skiff_grpc_request_duration_seconds_bucket{le="+Inf",method="RuntimeService/Version",code="OK"}')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'skiff_grpc_requests_total{method="RuntimeService/ContainerStatus",code="NOT_FOUND"}')).toBe(1);
    expect(sample(text, 'skiff_grpc_requests_total{method="ImageService/PullImage",code="OK"}')).toBe(1);
    expect(sample(text, 'skiff_image_pulls_total{result="success"}')).toBe(1);
    expect(sample(text, "skiff_image_pull_bytes_total")).toBeGreaterThan(100_000);
    expect(sample(text, 'skiff_image_pull_duration_seconds_count{result="success"}')).toBe(1);
    expect(sample(text, 'skiff_image_pulls_total{result="failure"}')).toBe(1);
    expect(sample(text, 'skiff_image_pull_duration_seconds_count{result="failure"}')).toBe(1);
    expect(sample(text, 'skiff_cni_operation_duration_seconds_count{operation="add"}')).toBe(1);
    expect(sample(text, 'skiff_oci_runtime_operation_duration_seconds_count{handler="runc",operation="create"}')).toBe(2);
    expect(sample(text, 'skiff_oci_runtime_operation_duration_seconds_count{handler="runc",operation="start"}')).toBe(2);
    expect(sample(text, 'skiff_pod_sandboxes{state="ready"}')).toBe(1);
    expect(sample(text, 'skiff_containers{state="running"}')).toBe(1);
    expect(sample(text, 'skiff_containers{state="exited"}')).toBe(1);
    expect(sample(text, "skiff_container_oom_kills_total")).toBe(1);
    expect(text).toMatch(/^skiff_process_resident_memory_bytes \d+/m);
    expect((await fetch(`http://${(await f.d.client.runtime.Status({ verbose: true })).info.metricsServer}/other`)).status).toBe(404);
  });
});

describe("node operations", () => {
  it("reloads the log level and registry mirrors on SIGHUP, and keeps the old config when the new one is bad", async () => {
    const d = await TestDaemon.start({ config: { log_level: "info" } });
    try {
      const rpcLines = async () => (await readFile(d.logFile, "utf8")).split("\n").filter((l) => l.includes('"rpc":"Version"') && l.includes('"code":"OK"')).length;
      await d.client.runtime.Version({});
      expect(await rpcLines()).toBe(0); // successful calls log at debug
      await d.writeConfig({ log_level: "debug", registries: { "docker.io": { mirrors: ["mirror.local:5000"] } }, shutdown_timeout: 3 });
      process.kill(d.pid!, "SIGHUP");
      const reloaded = await waitFor("the reload", async () => (await readFile(d.logFile, "utf8")).split("\n").find((l) => l.includes("configuration reloaded")));
      expect(JSON.parse(reloaded)).toMatchObject({ logLevel: "debug", needsRestart: ["shutdownTimeoutSeconds"] });
      await d.client.runtime.Version({});
      expect(await rpcLines()).toBe(1);
      const config = JSON.parse((await d.client.runtime.Status({ verbose: true })).info.config!);
      expect(config.registries).toEqual({ "docker.io": { mirrors: ["mirror.local:5000"], insecure: false } });
      expect(config.logLevel).toBe("debug");

      await writeFile(d.configFile, "log_level = 5\n");
      process.kill(d.pid!, "SIGHUP");
      await waitFor("the failed reload", async () => ((await readFile(d.logFile, "utf8")).includes("configuration reload failed") ? true : undefined));
      expect(JSON.parse((await d.client.runtime.Status({ verbose: true })).info.config!).logLevel).toBe("debug");
    } finally {
      await d.cleanup();
    }
  });

  it("pulls through a registry mirror added by SIGHUP", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start();
    try {
      await reg.push("ops/mirrored", "1", await buildImage());
      // Nothing listens on localhost:1: only a mirror can serve this reference.
      const ref = "localhost:1/ops/mirrored:1";
      const before = await grpcError(d.client.image.PullImage({ image: { image: ref } }));
      expect(before.code).not.toBe(grpc.status.OK);
      expect(before.details).toContain("localhost:1");
      await d.writeConfig({ registries: { "localhost:1": { mirrors: [reg.host] } } });
      process.kill(d.pid!, "SIGHUP");
      await waitFor("the reload", async () => (await readFile(d.logFile, "utf8")).split("\n").find((l) => l.includes("configuration reloaded")));
      const { image_ref } = await d.client.image.PullImage({ image: { image: ref } });
      const { image } = await d.client.image.ImageStatus({ image: { image: ref } });
      expect(image?.id).toBe(image_ref);
      expect(image?.repo_tags).toContain(ref);
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });

  it("prints the effective configuration with `skiff config`", async () => {
    const dir = await fixtureDir("config-cmd");
    const file = path.join(dir, "skiff.toml");
    await writeFile(file, `listen = "/run/other/skiff.sock"\n[registries."docker.io"]\nmirrors = ["m.local:5000"]\n`);
    const r = await runSkiff(["config", "--config", file, "--log-level", "warn"]);
    expect(r.code).toBe(0);
    const doc = parseToml(r.stdout) as Record<string, Record<string, unknown>>;
    expect(doc).toMatchObject({ listen: "/run/other/skiff.sock", log_level: "warn", root: "/var/lib/skiff", streaming: { host: "127.0.0.1", token_ttl: 60 } });
    expect(doc.registries).toEqual({ "docker.io": { mirrors: ["m.local:5000"], insecure: false } });
    await writeFile(file, `[cni]\nbrige = "x"\n`);
    const bad = await runSkiff(["config", "--config", file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("cni.brige");
  });

  it("sleeps while idle: its main thread wakes a few times a second, and the event loop's delay is still measured", async () => {
    const d = await TestDaemon.start({ config: { metrics: { address: "127.0.0.1:0" } } });
    // The main thread's own count (the process's would add the thread pool's).
    const wakeups = async () => Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(await readFile(`/proc/${d.pid}/task/${d.pid}/status`, "utf8"))![1]);
    try {
      await d.client.runtime.Version({});
      await new Promise((r) => setTimeout(r, 1500)); // past start-up's own work
      const before = await wakeups();
      await new Promise((r) => setTimeout(r, 3000));
      // prom-client's default sampling of the delay, a 10 ms timer, made it 100 a second.
      expect((await wakeups()) - before).toBeLessThan(60);
      const text = await scrape(d);
      expect(sample(text, "skiff_nodejs_eventloop_lag_p99_seconds")).toBeGreaterThan(0);
    } finally {
      await d.cleanup();
    }
  });

  it("tells systemd it is ready through $NOTIFY_SOCKET", async () => {
    const dir = await fixtureDir("notify");
    const sock = path.join(dir, "notify.sock");
    // Node has no unix datagram sockets: python3 plays systemd's receiving end.
    const receiver = spawn("python3", ["-c", "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound', flush=True); sys.stdout.write(s.recv(4096).decode()); sys.stdout.flush()", sock]);
    let out = "";
    receiver.stdout.on("data", (b: Buffer) => (out += b.toString()));
    await waitFor("the receiver", async () => (out.includes("bound") ? true : undefined));
    const d = await TestDaemon.create();
    process.env.NOTIFY_SOCKET = sock;
    try {
      await d.start();
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    try {
      await waitFor("READY=1", async () => (out.includes("READY=1") ? true : undefined));
      expect(out).toContain(`MAINPID=${d.pid}`);
      expect(out).toContain(`STATUS=serving CRI on ${d.socket}`);
    } finally {
      receiver.kill();
      await d.cleanup();
    }
  });
});
