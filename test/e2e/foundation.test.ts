// The daemon itself: CLI, config errors, the socket, signals, and the RPCs
// answered from the first issue on. Everything goes through a real daemon.

import { readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadCri } from "../../src/cri/client-proto.js";
import { grpc, grpcError } from "./harness/cri-client.js";
import { runSkiff, TestDaemon } from "./harness/daemon.js";
import { mountsUnder } from "./harness/mounts.js";
import { podConfig } from "./harness/pods.js";
import { waitFor } from "./harness/processes.js";
import { fixtureDir } from "./harness/run-dir.js";


const skiff = (args: string[]) => runSkiff(args);

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("skiff command line", () => {
  it("prints its version", async () => {
    const r = await skiff(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`skiff ${pkg.version} (CRI runtime.v1)\n`);
  });

  it("exits 2 naming the key when the config has an unknown key", async () => {
    const dir = await fixtureDir("cfg");
    const file = path.join(dir, "bad.toml");
    await writeFile(file, `listen = "${dir}/s.sock"\n[cni]\nconf_dirr = "/etc/cni/net.d"\n`);
    const r = await skiff(["daemon", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cni.conf_dirr: unknown key");
  });

  it("exits 2 naming the key when a value is bad", async () => {
    const dir = await fixtureDir("cfg");
    const file = path.join(dir, "bad.toml");
    await writeFile(file, `listen = "${dir}/s.sock"\nlog_level = "loud"\n`);
    const r = await skiff(["daemon", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/log_level: must be one of trace, debug, info, warn, error, fatal, got "loud"/);
  });

  it("exits 2 on an unknown flag or a missing named config file", async () => {
    expect((await skiff(["daemon", "--bogus"])).code).toBe(2);
    const missing = await skiff(["daemon", "--config", "/nonexistent/skiff.toml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read /nonexistent/skiff.toml");
    expect((await skiff(["frobnicate"])).code).toBe(2);
  });
});

describe("a running daemon", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await TestDaemon.start();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("answers Version", async () => {
    const v = await d.client.runtime.Version({ version: "0.1.0" });
    expect(v).toEqual({ version: "0.1.0", runtime_name: "skiff", runtime_version: pkg.version, runtime_api_version: "v1" });
  });

  it("answers RuntimeConfig with the cgroupfs driver", async () => {
    const r = await d.client.runtime.RuntimeConfig({});
    expect(r.linux?.cgroup_driver).toBe("CGROUPFS");
  });

  it("reports RuntimeReady and NetworkReady with the built-in network and installed plugins", async () => {
    const s = await d.client.runtime.Status({});
    const byType = Object.fromEntries(s.status!.conditions.map((c) => [c.type, c]));
    expect(byType.RuntimeReady?.status).toBe(true);
    expect(byType.NetworkReady).toMatchObject({ status: true, reason: "" });
    expect(s.info).toEqual({}); // only with verbose
    expect(s.runtime_handlers.map((h) => h.name)).toEqual(["", "crun", "runc"]);
  });

  it("adds the effective config and CNI state as JSON with verbose", async () => {
    const s = await d.client.runtime.Status({ verbose: true });
    const config = JSON.parse(s.info.config!);
    expect(config.listen).toBe(d.socket);
    expect(config.cni.bridge).toBe(d.bridge);
    const cni = JSON.parse(s.info.cniconfig!);
    expect(cni.network.source).toBe("builtin");
    expect(cni.podCidr).toBe(d.podCidr);
    expect(cni.plugins.bridge).toMatch(/\/bridge$/);
    expect(s.info.lastCNILoadStatus).toBe("OK");
  });

  it("remembers the pod CIDR from UpdateRuntimeConfig across a daemon kill -9", async () => {
    await d.client.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: "10.231.250.0/24" } } });
    const cniOf = async () => JSON.parse((await d.client.runtime.Status({ verbose: true })).info.cniconfig!);
    expect((await cniOf()).podCidr).toBe("10.231.250.0/24");
    expect((await cniOf()).network.plugins[0].ipam.ranges[0][0].subnet).toBe("10.231.250.0/24");
    await d.restart();
    expect((await cniOf()).podCidr).toBe("10.231.250.0/24");
    // an empty CIDR (kubelet before it knows one) changes nothing
    await d.client.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: "" } } });
    expect((await cniOf()).podCidr).toBe("10.231.250.0/24");
  });

  it("rejects a malformed pod CIDR with INVALID_ARGUMENT", async () => {
    const err = await grpcError(d.client.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: "10.1.2.3/99" } } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('"10.1.2.3/99"');
  });

  it("registers every RPC of the schema (none falls through to grpc's 'method not found')", async () => {
    const cri = loadCri().runtime.v1;
    const services = [
      ["RuntimeService", cri.RuntimeService.service, d.client.rawRuntime],
      ["ImageService", cri.ImageService.service, d.client.rawImage],
    ] as const;
    let checked = 0;
    for (const [serviceName, def, raw] of services) {
      for (const [method, m] of Object.entries(def)) {
        const fn = (raw as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!.bind(raw);
        const outcome = await new Promise<{ code: number; details: string }>((resolve) => {
          const deadline = { deadline: Date.now() + 5000 };
          if (m.responseStream) {
            const stream = fn({}, deadline) as grpc.ClientReadableStream<unknown>;
            stream.on("data", () => {});
            stream.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
            stream.on("end", () => resolve({ code: 0, details: "" }));
          } else {
            fn({}, deadline, (e: grpc.ServiceError | null) => resolve(e ? { code: e.code, details: e.details } : { code: 0, details: "" }));
          }
        });
        expect(outcome.details, `${serviceName}/${method}`).not.toMatch(/does not implement the method/);
        // Every RPC is built now: an empty request gets an answer or a reason, never UNIMPLEMENTED.
        expect([`${serviceName}/${method}`, outcome.code]).not.toEqual([`${serviceName}/${method}`, grpc.status.UNIMPLEMENTED]);
        checked++;
      }
    }
    expect(checked).toBe(Object.keys(cri.RuntimeService.service).length + Object.keys(cri.ImageService.service).length);
  });

  it("logs one line per RPC with method, code and duration", async () => {
    await d.client.runtime.Version({});
    await grpcError(d.client.runtime.CheckpointContainer({ container_id: "abc" }));  // no location: INVALID_ARGUMENT
    const lines = (await d.logTail(400)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const version = lines.filter((l) => l.rpc === "Version");
    expect(version.at(-1)).toMatchObject({ code: "OK", msg: "rpc" });
    expect(typeof version.at(-1).durationMs).toBe("number");
    const failed = lines.filter((l) => l.rpc === "CheckpointContainer").at(-1);
    expect(failed).toMatchObject({ code: "INVALID_ARGUMENT", container_id: "abc" });
  });

  it("creates its socket with mode 0660", async () => {
    const st = await stat(d.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("refuses to start a second daemon on a live socket", async () => {
    const other = await TestDaemon.create();
    try {
      await other.writeConfig({ listen: d.socket });
      const p = other.spawn();
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(await other.logTail()).toContain(`another daemon is already listening on ${d.socket}`);
      // and the first one still answers
      await d.client.runtime.Version({});
    } finally {
      await other.cleanup();
    }
  });

  it("refuses to share a state directory with a live daemon", async () => {
    const other = await TestDaemon.create();
    try {
      await other.writeConfig({ state: d.state });
      const { code } = await other.spawn().exited;
      expect(code).toBe(1);
      expect(await other.logTail()).toContain(`is using the state directory ${d.state}`);
    } finally {
      await other.cleanup();
    }
  });
});

describe("daemon start and stop", () => {
  let d: TestDaemon | undefined;
  afterEach(async () => {
    await d?.cleanup();
    d = undefined;
  });

  it("exits 0 promptly on SIGTERM and can start again on the same dirs", async () => {
    d = await TestDaemon.start({ config: { shutdown_timeout: 5 } });
    await d.client.runtime.Version({});
    const r = await d.stop();
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.ms).toBeLessThan(5000);
    await d.start();
    await d.client.runtime.Version({});
  });

  it("replaces the stale socket left by a daemon killed with SIGKILL", async () => {
    d = await TestDaemon.start();
    await d.kill();
    expect((await stat(d.socket)).isSocket()).toBe(true); // left behind, nobody listening
    await d.start();
    expect((await d.client.runtime.Version({})).runtime_name).toBe("skiff");
  });

  it("refuses to replace a path that is not a socket", async () => {
    d = await TestDaemon.create();
    await writeFile(d.socket, "not a socket");
    const { code } = await d.spawn().exited;
    expect(code).toBe(1);
    expect(await d.logTail()).toContain("exists and is not a socket");
  });

  it("reports NetworkReady=false, naming what is missing, until a usable CNI config appears", async () => {
    const emptyBin = path.join(await fixtureDir("bin"), "empty");
    await mkdir(emptyBin);
    d = await TestDaemon.start({ config: { cni: { builtin_network: false } } });
    const network = async () => (await d!.client.runtime.Status({})).status!.conditions.find((c) => c.type === "NetworkReady")!;

    let n = await network();
    expect(n).toMatchObject({ status: false, reason: "NetworkPluginNotReady" });
    expect(n.message).toBe(`Network plugin returns error: cni plugin not initialized: no network config found in ${d.cniConfDir}`);

    // The conf dir is read on each Status: a config naming a missing plugin is reported by name.
    await writeFile(path.join(d.cniConfDir, "10-test.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "t", plugins: [{ type: "no-such-plugin" }] }));
    n = await network();
    expect(n.status).toBe(false);
    expect(n.message).toContain('plugin "no-such-plugin" of network "t" not found in /usr/lib/cni, /opt/cni/bin');

    // A lexically earlier valid config wins.
    await writeFile(path.join(d.cniConfDir, "05-ok.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "ok", plugins: [{ type: "bridge", bridge: d.bridge, ipam: { type: "host-local" } }] }));
    n = await network();
    expect(n).toMatchObject({ status: true, reason: "", message: "" });

    // A ready network is kept between calls, and dropped when its dirs change.
    await rename(path.join(d.cniConfDir, "05-ok.conflist"), path.join(d.cniConfDir, "05-ok.off"));
    n = await waitFor("the removed config to be noticed", async () => ((await network()).status ? undefined : network()), 5000);
    expect(n.message).toContain('plugin "no-such-plugin" of network "t" not found');
    await rename(path.join(d.cniConfDir, "05-ok.off"), path.join(d.cniConfDir, "05-ok.conflist"));
    await waitFor("the config to be back", async () => ((await network()).status ? true : undefined), 5000);
    // ...and when a plugin appears in an earlier plugin dir that did not exist yet
    const early = path.join(await fixtureDir("bin"), "later", "cni");
    await d.stop();
    await d.writeConfig({ cni: { builtin_network: false, bin_dirs: [early, "/usr/lib/cni"] } });
    await writeFile(
      path.join(d.cniConfDir, "05-ok.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "ok", plugins: [{ type: "bridge", bridge: d.bridge, ipam: { type: "host-local", dataDir: path.join(d.dir, "ipam"), ranges: [[{ subnet: d.podCidr }]] } }] }),
    );
    await d.start();
    expect((await network()).status).toBe(true);
    const pod = await d.client.runtime.RunPodSandbox({ config: podConfig("before") });
    await mkdir(early, { recursive: true });
    await writeFile(path.join(early, "bridge"), "#!/bin/sh\necho 'this bridge is the one from the earlier dir' >&2\nexit 1\n", { mode: 0o755 });
    const err = await waitFor(
      "the earlier dir's bridge to be used",
      async () => {
        const e = await grpcError(d!.client.runtime.RunPodSandbox({ config: podConfig("after") }));
        return e.details.includes("the one from the earlier dir") ? e : undefined;
      },
      5000,
    );
    expect(err.code).toBe(grpc.status.INTERNAL);
    await rm(path.join(early, "bridge")); // the first pod's DEL needs the real one again
    await d.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.pod_sandbox_id });
    await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.pod_sandbox_id });
    // The failed pods (whose plugin failed DEL as well) left no mount, namespace or directory.
    expect(await mountsUnder(d.state)).toEqual([]);
    expect(await readdir(path.join(d.state, "sandboxes"))).toEqual([]);

    // With plugins looked up in an empty dir, the network is not ready.
    await d.stop();
    await d.writeConfig({ cni: { builtin_network: false, bin_dirs: [emptyBin] } });
    await d.start();
    n = await network();
    expect(n.status).toBe(false);
    expect(n.message).toContain(`not found in ${emptyBin}`);
  });
});
