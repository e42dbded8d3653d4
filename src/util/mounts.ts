// Mount helpers: /proc/self/mountinfo, and the mount/umount tools for tmpfs
// and unmounting (overlay rootfs mounts go through the native addon).

import { readFile } from "node:fs/promises";
import { execCommand, run } from "./exec.js";

export async function mountPoints(): Promise<Set<string>> {
  return new Set((await readMountInfo()).map((e) => e.mountPoint));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).has(path);
}

export function mountTmpfs(target: string, options: string): Promise<string> {
  return run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", target]);
}

/** Unmounts every mount stacked on `target`; not being mounted is fine. */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    if (!(await isMountPoint(target))) return;
    const r = await execCommand("umount", [target]);
    if (r.code !== 0) {
      // busy (a process still inside): detach it so the path can be removed
      const lazy = await execCommand("umount", ["-l", target]);
      if (lazy.code !== 0) throw new Error(`cannot unmount ${target}: ${(lazy.stderr || r.stderr).trim()}`);
    }
  }
}

export interface MountInfoEntry {
  mountPoint: string;
  /** The optional fields: "shared:N", "master:N", "propagate_from:N", "unbindable". */
  optional: string[];
}

/** /proc/self/mountinfo lines, pure. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    if (fields.length < 7 || sep < 6) continue;
    out.push({ mountPoint: fields[4]!.replace(/\\040/g, " "), optional: fields.slice(6, sep) });
  }
  return out;
}

/** The mount a path lives on: the longest mount point that contains it (the last one mounted wins). Pure. */
export function mountOf(entries: MountInfoEntry[], path: string): MountInfoEntry | undefined {
  let best: MountInfoEntry | undefined;
  for (const e of entries) {
    const inside = e.mountPoint === "/" || path === e.mountPoint || path.startsWith(`${e.mountPoint}/`);
    if (inside && (!best || e.mountPoint.length >= best.mountPoint.length)) best = e;
  }
  return best;
}

export async function readMountInfo(): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
}
