// Pod sandboxes through the CRI socket: real namespaces, real CNI plugins on a
// test bridge and subnet, real runc/crun for the infra process.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { TestDaemon } from "./harness/daemon.js";
import { podConfig, podInfo, inPod, removeAllPods, spawnInPod } from "./harness/pods.js";
import { processesMentioning, waitFor } from "./harness/processes.js";
import { freePort } from "./harness/registry.js";
import { mountsUnder } from "./harness/mounts.js";
import { fixtureDir } from "./harness/run-dir.js";

const run = promisify(execFile);

/** Serves `body` on port 8080 inside the pod with busybox httpd; returns a stop function. */
async function httpServerInPod(netns: string, body: string) {
  const dir = await fixtureDir("www");
  await writeFile(path.join(dir, "index.html"), body);
  const child = spawnInPod(netns, ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", dir]);
  return () => child.kill("SIGKILL");
}

for (const handler of ["runc", "crun"] as const) {
  describe(`pod sandboxes (${handler})`, () => {
    let d: TestDaemon;
    beforeAll(async () => {
      d = await TestDaemon.start({ config: { runtime: { default_handler: handler } } });
    });
    afterEach(async () => {
      await removeAllPods(d);
    });
    afterAll(async () => {
      await d?.cleanup();
    });

    it("gives two pods distinct IPs on the test bridge, reachable from the host, with their own hostnames", async () => {
      const a = await d.client.runtime.RunPodSandbox({ config: podConfig("alpha") });
      const b = await d.client.runtime.RunPodSandbox({ config: podConfig("beta", { hostname: "beta-host" }) });
      const sa = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: a.pod_sandbox_id })).status!;
      const sb = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: b.pod_sandbox_id })).status!;
      expect(sa.state).toBe("SANDBOX_READY");
      expect(sa.linux?.namespaces?.options?.network).toBe("POD");
      const prefix = d.podCidr.split(".").slice(0, 3).join(".");
      expect(sa.network!.ip.startsWith(`${prefix}.`)).toBe(true);
      expect(sb.network!.ip.startsWith(`${prefix}.`)).toBe(true);
      expect(sa.network!.ip).not.toBe(sb.network!.ip);
      expect(BigInt(sa.created_at)).toBeGreaterThan(0n);

      const ib = await podInfo(d, b.pod_sandbox_id);
      expect((await inPod([`--uts=${ib.namespaces.uts}`], ["hostname"])).trim()).toBe("beta-host");
      expect((await run("busybox", ["ping", "-c", "1", "-W", "2", sb.network!.ip])).stdout).toContain("1 packets received");
      const stop = await httpServerInPod(ib.netns, "hello from beta");
      try {
        const body = await waitFor("the pod's server", async () => (await fetch(`http://${sb.network!.ip}:8080/index.html`)).text());
        expect(body).toBe("hello from beta");
      } finally {
        stop();
      }
      // the pod's own files
      const files = path.join(d.root, "sandbox-files", b.pod_sandbox_id);
      expect(await readFile(path.join(files, "hostname"), "utf8")).toBe("beta-host\n");
      expect(await readFile(path.join(files, "hosts"), "utf8")).toContain(`${sb.network!.ip}\tbeta-host`);
    });

    it("maps a hostPort to the pod through 127.0.0.1", async () => {
      const hostPort = await freePort();
      const p = await d.client.runtime.RunPodSandbox({
        config: podConfig("ports", { port_mappings: [{ protocol: "TCP", container_port: 8080, host_port: hostPort, host_ip: "" }] }),
      });
      const info = await podInfo(d, p.pod_sandbox_id);
      const stop = await httpServerInPod(info.netns, "via hostPort");
      try {
        const body = await waitFor("the hostPort", async () => (await fetch(`http://127.0.0.1:${hostPort}/index.html`)).text());
        expect(body).toBe("via hostPort");
      } finally {
        stop();
      }
    });

    it("uses the host network for hostNetwork pods, with no namespace file and no IP of its own", async () => {
      const p = await d.client.runtime.RunPodSandbox({ config: podConfig("hostnet", { linux: { security_context: { namespace_options: { network: "NODE" } } } }) });
      const s = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: p.pod_sandbox_id })).status!;
      expect(s.linux?.namespaces?.options?.network).toBe("NODE");
      expect(s.network?.ip).toBe("");
      const info = await podInfo(d, p.pod_sandbox_id);
      expect(info.netns).toBe("");
      expect(info.namespaces.uts).toBeUndefined();
      // the pod's IPC namespace is still its own
      expect(info.namespaces.ipc).toBeTruthy();

      // With a shared PID namespace the infra process shows what the pod sees: the host's network.
      const withInfra = await d.client.runtime.RunPodSandbox({
        config: podConfig("hostnet-pid", { linux: { security_context: { namespace_options: { network: "NODE", pid: "POD" } } } }),
      });
      const pid = (await podInfo(d, withInfra.pod_sandbox_id)).pid;
      expect((await run("readlink", [`/proc/${pid}/ns/net`])).stdout).toBe((await run("readlink", ["/proc/self/ns/net"])).stdout);
      expect((await run("readlink", [`/proc/${pid}/ns/uts`])).stdout).toBe((await run("readlink", ["/proc/self/ns/uts"])).stdout);
      expect((await run("readlink", [`/proc/${pid}/ns/ipc`])).stdout).not.toBe((await run("readlink", ["/proc/self/ns/ipc"])).stdout);
    });

    it("puts the infra process in the pod's cgroup from linux.cgroup_parent", async () => {
      const parent = `/skiff-e2e-pod${process.pid}`;
      const p = await d.client.runtime.RunPodSandbox({
        config: podConfig("cgroup", { linux: { cgroup_parent: parent, security_context: { namespace_options: { pid: "POD" } } } }),
      });
      const pid = (await podInfo(d, p.pod_sandbox_id)).pid;
      expect(await readFile(`/proc/${pid}/cgroup`, "utf8")).toMatch(new RegExp(`:memory:${parent}/sandbox-${p.pod_sandbox_id}\n`));
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.pod_sandbox_id });
      expect(existsSync(`/sys/fs/cgroup/memory${parent}/sandbox-${p.pod_sandbox_id}`)).toBe(false);
      // the pod cgroup itself is kubelet's to remove; this test made it, so it removes it
      for (const c of await readdir("/sys/fs/cgroup")) await run("rmdir", [`/sys/fs/cgroup/${c}${parent}`]).catch(() => {});
    });

    it("gives ipc: POD pods their own IPC namespace and a 64 MiB /dev/shm tmpfs", async () => {
      const p = await d.client.runtime.RunPodSandbox({ config: podConfig("ipc") });
      const info = await podInfo(d, p.pod_sandbox_id);
      const ipc = `--ipc=${info.namespaces.ipc}`;
      const id = (await inPod([ipc], ["ipcmk", "-M", "4096"])).match(/(\d+)/)![1]!;
      expect(await inPod([ipc], ["ipcs", "-m"])).toContain(id);
      expect((await run("ipcs", ["-m"])).stdout).not.toMatch(new RegExp(`\\b${id}\\b.*4096`));
      const mount = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === info.shm)!;
      expect(mount).toContain(" - tmpfs tmpfs ");
      expect(mount).toContain("size=65536k");
      expect((await stat(info.shm)).mode & 0o7777).toBe(0o1777);
    });

    it("runs catatonit as PID 1 for pid: POD, and no process at all otherwise", async () => {
      const shared = await d.client.runtime.RunPodSandbox({ config: podConfig("sharedpid", { linux: { security_context: { namespace_options: { pid: "POD" } } } }) });
      const info = await podInfo(d, shared.pod_sandbox_id);
      expect(info.pid).toBeGreaterThan(0);
      expect(await readFile(`/proc/${info.pid}/cmdline`, "utf8")).toBe("/catatonit\0-P\0");
      const status = await readFile(`/proc/${info.pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`NSpid:\\s+${info.pid}\\s+1\\n`));
      // it shares the pod's network namespace
      const { stdout } = await run("readlink", [`/proc/${info.pid}/ns/net`]);
      expect(stdout.trim()).toBe((await inPod([`--net=${info.netns}`], ["readlink", "/proc/self/ns/net"])).trim());

      // the infra lives in skiff's default cgroup parent, which goes with the last infra
      expect(await readFile(`/proc/${info.pid}/cgroup`, "utf8")).toContain(`:/skiff/sandbox-${shared.pod_sandbox_id}`);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: shared.pod_sandbox_id });
      expect(existsSync("/sys/fs/cgroup/pids/skiff")).toBe(false);

      const plain = await d.client.runtime.RunPodSandbox({ config: podConfig("nopid") });
      expect((await podInfo(d, plain.pod_sandbox_id)).pid).toBe(0);
      expect(await processesMentioning(plain.pod_sandbox_id)).toEqual([]);
    });

    it("applies namespaced sysctls inside the pod and refuses the others", async () => {
      const p = await d.client.runtime.RunPodSandbox({
        config: podConfig("sysctl", { linux: { sysctls: { "net.ipv4.ip_unprivileged_port_start": "22", "kernel.shm_rmid_forced": "1" } } }),
      });
      const info = await podInfo(d, p.pod_sandbox_id);
      expect((await inPod([`--net=${info.netns}`], ["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"])).trim()).toBe("22");
      expect((await inPod([`--ipc=${info.namespaces.ipc}`], ["cat", "/proc/sys/kernel/shm_rmid_forced"])).trim()).toBe("1");
      expect((await readFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).trim()).not.toBe("22");
      const err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("unsafe", { linux: { sysctls: { "kernel.pid_max": "4096" } } }) }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain('sysctl "kernel.pid_max" is not namespaced');
      // Values the kernel cannot take are the caller's error, named, and leave nothing behind.
      const huge = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("huge", { linux: { sysctls: { "net.ipv4.ping_group_range": "1 ".repeat(4096) } } }) }));
      expect(huge.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(huge.details).toMatch(/net\.ipv4\.ping_group_range.*at most 4095/);
      const refused = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("refused", { linux: { sysctls: { "net.ipv4.ping_group_range": "ten twenty" } } }) }));
      expect(refused.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(refused.details).toContain("sysctl net.ipv4.ping_group_range: the kernel refused its value");
      const names = (await d.client.runtime.ListPodSandbox({})).items.map((i) => i.metadata?.name);
      expect(names).not.toContain("refused");
    });

    it("reserves names, validates configs, and makes Stop and Remove idempotent", async () => {
      const config = podConfig("dup");
      const first = await d.client.runtime.RunPodSandbox({ config });
      let err = await grpcError(d.client.runtime.RunPodSandbox({ config }));
      expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
      expect(err.details).toContain(first.pod_sandbox_id);

      const noUid = podConfig("nouid");
      noUid.metadata!.uid = "";
      err = await grpcError(d.client.runtime.RunPodSandbox({ config: noUid }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain("metadata.uid is required");
      err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("h"), runtime_handler: "kata" }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain('unknown runtime handler "kata"');
      err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("t", { linux: { security_context: { namespace_options: { pid: "TARGET" } } } }) }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      err = await grpcError(d.client.runtime.PodSandboxStatus({ pod_sandbox_id: "f".repeat(64) }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);

      const id = first.pod_sandbox_id;
      const links = () => inPod([`--net=${path.join(d.state, "sandboxes", id, "net")}`], ["ip", "-o", "link"]);
      expect(await links()).toContain("eth0");
      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
      // CNI DEL ran inside the pod's network namespace, which stays pinned until removal: its interface is gone.
      expect(await links()).not.toContain("eth0");
      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
      expect((await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: id.slice(0, 10) })).status!.state).toBe("SANDBOX_NOTREADY");
      // The stop says in the log where its time went, as the start does.
      const stopped = (await readFile(d.logFile, "utf8")).split("\n").filter((l) => l.includes(id) && l.includes('"sandbox stopped"'));
      expect(stopped).toHaveLength(2); // one per call: the second finds nothing left to do
      for (const l of stopped) expect(Object.keys((JSON.parse(l) as { steps: object }).steps)).toEqual(["containers", "teardown"]);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: "0".repeat(64) });
      // the name is free again
      await d.client.runtime.RunPodSandbox({ config });
    });

    it("lists with id prefix, state and label filters", async () => {
      const a = await d.client.runtime.RunPodSandbox({ config: podConfig("la", { labels: { app: "web", tier: "front" } }) });
      const b = await d.client.runtime.RunPodSandbox({ config: podConfig("lb", { labels: { app: "web" } }) });
      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: b.pod_sandbox_id });
      const ids = async (filter: object) => (await d.client.runtime.ListPodSandbox({ filter })).items.map((i) => i.id).sort();
      expect(await ids({})).toEqual([a.pod_sandbox_id, b.pod_sandbox_id].sort());
      expect(await ids({ label_selector: { app: "web", tier: "front" } })).toEqual([a.pod_sandbox_id]);
      expect(await ids({ state: { state: "SANDBOX_NOTREADY" } })).toEqual([b.pod_sandbox_id]);
      expect(await ids({ id: a.pod_sandbox_id.slice(0, 8) })).toEqual([a.pod_sandbox_id]);
      expect(await ids({ id: "nothing" })).toEqual([]);
      const item = (await d.client.runtime.ListPodSandbox({ filter: { id: a.pod_sandbox_id } })).items[0]!;
      expect(item.labels).toEqual({ app: "web", tier: "front" });
      expect(item.metadata?.name).toBe("la");
    });

    it("survives a daemon kill -9 with the same IP and infra, then releases everything on stop and remove", async () => {
      const p = await d.client.runtime.RunPodSandbox({ config: podConfig("durable", { linux: { security_context: { namespace_options: { pid: "POD" } } } }) });
      const id = p.pod_sandbox_id;
      const before = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status!;
      const infraPid = (await podInfo(d, id)).pid;
      await d.restart();
      const after = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status!;
      expect(after.state).toBe("SANDBOX_READY");
      expect(after.network!.ip).toBe(before.network!.ip);
      expect((await podInfo(d, id)).pid).toBe(infraPid);
      expect(existsSync(`/proc/${infraPid}`)).toBe(true);

      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
      const ipam = path.join(d.root, "network/ipam/skiff");
      expect((await readdir(ipam)).filter((f) => f.includes("."))).toEqual(["last_reserved_ip.0"]);
      expect(await mountsUnder(d.state)).toEqual([]);
      expect(await readdir(path.join(d.state, "sandboxes"))).toEqual([]);
      await waitFor("the infra process to go", async () => (existsSync(`/proc/${infraPid}/cmdline`) && (await readFile(`/proc/${infraPid}/cmdline`, "utf8")) ? undefined : true));
    });
  });
}

/**
 * A daemon whose network is a bridge conflist named `type` whose plugin is the
 * shell script `script(bin)` (bin: the directory it lives in), e.g. one that
 * misbehaves and then runs the real bridge plugin.
 */
async function daemonWithBridgeWrapper(type: string, script: (bin: string) => string): Promise<{ d: TestDaemon; bin: string }> {
  const bin = await fixtureDir(type);
  await writeFile(path.join(bin, type), script(bin), { mode: 0o755 });
  const d = await TestDaemon.create({ config: { cni: { bin_dirs: [bin, "/usr/lib/cni"] } } });
  await writeFile(
    path.join(d.cniConfDir, `10-${type}.conflist`),
    JSON.stringify({ cniVersion: "1.0.0", name: type, plugins: [{ type, bridge: d.bridge, isGateway: true, ipMasq: true, ipam: { type: "host-local", dataDir: path.join(d.dir, "ipam"), ranges: [[{ subnet: d.podCidr }]] } }] }),
  );
  await d.start();
  return { d, bin };
}

describe("sandbox recovery", () => {
  it("marks a pod NOTREADY and releases it when its namespaces vanished while the daemon was down", async () => {
    const d = await TestDaemon.start();
    try {
      const p = await d.client.runtime.RunPodSandbox({ config: podConfig("vanish") });
      const info = await podInfo(d, p.pod_sandbox_id);
      await d.kill();
      // what a reboot does to /run: the pinned network namespace is gone
      await run("umount", [info.netns]);
      await d.start();
      const s = (await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: p.pod_sandbox_id })).status!;
      expect(s.state).toBe("SANDBOX_NOTREADY");
      // CNI DEL ran although the netns was gone: the address is free again
      const ipam = path.join(d.root, "network/ipam/skiff");
      expect(await readdir(ipam)).not.toContain(s.network!.ip);
      // and the masquerade rule the bridge plugin could not find itself is gone too
      expect((await run("iptables-save", ["-t", "nat"])).stdout).not.toContain(p.pod_sandbox_id);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.pod_sandbox_id });
      expect(await mountsUnder(d.state)).toEqual([]);
    } finally {
      await d.cleanup();
    }
  });

  it("marks a pod NOTREADY when a crash left it without its hosts file", async () => {
    const d = await TestDaemon.start();
    try {
      const p = await d.client.runtime.RunPodSandbox({ config: podConfig("hostless") });
      await d.kill();
      // The hosts file and the ready record are written at the same time: a kill can land between them.
      await writeFile(path.join(d.root, "sandbox-files", p.pod_sandbox_id, "hosts"), "");
      await d.start();
      expect((await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: p.pod_sandbox_id })).status!.state).toBe("SANDBOX_NOTREADY");
      expect(await d.logTail(50)).toContain("is missing or empty");
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.pod_sandbox_id });
      expect(await mountsUnder(d.state)).toEqual([]);
    } finally {
      await d.cleanup();
    }
  });

  it("undoes a sandbox whose creation was cut short by a daemon kill -9", async () => {
    // A CNI plugin that is slow to ADD gives the test time to kill the daemon mid-creation.
    const { d } = await daemonWithBridgeWrapper("slow-bridge", () => `#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && sleep 2\nexec /usr/lib/cni/bridge\n`);
    try {
      const config = podConfig("cut-short");
      const pending = d.client.runtime.RunPodSandbox({ config }).catch((e: Error) => e);
      await waitFor("the sandbox to be half-made", async () => ((await mountsUnder(d.state)).length > 0 ? true : undefined));
      await d.kill();
      expect(await pending).toBeInstanceOf(Error);
      await d.start();
      expect((await d.client.runtime.ListPodSandbox({})).items).toEqual([]);
      expect(await mountsUnder(d.state)).toEqual([]);
      // the orphaned plugin finishes its sleep and fails: no address stays taken
      await new Promise((r) => setTimeout(r, 2500));
      const leases = (await readdir(path.join(d.dir, "ipam", "slow-bridge")).catch(() => [] as string[])).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      expect(leases).toEqual([]);
      // the name is free again
      const again = await d.client.runtime.RunPodSandbox({ config });
      expect((await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: again.pod_sandbox_id })).status!.state).toBe("SANDBOX_READY");
    } finally {
      await d.cleanup();
    }
  });

  it("retries once an ADD that hit the bridge plugin's MAC race", async () => {
    // A bridge that fails its first ADD the way bridge 1.1 sometimes does, then is the real one.
    const marker = (bin: string) => path.join(bin, "failed-once");
    const { d, bin } = await daemonWithBridgeWrapper(
      "flaky-bridge",
      (bin) =>
        `#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ] && [ ! -e ${marker(bin)} ]; then touch ${marker(bin)}; echo '{"cniVersion":"1.0.0","code":999,"msg":"failed to set bridge addr: could not set bridge'"'"'s mac: invalid argument"}'; exit 1; fi\nexec /usr/lib/cni/bridge\n`,
    );
    try {
      const { pod_sandbox_id } = await d.client.runtime.RunPodSandbox({ config: podConfig("flaky") });
      expect((await d.client.runtime.PodSandboxStatus({ pod_sandbox_id })).status!.network!.ip).toMatch(/^10\.231\./);
      expect(existsSync(marker(bin))).toBe(true);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id });
    } finally {
      await d.cleanup();
    }
  });

  it("starts a pid: POD pod's infra while CNI ADD runs, and stops it when ADD fails", async () => {
    // A bridge whose ADD looks, for a while, for the infra in the pod's network namespace, then fails.
    const seen = (bin: string) => path.join(bin, "infra-seen");
    const { d, bin } = await daemonWithBridgeWrapper(
      "failing-bridge",
      (bin) => `#!/bin/sh
[ "$CNI_COMMAND" = ADD ] || exec /usr/lib/cni/bridge
ns=$(stat -L -c %i "$CNI_NETNS")
for i in $(seq 50); do
  for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "net:[$ns]" ] && grep -q catatonit $p/cmdline 2>/dev/null && { touch ${seen(bin)}; break 2; }; done
  sleep 0.1
done
echo '{"cniVersion":"1.0.0","code":11,"msg":"injected ADD failure"}'; exit 1
`,
    );
    try {
      const err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("infracni", { linux: { security_context: { namespace_options: { pid: "POD" } } } }) }));
      expect(err.details).toContain("injected ADD failure");
      expect(existsSync(seen(bin))).toBe(true);
      expect((await d.client.runtime.ListPodSandbox({})).items).toEqual([]);
      // The infra the failed ADD ran beside is gone, with its runtime state and the pod's mounts.
      expect(await readdir(path.join(d.state, "runc")).catch(() => [])).toEqual([]);
      expect(await mountsUnder(d.dir)).toEqual([]);
    } finally {
      await d.cleanup();
    }
  });

  it("refuses pods while the network is not ready, naming why", async () => {
    const emptyBin = path.join(await fixtureDir("bin"), "none");
    await mkdir(emptyBin);
    const d = await TestDaemon.start({ config: { cni: { bin_dirs: [emptyBin] } } });
    try {
      const err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("nonet") }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain("cni plugin not initialized");
      // hostNetwork pods do not need the pod network
      await d.client.runtime.RunPodSandbox({ config: podConfig("hostok", { linux: { security_context: { namespace_options: { network: "NODE" } } } }) });
      await removeAllPods(d);
    } finally {
      await d.cleanup();
    }
  });

  it("releases the network and cgroups of a pod whose infra process never started", async () => {
    // A crun whose `run` fails before it makes anything: the teardown then meets a container the runtime never knew.
    const bin = await fixtureDir("bin");
    const wrapper = path.join(bin, "crun");
    await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = run ] && { echo "injected failure" >&2; exit 1; }; done\nexec crun "$@"\n`, { mode: 0o755 });
    const d = await TestDaemon.start({ config: { runtime: { default_handler: "crun", handlers: { crun: { path: wrapper } } } } });
    try {
      const err = await grpcError(d.client.runtime.RunPodSandbox({ config: podConfig("noinfra", { linux: { security_context: { namespace_options: { pid: "POD" } } } }) }));
      expect([err.code, err.details]).toEqual([grpc.status.INTERNAL, expect.stringMatching(/injected failure/)]);
      expect((await d.client.runtime.ListPodSandbox({})).items).toEqual([]);
      const nat = (await run("iptables-save", ["-t", "nat"])).stdout;
      expect(nat.split("\n").filter((l) => l.includes(d.podCidr))).toEqual([]);
      expect(await mountsUnder(d.dir)).toEqual([]);
    } finally {
      await d.cleanup();
    }
  });
});
