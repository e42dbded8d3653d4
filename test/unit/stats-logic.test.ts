import { describe, expect, it } from "vitest";
import { parseCgroupSample } from "../../src/stats/cgroup-stats.js";
import { CpuRates } from "../../src/stats/cpu-rate.js";
import { METRIC_DESCRIPTORS, podMetrics } from "../../src/stats/metrics.js";
import { parseNetDev } from "../../src/stats/net-dev.js";
import type { PodStatsSample } from "../../src/stats/stats.js";

const MiB = 1024 * 1024;

describe("cgroup samples", () => {
  it("reads cgroup v1: hierarchical memory.stat, working set without inactive file, memsw as swap", () => {
    const s = parseCgroupSample({
      version: 1,
      cpu: "123456789\n",
      memoryUsage: `${100 * MiB}\n`,
      memoryLimit: `${256 * MiB}\n`,
      memoryStat: `rss 1\ninactive_file 2\ntotal_rss ${60 * MiB}\ntotal_inactive_file ${30 * MiB}\ntotal_pgfault 500\ntotal_pgmajfault 7\n`,
      swapUsage: `${110 * MiB}\n`,
      swapLimit: `${300 * MiB}\n`,
      pidsCurrent: "3\n",
    });
    expect(s).toEqual({
      cpuUsageNs: 123456789,
      memory: { usageBytes: 100 * MiB, workingSetBytes: 70 * MiB, rssBytes: 60 * MiB, pageFaults: 500, majorPageFaults: 7, limitBytes: 256 * MiB, availableBytes: 186 * MiB },
      swap: { usageBytes: 10 * MiB, availableBytes: 34 * MiB },
      processes: 3,
    });
  });

  it("reads cgroup v2 and treats 'max' and v1's huge value as no limit", () => {
    const s = parseCgroupSample({ version: 2, cpu: "usage_usec 2500\nuser_usec 2000\n", memoryUsage: "4096", memoryLimit: "max\n", memoryStat: "anon 1024\ninactive_file 1024\npgfault 9\npgmajfault 1\n", swapUsage: "0", swapLimit: "max" });
    expect(s).toEqual({ cpuUsageNs: 2_500_000, memory: { usageBytes: 4096, workingSetBytes: 3072, rssBytes: 1024, pageFaults: 9, majorPageFaults: 1 }, swap: { usageBytes: 0 } });
    expect(parseCgroupSample({ version: 1, memoryUsage: "10", memoryLimit: "9223372036854771712" }).memory!.limitBytes).toBeUndefined();
    // The working set never goes below zero when the cache is counted oddly.
    expect(parseCgroupSample({ version: 1, memoryUsage: "10", memoryStat: "total_inactive_file 50" }).memory!.workingSetBytes).toBe(0);
    expect(parseCgroupSample({ version: 1 })).toEqual({});
  });
});

describe("CPU rates", () => {
  it("need two samples a second apart, keep the last rate in between, and restart after a counter reset", () => {
    const r = new CpuRates();
    expect(r.observe("c", 0, 0)).toBeUndefined();
    expect(r.observe("c", 0.5e9, 1e8)).toBeUndefined(); // too soon: no rate yet
    expect(r.observe("c", 2e9, 1e9)).toBe(5e8); // half a core over two seconds
    expect(r.observe("c", 2.1e9, 2e9)).toBe(5e8); // too soon: the last rate
    expect(r.observe("c", 4e9, 5e8)).toBeUndefined(); // went backwards: a new container behind the key
    r.retain(new Set());
    expect(r.observe("c", 5e9, 6e8)).toBeUndefined();
  });
});

describe("/proc/net/dev", () => {
  it("gives bytes and errors per interface, without loopback", () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 2220000    1500    3    0    0     0          0         0  3330000    2000    4    0    0     0       0          0
`;
    expect(parseNetDev(text)).toEqual([{ name: "eth0", rxBytes: 2220000, rxErrors: 3, txBytes: 3330000, txErrors: 4 }]);
  });
});

describe("pod metrics", () => {
  it("label every value to match its descriptor, with network series per interface", () => {
    const sandbox = { id: "pod1", name: "web_ns_uid_0", spec: { metadata: { name: "web", namespace: "ns", uid: "u", attempt: 0 } } };
    const container = { id: "c1", name: "app_web_ns_uid_0", request: { metadata: { name: "app", attempt: 0 }, image: "busybox:1" } };
    const sample = {
      sandbox,
      timestampNs: 5e18,
      network: { interfaces: [{ name: "eth0", rxBytes: 10, rxErrors: 0, txBytes: 20, txErrors: 1 }] },
      containers: [
        { container, timestampNs: 5e18, cpu: { usageCoreNanoSeconds: 3.5e9 }, memory: { usageBytes: 100, workingSetBytes: 80, rssBytes: 50, pageFaults: 1, majorPageFaults: 0 }, writableLayer: { mountpoint: "/x", usedBytes: 4096, inodesUsed: 2 } },
      ],
    } as unknown as PodStatsSample;
    const m = podMetrics(sample);
    const keys = new Map(METRIC_DESCRIPTORS.map((d) => [d.name, d.labelKeys.length]));
    for (const v of [...m.metrics, ...m.containers.flatMap((c) => c.metrics)]) expect(v.labelValues.length, v.name).toBe(keys.get(v.name));
    const c = m.containers[0]!.metrics;
    expect(c.find((v) => v.name === "container_cpu_usage_seconds_total")).toMatchObject({ type: "counter", value: 3, labelValues: ["app", "c1", "busybox:1", "app_web_ns_uid_0", "ns", "web"] });
    expect(c.find((v) => v.name === "container_spec_memory_limit_bytes")!.value).toBe(0);
    expect(c.find((v) => v.name === "container_processes")).toBeUndefined(); // unknown: left out, not zero
    expect(m.metrics.find((v) => v.name === "container_network_transmit_bytes_total")).toMatchObject({ value: 20, labelValues: ["POD", "pod1", "", "web_ns_uid_0", "ns", "web", "eth0"] });
  });
});
