// In-place pod resize (UpdatePodSandboxResources, kubelet 1.33+): the pod's
// new overall limits, written to its own cgroup (the request's cgroup_parent).
// kubelet has usually written them already; the runtime's write makes sure the
// pod cgroup holds them when it has not, and a restart keeps them in the record.

import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { CgroupLayout } from "../runtime/cgroups.js";
import type { ContainerRequest } from "../runtime/types.js";

/** The limits of a resize that a pod cgroup holds (unset ones are left as they are): a container's, minus what only a container has. */
export type PodResources = Pick<ContainerRequest["resources"], "cpuPeriod" | "cpuQuota" | "cpuShares" | "memoryLimit" | "cpusetCpus" | "cpusetMems">;

/**
 * The pod's limits: its resources plus the runtime class's overhead, as kubelet
 * sizes a pod cgroup (a quota is added only when both use the same period). Pure.
 */
export function withOverhead(resources: PodResources, overhead: PodResources): PodResources {
  const add = (a?: number, b?: number) => (a && b ? a + b : a);
  const samePeriod = (resources.cpuPeriod ?? 100_000) === (overhead.cpuPeriod ?? 100_000);
  const out: PodResources = {
    cpuPeriod: resources.cpuPeriod,
    cpuQuota: samePeriod ? add(resources.cpuQuota, overhead.cpuQuota) : resources.cpuQuota,
    cpuShares: add(resources.cpuShares, overhead.cpuShares),
    memoryLimit: add(resources.memoryLimit, overhead.memoryLimit),
    cpusetCpus: resources.cpusetCpus,
    cpusetMems: resources.cpusetMems,
  };
  // Only what is set: the record keeps the limits of the resize, nothing else.
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as PodResources;
}

/** [controller (v1 hierarchy), file, value] for each limit set, in an order the kernel accepts. Pure. */
export function podCgroupWrites(r: PodResources, version: 1 | 2): [string, string, string][] {
  const out: [string, string, string][] = [];
  if (version === 1) {
    if (r.cpusetCpus) out.push(["cpuset", "cpuset.cpus", r.cpusetCpus]);
    if (r.cpusetMems) out.push(["cpuset", "cpuset.mems", r.cpusetMems]);
    if (r.cpuShares) out.push(["cpu", "cpu.shares", String(r.cpuShares)]);
    // A period first: a quota is checked against the period in force.
    if (r.cpuPeriod) out.push(["cpu", "cpu.cfs_period_us", String(r.cpuPeriod)]);
    if (r.cpuQuota) out.push(["cpu", "cpu.cfs_quota_us", String(r.cpuQuota)]);
    if (r.memoryLimit) out.push(["memory", "memory.limit_in_bytes", String(r.memoryLimit)]);
    return out;
  }
  if (r.cpusetCpus) out.push(["", "cpuset.cpus", r.cpusetCpus]);
  if (r.cpusetMems) out.push(["", "cpuset.mems", r.cpusetMems]);
  // cgroup v2's weight from v1 shares, as runc and the kubelet convert them.
  if (r.cpuShares) out.push(["", "cpu.weight", String(1 + Math.floor(((Math.min(Math.max(r.cpuShares, 2), 262_144) - 2) * 9999) / 262_142))]);
  if (r.cpuQuota || r.cpuPeriod) out.push(["", "cpu.max", `${r.cpuQuota && r.cpuQuota > 0 ? r.cpuQuota : "max"} ${r.cpuPeriod ?? 100_000}`]);
  if (r.memoryLimit) out.push(["", "memory.max", String(r.memoryLimit)]);
  return out;
}

/** Writes the limits into the pod cgroup `cgroupPath` (every v1 hierarchy it has, or its v2 directory). */
export async function applyPodResources(cgroupPath: string, resources: PodResources, layout: CgroupLayout): Promise<void> {
  const rel = cgroupPath.replace(/^\/+/, "");
  for (const [controller, file, value] of podCgroupWrites(resources, layout.version)) {
    // v1: /sys/fs/cgroup/<controller> (a link where controllers share a hierarchy, e.g. cpu -> cpu,cpuacct)
    const dir = path.join("/sys/fs/cgroup", controller, rel);
    await writeFile(path.join(dir, file), value).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot set ${file} of the pod cgroup ${cgroupPath} to ${value}: ${err.code === "ENOENT" ? "the cgroup does not exist" : err.message}`, { cause: err });
    });
  }
}
