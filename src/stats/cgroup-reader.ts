// Reads one cgroup's statistics files (no process is started: kubelet lists
// stats of every container every few seconds). A cgroup's files are read in
// one job of the native addon, not one fs.promises readFile each (see
// native/read_files.c).

import path from "node:path";
import { readSmallFiles } from "../native/index.js";
import type { CgroupLayout } from "../runtime/cgroups.js";
import { parseCgroupSample, type CgroupFiles, type CgroupSample } from "./cgroup-stats.js";

/** The CPU file: v2 cpu.stat, v1 cpuacct.usage. */
function cpuFile(rel: string, layout: CgroupLayout): string {
  return layout.version === 2 ? path.join("/sys/fs/cgroup", rel, "cpu.stat") : path.join("/sys/fs/cgroup/cpuacct", rel, "cpuacct.usage");
}

/** A sample's files in CgroupFiles' order: cpu, memory usage, limit and stat, swap usage and limit, pids. */
function sampleFiles(rel: string, layout: CgroupLayout): string[] {
  if (layout.version === 2) {
    return [cpuFile(rel, layout), ...["memory.current", "memory.max", "memory.stat", "memory.swap.current", "memory.swap.max", "pids.current"].map((f) => path.join("/sys/fs/cgroup", rel, f))];
  }
  const memory = (f: string) => path.join("/sys/fs/cgroup/memory", rel, f);
  return [
    cpuFile(rel, layout),
    ...["memory.usage_in_bytes", "memory.limit_in_bytes", "memory.stat", "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes"].map(memory),
    path.join("/sys/fs/cgroup/pids", rel, "pids.current"),
  ];
}

const relative = (cgroupPath: string) => cgroupPath.replace(/^\/+/, "");

export async function readCgroupFiles(cgroupPath: string, layout: CgroupLayout): Promise<CgroupFiles | undefined> {
  const [cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent] = await readSmallFiles(sampleFiles(relative(cgroupPath), layout));
  if (cpu === undefined && memoryUsage === undefined) return undefined;
  return { version: layout.version, cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent };
}

/** Undefined when the cgroup does not exist (the container is not running, say). */
export async function readCgroupSample(cgroupPath: string, layout: CgroupLayout): Promise<CgroupSample | undefined> {
  const files = await readCgroupFiles(cgroupPath, layout);
  return files && parseCgroupSample(files);
}

/** Only the cumulative CPU time (ns), for the background pass that keeps rate baselines: one file per cgroup. */
export async function readCgroupCpu(cgroupPath: string, layout: CgroupLayout): Promise<number | undefined> {
  const [cpu] = await readSmallFiles([cpuFile(relative(cgroupPath), layout)]);
  return cpu === undefined ? undefined : parseCgroupSample({ version: layout.version, cpu }).cpuUsageNs;
}
