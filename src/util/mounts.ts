// Mount helpers. Node has no mount(2): the mount/umount tools do the work.

import { readFile } from "node:fs/promises";
import { execCommand, run } from "./exec.js";

export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return new Set(text.split("\n").map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " ")).filter(Boolean));
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
