import { podCgroupWrites, withOverhead } from "../../src/sandbox/pod-resources.js";
import { describe, expect, it } from "vitest";
import { toSandboxSpec } from "../../src/cri/mappers/sandbox.js";
import type { PodSandboxConfig__Output } from "../../src/cri/generated/runtime/v1/PodSandboxConfig.js";
import { SkiffError } from "../../src/errors.js";
import { parseCgroupLayout, runtimeUnusableReason } from "../../src/runtime/cgroups.js";
import { infraSpec } from "../../src/runtime/spec/infra-spec.js";
import { ipsOfResult } from "../../src/sandbox/cni/result.js";
import { filterSandboxes } from "../../src/sandbox/filter.js";
import { hostsFile, resolvConf } from "../../src/sandbox/pod-files.js";
import { planSysctls, sysctlPath } from "../../src/sandbox/sysctls.js";
import type { SandboxRecord } from "../../src/sandbox/types.js";
import { resolveIdPrefix } from "../../src/store/ids.js";

function kind(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    return `${(err as SkiffError).kind}: ${(err as Error).message}`;
  }
}

describe("sysctls", () => {
  it("splits namespaced sysctls by namespace", () => {
    expect(planSysctls({ "net.ipv4.ip_forward": "1", "kernel.shmmax": "1024", "fs.mqueue.msg_max": "20", "net/core/somaxconn": "512" }, { hostNetwork: false, hostIpc: false })).toEqual({
      net: [["net.ipv4.ip_forward", "1"], ["net.core.somaxconn", "512"]],
      ipc: [["kernel.shmmax", "1024"], ["fs.mqueue.msg_max", "20"]],
    });
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
  });
  it.each([
    [{ "kernel.pid_max": "1" }, {}, /not namespaced/],
    [{ "net.ipv4.ip_forward": "1" }, { hostNetwork: true }, /host network/],
    [{ "kernel.shmmax": "1" }, { hostIpc: true }, /host IPC/],
    [{ "../../etc": "1" }, {}, /not a valid sysctl name/],
    [{ "net.ipv4.x": "1\n2" }, {}, /invalid value/],
  ])("refuses %j", (sysctls, opts, message) => {
    const out = kind(() => planSysctls(sysctls, { hostNetwork: false, hostIpc: false, ...opts }));
    expect(out).toMatch(/^invalid-argument/);
    expect(out).toMatch(message);
  });
});

describe("pod files", () => {
  it("writes hosts with the pod IPs under its hostname", () => {
    const h = hostsFile("web-0", ["10.1.2.3", "fd00::3"]);
    expect(h.startsWith("127.0.0.1\tlocalhost\n")).toBe(true);
    expect(h).toContain("10.1.2.3\tweb-0\nfd00::3\tweb-0\n");
  });
  it("writes resolv.conf from the pod's DNS config, or copies the host's", () => {
    expect(resolvConf({ servers: ["10.96.0.10"], searches: ["ns.svc.cluster.local", "svc.cluster.local"], options: ["ndots:5"] }, "host")).toBe(
      "nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n",
    );
    expect(resolvConf(undefined, "nameserver 1.1.1.1\n")).toBe("nameserver 1.1.1.1\n");
    expect(resolvConf({ servers: [], searches: [], options: [] }, "host\n")).toBe("host\n");
  });
});

describe("CNI results", () => {
  it("reads 1.0 and 0.2 results, IPv4 first", () => {
    expect(ipsOfResult({ cniVersion: "1.0.0", ips: [{ address: "fd00::5/64" }, { address: "10.0.0.5/24" }] })).toEqual(["10.0.0.5", "fd00::5"]);
    expect(ipsOfResult({ cniVersion: "0.2.0", ip4: { ip: "10.0.0.6/24" } })).toEqual(["10.0.0.6"]);
    expect(ipsOfResult(null)).toEqual([]);
  });
});

describe("RunPodSandbox config", () => {
  const base = (over: Partial<PodSandboxConfig__Output> = {}): PodSandboxConfig__Output =>
    ({ metadata: { name: "p", namespace: "ns", uid: "u", attempt: 1 }, hostname: "", log_directory: "/var/log/pods/x", dns_config: null, port_mappings: [], labels: {}, annotations: {}, linux: null, windows: null, ...over }) as PodSandboxConfig__Output;

  it("converts to a spec, keeping only mappings with a host port and defaulting namespaces as proto3 does", () => {
    const spec = toSandboxSpec(
      base({ port_mappings: [{ protocol: "UDP", container_port: 53, host_port: 5353, host_ip: "" }, { protocol: "TCP", container_port: 80, host_port: 0, host_ip: "" }] }),
      "crun",
    );
    expect(spec.portMappings).toEqual([{ protocol: "udp", containerPort: 53, hostPort: 5353, hostIp: "" }]);
    expect(spec.namespaces).toEqual({ network: "POD", pid: "POD", ipc: "POD", targetId: "" });
    expect(spec.runtimeHandler).toBe("crun");
    expect(spec.shmSize).toBe(64 * 1024 * 1024);
  });
  it.each([
    [{ metadata: null }, /metadata.name, metadata.namespace, metadata.uid are required/],
    [{ metadata: { name: "p", namespace: "", uid: "u", attempt: 0 } }, /metadata.namespace is required/],
    [{ hostname: "bad_host!" }, /not a valid host name/],
    [{ port_mappings: [{ protocol: "TCP", container_port: 0, host_port: 1, host_ip: "" }] }, /container_port 0 is out of range/],
    [{ linux: { security_context: { namespace_options: { network: "CONTAINER", pid: "POD", ipc: "POD", target_id: "", userns_options: null } } } }, /network namespace mode CONTAINER/],
  ])("refuses %j", (over, message) => {
    const out = kind(() => toSandboxSpec(base(over as Partial<PodSandboxConfig__Output>), ""));
    expect(out).toMatch(/^invalid-argument/);
    expect(out).toMatch(message);
  });
});

describe("sandbox list filter", () => {
  const rec = (id: string, state: SandboxRecord["state"], labels: Record<string, string>) => ({ id, state, spec: { labels } }) as unknown as SandboxRecord;
  const all = [rec("aaa1", "ready", { app: "x" }), rec("aab2", "notready", { app: "x", t: "1" }), rec("bbb3", "creating", {})];
  it("filters by id prefix, state and labels, and hides sandboxes still being created", () => {
    expect(filterSandboxes(all, {}).map((r) => r.id)).toEqual(["aaa1", "aab2"]);
    expect(filterSandboxes(all, { id: "aa" }).map((r) => r.id)).toEqual(["aaa1", "aab2"]);
    expect(filterSandboxes(all, { state: "notready" }).map((r) => r.id)).toEqual(["aab2"]);
    expect(filterSandboxes(all, { labels: { t: "1" } }).map((r) => r.id)).toEqual(["aab2"]);
  });
});

describe("ids", () => {
  it("resolves unique prefixes and refuses ambiguous ones", () => {
    const ids = ["abc1", "abd2"];
    expect(resolveIdPrefix(ids, "abc", "sandbox")).toBe("abc1");
    expect(resolveIdPrefix(ids, "zz", "sandbox")).toBeUndefined();
    expect(resolveIdPrefix(ids, "not-hex", "sandbox")).toBeUndefined();
    expect(() => resolveIdPrefix(ids, "ab", "sandbox")).toThrow(/ambiguous/);
  });
});

describe("cgroup layout", () => {
  const line = (point: string, fstype: string) => `30 1 0:26 / ${point} rw,relatime shared:5 - ${fstype} cgroup rw`;
  it("recognises v2, v1 and hybrid hosts, and refuses crun only on hybrid ones", () => {
    expect(parseCgroupLayout(line("/sys/fs/cgroup", "cgroup2"), "")).toEqual({ version: 2, hybridV2Controllers: [] });
    const hybrid = parseCgroupLayout([line("/sys/fs/cgroup/memory", "cgroup"), line("/sys/fs/cgroup/unified", "cgroup2")].join("\n"), "hugetlb\n");
    expect(hybrid).toEqual({ version: 1, hybridV2Controllers: ["hugetlb"] });
    expect(runtimeUnusableReason("/usr/bin/crun", hybrid)).toMatch(/holds hugetlb/);
    expect(runtimeUnusableReason("runc", hybrid)).toBeUndefined();
    expect(runtimeUnusableReason("crun", parseCgroupLayout(line("/sys/fs/cgroup/unified", "cgroup2"), ""))).toBeUndefined();
  });
});

describe("infra spec", () => {
  it("runs catatonit -P with no capabilities in a new PID namespace, joining the pod's others", () => {
    const spec = infraSpec({ rootfs: "/r", namespaces: { net: "/ns/net", uts: "/ns/uts" }, cgroupsPath: "/kubepods/pod1/sandbox-x" }) as {
      process: { args: string[]; capabilities: { bounding: string[] }; noNewPrivileges: boolean };
      root: { readonly: boolean };
      linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string };
    };
    expect(spec.process.args).toEqual(["/catatonit", "-P"]);
    expect(spec.process.capabilities.bounding).toEqual([]);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.root.readonly).toBe(true);
    expect(spec.linux.namespaces).toEqual([{ type: "pid" }, { type: "mount" }, { type: "network", path: "/ns/net" }, { type: "uts", path: "/ns/uts" }]);
    expect(spec.linux.cgroupsPath).toBe("/kubepods/pod1/sandbox-x");
  });
});

describe("pod resize (pod-resources.ts)", () => {
  it("adds the overhead to the pod's limits, a quota only with the same period", () => {
    expect(withOverhead({ memoryLimit: 100, cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000 }, { memoryLimit: 10, cpuShares: 8, cpuQuota: 5_000 })).toEqual({
      memoryLimit: 110,
      cpuShares: 520,
      cpuQuota: 55_000,
      cpuPeriod: 100_000,
    });
    expect(withOverhead({ cpuQuota: 50_000, cpuPeriod: 50_000 }, { cpuQuota: 5_000, cpuPeriod: 100_000 }).cpuQuota).toBe(50_000);
    // unset stays unset: an overhead alone is no limit
    expect(withOverhead({}, { memoryLimit: 10 })).toEqual({});
  });

  it("writes the period before the quota on cgroup v1, and v2's files from the same limits", () => {
    const r = { cpuShares: 1024, cpuPeriod: 100_000, cpuQuota: 50_000, memoryLimit: 1 << 28, cpusetCpus: "0" };
    expect(podCgroupWrites(r, 1)).toEqual([
      ["cpuset", "cpuset.cpus", "0"],
      ["cpu", "cpu.shares", "1024"],
      ["cpu", "cpu.cfs_period_us", "100000"],
      ["cpu", "cpu.cfs_quota_us", "50000"],
      ["memory", "memory.limit_in_bytes", String(1 << 28)],
    ]);
    expect(podCgroupWrites(r, 2)).toEqual([
      ["", "cpuset.cpus", "0"],
      ["", "cpu.weight", "39"],
      ["", "cpu.max", "50000 100000"],
      ["", "memory.max", String(1 << 28)],
    ]);
    expect(podCgroupWrites({ cpuPeriod: 100_000 }, 2)).toEqual([["", "cpu.max", "max 100000"]]);
  });
});
