// Which cgroup.procs file the daemon writes to start a cgroup attach early.

import { describe, expect, it } from "vitest";
import { ownCgroupProcsFile } from "../../src/runtime/attach-primer.js";

const line = (id: number, root: string, point: string, fstype: string, superOpts: string) =>
  `${id} 24 0:${id} ${root} ${point} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fstype} ${fstype === "cgroup2" ? "cgroup2" : "cgroup"} ${superOpts}`;

const hybridMounts = [
  "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  line(30, "/", "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
  line(31, "/", "/sys/fs/cgroup/pids", "cgroup", "rw,pids"),
  line(32, "/", "/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd"),
  line(33, "/", "/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
].join("\n");

describe("ownCgroupProcsFile", () => {
  it("prefers the unified hierarchy of a hybrid host", () => {
    const cgroup = "3:pids:/skiff.service\n2:cpu,cpuacct:/skiff.service\n1:name=systemd:/system.slice/skiff.service\n0::/system.slice/skiff.service\n";
    expect(ownCgroupProcsFile(cgroup, hybridMounts)).toBe("/sys/fs/cgroup/unified/system.slice/skiff.service/cgroup.procs");
  });

  it("uses a v1 hierarchy, comounted controllers included, when no cgroup2 is mounted", () => {
    const mounts = hybridMounts.split("\n").filter((l) => !l.includes("cgroup2")).join("\n");
    expect(ownCgroupProcsFile("2:cpu,cpuacct:/a\n3:pids:/b\n", mounts)).toBe("/sys/fs/cgroup/pids/b/cgroup.procs");
    expect(ownCgroupProcsFile("2:cpu,cpuacct:/a\n", mounts)).toBe("/sys/fs/cgroup/cpu,cpuacct/a/cgroup.procs");
    expect(ownCgroupProcsFile("1:name=systemd:/c\n", mounts)).toBe("/sys/fs/cgroup/systemd/c/cgroup.procs");
  });

  it("reads paths relative to the mount's root, and skips a cgroup the mount cannot show", () => {
    const mounts = line(40, "/kubepods/pod1", "/sys/fs/cgroup", "cgroup2", "rw");
    expect(ownCgroupProcsFile("0::/kubepods/pod1/skiff\n", mounts)).toBe("/sys/fs/cgroup/skiff/cgroup.procs");
    expect(ownCgroupProcsFile("0::/elsewhere\n", mounts)).toBeUndefined();
    expect(ownCgroupProcsFile("0::/\n", line(41, "/", "/sys/fs/cgroup", "cgroup2", "rw"))).toBe("/sys/fs/cgroup/cgroup.procs");
  });

  it("finds nothing to do without cgroup mounts, or when a mount favours dynamic changes", () => {
    expect(ownCgroupProcsFile("0::/x\n", "22 1 254:0 / / rw - ext4 /dev/vda rw")).toBeUndefined();
    expect(ownCgroupProcsFile("0::/x\n", line(42, "/", "/sys/fs/cgroup", "cgroup2", "rw,nsdelegate,favordynmods"))).toBeUndefined();
  });

  it("unescapes mount points with spaces", () => {
    expect(ownCgroupProcsFile("0::/\n", line(43, "/", "/mnt/cg\\040two", "cgroup2", "rw"))).toBe("/mnt/cg two/cgroup.procs");
  });
});
