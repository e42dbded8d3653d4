// Reads one cgroup's statistics files (no process is started: kubelet lists
// stats of every container every few seconds). A cgroup's files are read in
// one job of the native addon, not one fs.promises readFile each (see
// native/read_files.c).

import path from "node:path";
import { readSmallFiles } from "../native/index.js";
import type { CgroupLayout } from "../runtime/cgroups.js";
import { parseCgroupSample, type CgroupFiles, type CgroupSample } from "./cgroup-stats.js";

const V2_FILES = ["cpu.stat", "memory.current", "memory.max", "memory.stat", "memory.swap.current", "memory.swap.max", "pids.current"];

export async function readCgroupFiles(cgroupPath: string, layout: CgroupLayout): Promise<CgroupFiles | undefined> {
  const rel = cgroupPath.replace(/^\/+/, "");
  if (layout.version === 2) {
    const dir = path.join("/sys/fs/cgroup", rel);
    const [cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent] = await readSmallFiles(V2_FILES.map((f) => path.join(dir, f)));
    if (cpu === undefined && memoryUsage === undefined) return undefined;
    return { version: 2, cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent };
  }
  const mem = path.join("/sys/fs/cgroup/memory", rel);
  const [cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent] = await readSmallFiles([
    path.join("/sys/fs/cgroup/cpuacct", rel, "cpuacct.usage"),
    path.join(mem, "memory.usage_in_bytes"),
    path.join(mem, "memory.limit_in_bytes"),
    path.join(mem, "memory.stat"),
    path.join(mem, "memory.memsw.usage_in_bytes"),
    path.join(mem, "memory.memsw.limit_in_bytes"),
    path.join("/sys/fs/cgroup/pids", rel, "pids.current"),
  ]);
  if (cpu === undefined && memoryUsage === undefined) return undefined;
  return { version: 1, cpu, memoryUsage, memoryLimit, memoryStat, swapUsage, swapLimit, pidsCurrent };
}

/** Undefined when the cgroup does not exist (the container is not running, say). */
export async function readCgroupSample(cgroupPath: string, layout: CgroupLayout): Promise<CgroupSample | undefined> {
  const files = await readCgroupFiles(cgroupPath, layout);
  return files && parseCgroupSample(files);
}

/** Only the cumulative CPU time (ns), for the background pass that keeps rate baselines: one file per cgroup. */
export async function readCgroupCpu(cgroupPath: string, layout: CgroupLayout): Promise<number | undefined> {
  const rel = cgroupPath.replace(/^\/+/, "");
  const [cpu] = await readSmallFiles([layout.version === 2 ? path.join("/sys/fs/cgroup", rel, "cpu.stat") : path.join("/sys/fs/cgroup/cpuacct", rel, "cpuacct.usage")]);
  return cpu === undefined ? undefined : parseCgroupSample({ version: layout.version, cpu }).cpuUsageNs;
}
