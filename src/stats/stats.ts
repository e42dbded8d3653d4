// Container and pod statistics, read straight from cgroup files, the pod's
// /proc/net/dev and the writable layer: no process per container. CPU rates
// need two samples, so a light background pass samples every running
// container and pod's CPU counter every few seconds; the first call then
// already has a rate. Writable-layer walks are cached briefly.

import path from "node:path";
import type { Logger } from "../log.js";
import { readNetDevInNetns } from "../native/index.js";
import type { CgroupLayout } from "../runtime/cgroups.js";
import { containerCgroupPath } from "../runtime/spec/container-spec.js";
import type { ContainerRecord } from "../runtime/types.js";
import type { SandboxRecord } from "../sandbox/types.js";
import { errorMessage } from "../errors.js";
import { readCgroupCpu, readCgroupSample } from "./cgroup-reader.js";
import type { CgroupSample, MemorySample } from "./cgroup-stats.js";
import { CpuRates } from "./cpu-rate.js";
import { diskUsage, type DiskUsage } from "./disk-usage.js";
import { parseNetDev, type InterfaceUsage } from "./net-dev.js";

export interface CpuStats {
  usageCoreNanoSeconds: number;
  /** Undefined until two samples at least a second apart exist. */
  usageNanoCores?: number;
}

export interface ContainerStatsSample {
  container: ContainerRecord;
  /** Nanoseconds since the epoch. */
  timestampNs: number;
  cpu?: CpuStats;
  memory?: MemorySample;
  swap?: CgroupSample["swap"];
  processes?: number;
  writableLayer: DiskUsage & { mountpoint: string };
}

export interface PodStatsSample {
  sandbox: SandboxRecord;
  timestampNs: number;
  cpu?: CpuStats;
  memory?: MemorySample;
  processes?: number;
  network?: { defaultInterface?: InterfaceUsage; interfaces: InterfaceUsage[] };
  containers: ContainerStatsSample[];
}

export interface StatsDeps {
  layout: CgroupLayout;
  /** Where writable layers live: the filesystem identifier kubelet groups them by. */
  containersDir: string;
  containers: () => ContainerRecord[];
  sandboxes: () => SandboxRecord[];
  log: Logger;
}

const BACKGROUND_INTERVAL_MS = 5_000;
const DISK_USAGE_TTL_MS = 2_000;

const nowNs = () => Date.now() * 1e6;

export class Stats {
  private readonly rates = new CpuRates();
  private readonly disk = new Map<string, { at: number; pending?: Promise<DiskUsage>; value?: DiskUsage }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: StatsDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.sampleCpu().catch((err) => this.deps.log.debug({ err: errorMessage(err) }, "background stats sampling failed")), BACKGROUND_INTERVAL_MS);
    this.timer.unref();
    void this.sampleCpu().catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private podCgroup(s: SandboxRecord): string | undefined {
    return s.spec.cgroupParent || undefined;
  }

  /** Keeps CPU baselines fresh so that rates exist when kubelet first asks. */
  private async sampleCpu(): Promise<void> {
    const keys = new Set<string>();
    const pods = new Map(this.deps.sandboxes().map((s) => [s.id, s]));
    for (const c of this.deps.containers()) {
      if (c.state !== "running") continue;
      keys.add(c.id);
      const cpu = await readCgroupCpu(containerCgroupPath(pods.get(c.sandboxId)?.spec.cgroupParent ?? "", c.id), this.deps.layout);
      if (cpu !== undefined) this.rates.observe(c.id, nowNs(), cpu);
    }
    for (const s of pods.values()) {
      const cg = this.podCgroup(s);
      if (s.state !== "ready" || !cg) continue;
      keys.add(`pod:${s.id}`);
      const cpu = await readCgroupCpu(cg, this.deps.layout);
      if (cpu !== undefined) this.rates.observe(`pod:${s.id}`, nowNs(), cpu);
    }
    this.rates.retain(keys);
    for (const id of this.disk.keys()) if (!keys.has(id)) this.disk.delete(id);
  }

  /** The disk use of every container's writable layer (ImageFsInfo's container filesystem). */
  async writableLayers(): Promise<DiskUsage> {
    const layers = await Promise.all(this.deps.containers().map((c) => this.writableLayer(c).catch(() => ({ usedBytes: 0, inodesUsed: 0 }))));
    return layers.reduce((a, b) => ({ usedBytes: a.usedBytes + b.usedBytes, inodesUsed: a.inodesUsed + b.inodesUsed }), { usedBytes: 0, inodesUsed: 0 });
  }

  private async writableLayer(c: ContainerRecord): Promise<DiskUsage> {
    const cached = this.disk.get(c.id);
    if (cached?.pending) return cached.pending;
    if (cached?.value && Date.now() - cached.at < DISK_USAGE_TTL_MS) return cached.value;
    const pending = diskUsage(path.join(c.dir, "upper"));
    this.disk.set(c.id, { at: Date.now(), pending, value: cached?.value });
    try {
      const value = await pending;
      this.disk.set(c.id, { at: Date.now(), value });
      return value;
    } catch (err) {
      this.disk.delete(c.id);
      throw err;
    }
  }

  private cpu(key: string, atNs: number, usage: number | undefined): CpuStats | undefined {
    if (usage === undefined) return undefined;
    const rate = this.rates.observe(key, atNs, usage);
    return { usageCoreNanoSeconds: usage, ...(rate !== undefined ? { usageNanoCores: rate } : {}) };
  }

  async container(c: ContainerRecord, pod: SandboxRecord | undefined): Promise<ContainerStatsSample> {
    const timestampNs = nowNs();
    const [sample, layer] = await Promise.all([
      c.state === "running" || c.state === "created" ? readCgroupSample(containerCgroupPath(pod?.spec.cgroupParent ?? "", c.id), this.deps.layout) : undefined,
      this.writableLayer(c),
    ]);
    return {
      container: c,
      timestampNs,
      cpu: this.cpu(c.id, timestampNs, sample?.cpuUsageNs),
      memory: sample?.memory,
      swap: sample?.swap,
      processes: sample?.processes,
      writableLayer: { mountpoint: this.deps.containersDir, ...layer },
    };
  }

  async pod(s: SandboxRecord, containers: ContainerRecord[]): Promise<PodStatsSample> {
    const timestampNs = nowNs();
    const running = containers.filter((c) => c.state === "running");
    const containerStats = await Promise.all(running.map((c) => this.container(c, s)));
    const cg = this.podCgroup(s);
    const own = cg ? await readCgroupSample(cg, this.deps.layout) : undefined;
    // Without a pod cgroup (no cgroup_parent from kubelet) the pod is the sum of its containers.
    const summed = own ?? sumSamples(containerStats);
    let network: PodStatsSample["network"];
    if (s.namespaces.net) {
      try {
        const interfaces = parseNetDev(readNetDevInNetns(s.namespaces.net));
        network = { interfaces, defaultInterface: interfaces.find((i) => i.name === "eth0") ?? interfaces[0] };
      } catch (err) {
        this.deps.log.debug({ pod_sandbox_id: s.id, err: errorMessage(err) }, "cannot read the pod's network counters");
      }
    }
    return {
      sandbox: s,
      timestampNs,
      cpu: this.cpu(`pod:${s.id}`, timestampNs, summed.cpuUsageNs),
      memory: summed.memory,
      processes: summed.processes,
      network,
      containers: containerStats,
    };
  }
}

function sumSamples(list: ContainerStatsSample[]): CgroupSample {
  if (list.length === 0) return {};
  const add = (f: (c: ContainerStatsSample) => number | undefined) => list.reduce((n, c) => n + (f(c) ?? 0), 0);
  const withMemory = list.filter((c) => c.memory);
  return {
    cpuUsageNs: add((c) => c.cpu?.usageCoreNanoSeconds),
    processes: add((c) => c.processes),
    ...(withMemory.length
      ? {
          memory: {
            usageBytes: add((c) => c.memory?.usageBytes),
            workingSetBytes: add((c) => c.memory?.workingSetBytes),
            rssBytes: add((c) => c.memory?.rssBytes),
            pageFaults: add((c) => c.memory?.pageFaults),
            majorPageFaults: add((c) => c.memory?.majorPageFaults),
          },
        }
      : {}),
  };
}
