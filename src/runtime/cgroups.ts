// The host's cgroup layout. cgroup v1 (a hierarchy per controller), v2 (one
// unified hierarchy), or hybrid: v1 with some controllers on a cgroup2 mount.
// crun 1.8 refuses hybrid hosts whose cgroup2 holds a controller.

import { readdir, readFile, rmdir } from "node:fs/promises";
import path from "node:path";

export interface CgroupLayout {
  version: 1 | 2;
  /** Controllers held by a cgroup2 mount next to v1 hierarchies (hybrid). */
  hybridV2Controllers: string[];
}

export function parseCgroupLayout(mountinfo: string, unifiedControllers: string): CgroupLayout {
  const types = mountinfo.split("\n").map((l) => {
    const sep = l.indexOf(" - ");
    return { point: l.split(" ")[4] ?? "", fstype: sep < 0 ? "" : l.slice(sep + 3).split(" ")[0] };
  });
  const v2Root = types.some((t) => t.fstype === "cgroup2" && t.point === "/sys/fs/cgroup");
  if (v2Root) return { version: 2, hybridV2Controllers: [] };
  const hybrid = types.some((t) => t.fstype === "cgroup2");
  return { version: 1, hybridV2Controllers: hybrid ? unifiedControllers.split(/\s+/).filter(Boolean) : [] };
}

export async function detectCgroupLayout(): Promise<CgroupLayout> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const unified = await readFile("/sys/fs/cgroup/unified/cgroup.controllers", "utf8").catch(() => "");
  return parseCgroupLayout(mountinfo, unified);
}

/** Why a runtime cannot run here, or undefined when it can. */
export function runtimeUnusableReason(runtimePath: string, layout: CgroupLayout): string | undefined {
  if (!/(^|\/)crun$/.test(runtimePath) || layout.hybridV2Controllers.length === 0) return undefined;
  return `crun refuses this host's hybrid cgroup layout: cgroup v1 is in use but the cgroup2 mount holds ${layout.hybridV2Controllers.join(", ")}; mount ${layout.hybridV2Controllers.join(", ")} as cgroup v1 hierarchies (e.g. mkdir /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb) to free them`;
}

/** The directories of a cgroupfs path in every mounted hierarchy (v1: one per controller). */
export async function cgroupDirs(cgroupPath: string, layout: CgroupLayout): Promise<string[]> {
  const rel = cgroupPath.replace(/^\/+/, "");
  if (layout.version === 2) return [path.join("/sys/fs/cgroup", rel)];
  const out: string[] = [];
  for (const entry of await readdir("/sys/fs/cgroup", { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== "unified") out.push(path.join("/sys/fs/cgroup", entry.name, rel));
  }
  return out;
}

/**
 * Removes a cgroup path that no longer has processes or children; a busy or
 * missing one is left alone. On a hybrid host the runtimes make it in the
 * cgroup2 hierarchy (/sys/fs/cgroup/unified) too, so it goes there as well.
 */
export async function removeCgroupIfEmpty(cgroupPath: string, layout: CgroupLayout): Promise<void> {
  const dirs = await cgroupDirs(cgroupPath, layout);
  if (layout.version === 1) dirs.push(path.join("/sys/fs/cgroup/unified", cgroupPath.replace(/^\/+/, "")));
  for (const dir of dirs) await rmdir(dir).catch(() => {});
}

/**
 * Whether a runtime can make a bind mount read-only in every submount (the OCI
 * option "rro"): runc (1.1+) and crun (1.8+, Debian's versions, checked here)
 * do it with mount_setattr(2), which needs Linux 5.12. Other runtimes: not
 * known, so not offered. Pure.
 */
export function supportsRecursiveReadOnly(runtimePath: string, kernelRelease: string): boolean {
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  return /(^|\/)(runc|crun)$/.test(runtimePath) && (major > 5 || (major === 5 && minor >= 12));
}
