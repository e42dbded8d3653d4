// cgroup statistics from the files' text, pure, for cgroup v1 and v2. The
// numbers are what kubelet expects from a CRI runtime (the way cAdvisor
// computes them): the working set is usage minus inactive file cache, and
// "available" is the limit minus the working set when there is a limit.

export interface CgroupFiles {
  version: 1 | 2;
  /** v1 cpuacct.usage (ns); v2 cpu.stat. */
  cpu?: string;
  /** v1 memory.usage_in_bytes; v2 memory.current. */
  memoryUsage?: string;
  /** v1 memory.limit_in_bytes; v2 memory.max. */
  memoryLimit?: string;
  memoryStat?: string;
  /** v1 memory.memsw.usage_in_bytes (memory + swap); v2 memory.swap.current. */
  swapUsage?: string;
  /** v1 memory.memsw.limit_in_bytes; v2 memory.swap.max. */
  swapLimit?: string;
  pidsCurrent?: string;
}

export interface MemorySample {
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  pageFaults: number;
  majorPageFaults: number;
  /** Undefined without a limit. */
  limitBytes?: number;
  availableBytes?: number;
}

export interface CgroupSample {
  cpuUsageNs?: number;
  memory?: MemorySample;
  swap?: { usageBytes: number; availableBytes?: number };
  processes?: number;
}

/** cgroup v1 reports "no limit" as a huge page-aligned number. */
const V1_UNLIMITED = 2 ** 62;

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  return Number(t);
}

function limit(text: string | undefined, version: 1 | 2): number | undefined {
  if (text === undefined || text.trim() === "max") return undefined;
  const n = num(text);
  return n === undefined || (version === 1 && n >= V1_UNLIMITED) ? undefined : n;
}

/** "key value" lines (memory.stat, cpu.stat) into a map. */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

export function parseCgroupSample(f: CgroupFiles): CgroupSample {
  const v2 = f.version === 2;
  const out: CgroupSample = {};
  const cpu = v2 ? parseFlatKeyed(f.cpu).get("usage_usec") : num(f.cpu);
  if (cpu !== undefined) out.cpuUsageNs = v2 ? cpu * 1000 : cpu;

  const usage = num(f.memoryUsage);
  if (usage !== undefined) {
    const stat = parseFlatKeyed(f.memoryStat);
    // v1's total_* keys include child cgroups (a pod cgroup's containers).
    const key = (name: string) => (v2 ? stat.get(name) : (stat.get(`total_${name}`) ?? stat.get(name)));
    const inactiveFile = key("inactive_file") ?? 0;
    const workingSet = Math.max(0, usage - inactiveFile);
    const lim = limit(f.memoryLimit, f.version);
    out.memory = {
      usageBytes: usage,
      workingSetBytes: workingSet,
      rssBytes: (v2 ? stat.get("anon") : key("rss")) ?? 0,
      pageFaults: key("pgfault") ?? 0,
      majorPageFaults: key("pgmajfault") ?? 0,
      ...(lim !== undefined ? { limitBytes: lim, availableBytes: Math.max(0, lim - workingSet) } : {}),
    };
    const swapRaw = num(f.swapUsage);
    if (swapRaw !== undefined) {
      // v1 counts memory + swap together.
      const swapUsage = v2 ? swapRaw : Math.max(0, swapRaw - usage);
      const swapLimitRaw = limit(f.swapLimit, f.version);
      const swapLimit = swapLimitRaw === undefined ? undefined : v2 ? swapLimitRaw : lim === undefined ? undefined : Math.max(0, swapLimitRaw - lim);
      out.swap = { usageBytes: swapUsage, ...(swapLimit !== undefined ? { availableBytes: Math.max(0, swapLimit - swapUsage) } : {}) };
    }
  }
  const pids = num(f.pidsCurrent);
  if (pids !== undefined) out.processes = pids;
  return out;
}
