// Container and pod stats, and the metrics RPCs, through the CRI socket with
// real containers: CPU rate against a CPU quota, a working set of a known size,
// writable-layer usage, network counters after real traffic to the pod.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rmdir, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { grpc, grpcError } from "./harness/cri-client.js";
import { removeAllPods } from "./harness/pods.js";
import { waitFor } from "./harness/processes.js";
import { fixtureDir } from "./harness/run-dir.js";

const MiB = 1024 * 1024;
const n = (v: { value: string } | null | undefined) => Number(v?.value ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("container and pod stats", () => {
  const f = useContainerDaemon();

  it("reports usage_nano_cores close to a busy container's CPU quota", async () => {
    const pod = await startPod(f.d, "cpu");
    const id = await runContainer(
      f.d,
      pod,
      containerConfig("burn", f.image, { command: ["sh", "-c", "while :; do :; done"], linux: { resources: { cpu_period: 100_000, cpu_quota: 50_000 } } }),
    );
    const first = (await f.d.client.runtime.ContainerStats({ container_id: id })).stats!;
    expect(first.attributes).toMatchObject({ id, metadata: { name: "burn" } });
    await sleep(3000);
    const s = (await f.d.client.runtime.ContainerStats({ container_id: id })).stats!;
    const cores = n(s.cpu!.usage_nano_cores);
    expect(cores).toBeGreaterThan(0.5e9 * 0.8);
    expect(cores).toBeLessThan(0.5e9 * 1.2);
    expect(n(s.cpu!.usage_core_nano_seconds)).toBeGreaterThan(n(first.cpu!.usage_core_nano_seconds));
  });

  it("reports a 50 MiB working set, and writable-layer bytes, with filters on the list", async () => {
    const pod = await startPod(f.d, "mem", { labels: { team: "stats" } });
    const hog = await runContainer(
      f.d,
      pod,
      containerConfig("hog", f.image, {
        command: ["sh", "-c", "head -c 52428800 /dev/zero > /dev/shm/fill && head -c 10485760 /dev/urandom > /layer.bin && touch /ready && exec sleep 3600"],
        labels: { role: "hog" },
        linux: { resources: { memory_limit_in_bytes: String(256 * MiB) } },
      }),
    );
    const idle = await runContainer(f.d, pod, containerConfig("idle", f.image, { command: ["sleep", "3600"], labels: { role: "idle" } }));
    await waitFor("the hog to fill its memory and layer", async () => ((await f.d.client.runtime.ExecSync({ container_id: hog, cmd: ["test", "-e", "/ready"], timeout: 5 })).exit_code === 0 ? true : undefined), 30_000);
    const s = (await f.d.client.runtime.ContainerStats({ container_id: hog })).stats!;
    const ws = n(s.memory!.working_set_bytes);
    expect(ws).toBeGreaterThanOrEqual(50 * MiB);
    expect(ws).toBeLessThanOrEqual(70 * MiB);
    expect(n(s.memory!.usage_bytes)).toBeGreaterThanOrEqual(ws);
    expect(n(s.memory!.available_bytes)).toBe(256 * MiB - ws);
    const layer = s.writable_layer!;
    expect(n(layer.used_bytes)).toBeGreaterThanOrEqual(10 * MiB);
    expect(n(layer.used_bytes)).toBeLessThan(12 * MiB);
    expect(n(layer.inodes_used)).toBeGreaterThanOrEqual(2);
    expect(layer.fs_id?.mountpoint).toMatch(/\/containers$/);
    const idleStats = (await f.d.client.runtime.ContainerStats({ container_id: idle })).stats!;
    expect(n(idleStats.writable_layer!.used_bytes)).toBeLessThan(MiB);

    const byLabel = await f.d.client.runtime.ListContainerStats({ filter: { label_selector: { role: "hog" } } });
    expect(byLabel.stats.map((x) => x.attributes!.id)).toEqual([hog]);
    const byPod = await f.d.client.runtime.ListContainerStats({ filter: { pod_sandbox_id: pod.id.slice(0, 12) } });
    expect(byPod.stats.map((x) => x.attributes!.id).sort()).toEqual([hog, idle].sort());
    const byId = await f.d.client.runtime.ListContainerStats({ filter: { id: idle.slice(0, 10) } });
    expect(byId.stats.map((x) => x.attributes!.id)).toEqual([idle]);
  });

  it("reports pod network bytes after traffic to the pod IP, processes and container stats; filters by label", async () => {
    const pod = await startPod(f.d, "net", { labels: { app: "web" } });
    const other = await startPod(f.d, "quiet", { labels: { app: "other" } });
    const web = await runContainer(
      f.d,
      pod,
      containerConfig("web", f.image, { command: ["sh", "-c", "mkdir -p /www && head -c 2097152 /dev/urandom > /www/blob && exec httpd -f -p 8080 -h /www"] }),
    );
    const ip = (await f.d.client.runtime.PodSandboxStatus({ pod_sandbox_id: pod.id })).status!.network!.ip;
    const size = await waitFor("the pod's web server", () => fetchSize(`http://${ip}:8080/blob`).catch(() => undefined), 15_000);
    expect(size).toBe(2 * MiB);

    const s = (await f.d.client.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })).stats!;
    expect(s.attributes).toMatchObject({ id: pod.id, labels: { app: "web" } });
    const eth0 = s.linux!.network!.default_interface!;
    expect(eth0.name).toBe("eth0");
    expect(n(eth0.tx_bytes)).toBeGreaterThan(2 * MiB);
    expect(n(eth0.rx_bytes)).toBeGreaterThan(0);
    expect(s.linux!.network!.interfaces.map((i) => i.name)).not.toContain("lo");
    expect(n(s.linux!.process!.process_count)).toBeGreaterThanOrEqual(1);
    expect(s.linux!.containers.map((c) => c.attributes!.id)).toEqual([web]);
    expect(n(s.linux!.memory!.working_set_bytes)).toBeGreaterThan(0);

    const list = await f.d.client.runtime.ListPodSandboxStats({ filter: { label_selector: { app: "web" } } });
    expect(list.stats.map((x) => x.attributes!.id)).toEqual([pod.id]);
    const all = await f.d.client.runtime.ListPodSandboxStats({});
    expect(all.stats.map((x) => x.attributes!.id).sort()).toEqual([pod.id, other.id].sort());

    // Metrics: every value has as many labels as its descriptor has keys.
    const { descriptors } = await f.d.client.runtime.ListMetricDescriptors({});
    const keys = new Map(descriptors.map((d) => [d.name, d.label_keys.length]));
    expect([...keys.keys()]).toEqual(expect.arrayContaining(["container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_network_receive_bytes_total"]));
    const { pod_metrics } = await f.d.client.runtime.ListPodSandboxMetrics({});
    const mine = pod_metrics.find((p) => p.pod_sandbox_id === pod.id)!;
    const tx = mine.metrics.find((m) => m.name === "container_network_transmit_bytes_total" && m.label_values.at(-1) === "eth0")!;
    expect(n(tx.value)).toBeGreaterThan(2 * MiB);
    expect(tx.metric_type).toBe("COUNTER");
    const cm = mine.container_metrics.find((c) => c.container_id === web)!;
    const wsm = cm.metrics.find((m) => m.name === "container_memory_working_set_bytes")!;
    expect(wsm).toMatchObject({ metric_type: "GAUGE", label_values: ["web", web, f.image, expect.stringContaining("web_net_e2e_"), "e2e", "net"] });
    for (const m of [...mine.metrics, ...cm.metrics]) expect(m.label_values.length, m.name).toBe(keys.get(m.name));
  });
});

describe("pod stats from the pod's cgroup", () => {
  const f = useContainerDaemon();

  it("reads a pod with linux.cgroup_parent from that cgroup, which also holds what is not a container", async () => {
    const parent = `/skiff-e2e-podstats${process.pid}`;
    const pod = await startPod(f.d, "cgpod", { linux: { cgroup_parent: parent } });
    const idle = await runContainer(f.d, pod, containerConfig("idle", f.image, { command: ["sleep", "3600"] }));
    // A process of the pod's cgroup that no container owns (as kubelet may put
    // there): it joins first, then fills 40 MiB, so the pages are charged there.
    const holder = spawn("python3", ["-c", "import sys,time\nsys.stdin.readline()\nb=b'x'*(40<<20)\nprint('ready',flush=True)\ntime.sleep(120)"], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const unified = existsSync("/sys/fs/cgroup/cgroup.controllers");
      for (const c of unified ? [""] : ["/memory", "/cpu", "/cpuacct", "/cpu,cpuacct", "/pids"]) {
        await writeFile(`/sys/fs/cgroup${c}${parent}/cgroup.procs`, String(holder.pid)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "ENOENT") throw e; // controllers co-mounted differently on other hosts
        });
      }
      const ready = new Promise((r) => holder.stdout!.once("data", r));
      holder.stdin!.write("go\n");
      await ready;

      const s = (await f.d.client.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })).stats!;
      const container = s.linux!.containers.find((c) => c.attributes!.id === idle)!;
      expect(n(container.memory!.working_set_bytes)).toBeLessThan(10 * MiB);
      // The sum of the containers would be under 10 MiB and one process.
      expect(n(s.linux!.memory!.working_set_bytes)).toBeGreaterThan(40 * MiB);
      expect(n(s.linux!.process!.process_count)).toBeGreaterThanOrEqual(2);
      expect(n(s.linux!.cpu!.usage_core_nano_seconds)).toBeGreaterThan(n(container.cpu!.usage_core_nano_seconds));
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
      await f.d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
      // The pod cgroup is kubelet's to remove; this test made it, so it removes it.
      await rmdir(`/sys/fs/cgroup${parent}`).catch(() => {});
      for (const c of await readdir("/sys/fs/cgroup")) await rmdir(`/sys/fs/cgroup/${c}${parent}`).catch(() => {});
    }
  });
});

describe("in-place pod resize (UpdatePodSandboxResources)", () => {
  const f = useContainerDaemon();

  it("writes the pod's new limits plus overhead to its cgroup, shows them in its stats, and lets containers be updated too", async () => {
    const parent = `/skiff-e2e-resize${process.pid}`;
    const pod = await startPod(f.d, "resize", { linux: { cgroup_parent: parent } });
    try {
      // runc makes the pod cgroup with the first container (kubelet makes it before the pod).
      const id = await runContainer(f.d, pod, containerConfig("app", f.image, { command: ["sleep", "3600"] }));
      await f.d.client.runtime.UpdatePodSandboxResources({
        pod_sandbox_id: pod.id,
        resources: { memory_limit_in_bytes: String(256 * MiB), cpu_period: "100000", cpu_quota: "50000", cpu_shares: "512" },
        overhead: { memory_limit_in_bytes: String(16 * MiB), cpu_quota: "10000", cpu_shares: "8" },
      });
      const unified = existsSync("/sys/fs/cgroup/cgroup.controllers");
      const read = (file: string) => readFile(`/sys/fs/cgroup${unified ? "" : `/${file.split(".")[0]}`}${parent}/${file}`, "utf8").then((s) => s.trim());
      if (unified) {
        expect(await read("memory.max")).toBe(String(272 * MiB));
        expect(await read("cpu.max")).toBe("60000 100000");
      } else {
        expect(await read("memory.limit_in_bytes")).toBe(String(272 * MiB));
        expect(await read("cpu.cfs_quota_us")).toBe("60000");
        expect(await read("cpu.shares")).toBe("520");
      }
      // The pod's stats measure against the new limit.
      const mem = (await f.d.client.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })).stats!.linux!.memory!;
      expect(n(mem.available_bytes)).toBe(272 * MiB - n(mem.working_set_bytes));
      // Kept in the record, shown in the verbose status.
      const info = JSON.parse((await f.d.client.runtime.PodSandboxStatus({ pod_sandbox_id: pod.id, verbose: true })).info.info!);
      expect(info.resources).toMatchObject({ memoryLimit: 272 * MiB, cpuQuota: 60000, cpuShares: 520, cpuPeriod: 100000 });
      // A container of the pod is resized within it.
      await f.d.client.runtime.UpdateContainerResources({ container_id: id, linux: { memory_limit_in_bytes: String(128 * MiB) } });
      expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status!.resources!.linux!.memory_limit_in_bytes).toBe(String(128 * MiB));

      const code = async (req: object) => (await grpcError(f.d.client.runtime.UpdatePodSandboxResources(req as never))).code;
      expect(await code({ pod_sandbox_id: "f".repeat(64), resources: {} })).toBe(grpc.status.NOT_FOUND);
      expect(await code({ pod_sandbox_id: pod.id })).toBe(grpc.status.INVALID_ARGUMENT);
      const plain = await startPod(f.d, "resize-plain");
      expect(await code({ pod_sandbox_id: plain.id, resources: { memory_limit_in_bytes: String(64 * MiB) } })).toBe(grpc.status.FAILED_PRECONDITION);
      await f.d.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id });
      expect(await code({ pod_sandbox_id: pod.id, resources: { memory_limit_in_bytes: String(64 * MiB) } })).toBe(grpc.status.FAILED_PRECONDITION);
    } finally {
      await removeAllPods(f.d);
      await rmdir(`/sys/fs/cgroup${parent}`).catch(() => {});
      for (const c of await readdir("/sys/fs/cgroup")) await rmdir(`/sys/fs/cgroup/${c}${parent}`).catch(() => {});
    }
  });
});

describe("split image filesystem (KEP-4191)", () => {
  let split = "";
  // Registered before the daemon's hooks, so that it runs after them (after-hooks run in reverse).
  afterAll(() => {
    if (split) spawnSync("umount", ["-l", split]);
  });
  const f = useContainerDaemon({}, {}, async () => {
    split = await fixtureDir("containerfs");
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256m", "tmpfs", split]);
    if (r.status !== 0) throw new Error(`cannot mount a tmpfs for container_root: ${r.stderr}`);
    return { container_root: split };
  });

  it("puts writable layers under container_root and reports that filesystem apart in ImageFsInfo", async () => {
    const before = await f.d.client.image.ImageFsInfo({});
    expect(before.image_filesystems[0]!.fs_id!.mountpoint).toBe(path.join(f.d.root, "snapshots"));
    expect(before.container_filesystems.map((c) => c.fs_id!.mountpoint)).toEqual([split]);
    const pod = await startPod(f.d, "splitfs");
    const id = await runContainer(f.d, pod, containerConfig("writer", f.image, { command: ["sh", "-c", "dd if=/dev/zero of=/big bs=1M count=8 && sleep 3600"] }));
    await waitFor("the 8 MiB file in the writable layer", async () => ((await stat(path.join(split, id, "upper", "big")).catch(() => undefined))?.size === 8 * MiB ? true : undefined), 10_000);
    const after = await f.d.client.image.ImageFsInfo({});
    expect(n(after.container_filesystems[0]!.used_bytes)).toBeGreaterThanOrEqual(8 * MiB);
    expect(n(after.container_filesystems[0]!.inodes_used)).toBeGreaterThan(0);
    // The image filesystem is not charged for it.
    expect(n(after.image_filesystems[0]!.used_bytes)).toBe(n(before.image_filesystems[0]!.used_bytes));
    await removeAllPods(f.d);
    await waitFor("the container's directory on container_root to go", async () => ((await readdir(split)).length === 0 ? true : undefined), 5000);
  });
});

function fetchSize(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let size = 0;
        res.on("data", (d: Buffer) => (size += d.length));
        res.on("end", () => (res.statusCode === 200 ? resolve(size) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}
