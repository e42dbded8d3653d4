// Mount helpers: /proc/self/mountinfo, a tmpfs, and unmounting everything
// stacked on a path (mount(2)/umount2(2) through the native addon: no
// mount(8) process, no mountinfo scan per unmount).

import { readFile } from "node:fs/promises";
import { MNT, MS, mount, unmount } from "../native/index.js";

export async function mountPoints(): Promise<Set<string>> {
  return new Set((await readMountInfo()).map((e) => e.mountPoint));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).has(path);
}

/** A nosuid,nodev,noexec tmpfs on target (a pod's /dev/shm), its root owned by `owner` (default root). */
export function mountTmpfs(target: string, opts: { mode: number; sizeBytes: number; owner?: { uid: number; gid: number } }): Promise<void> {
  const owner = opts.owner ? `,uid=${opts.owner.uid},gid=${opts.owner.gid}` : "";
  return mount("tmpfs", target, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, `mode=${opts.mode.toString(8)},size=${opts.sizeBytes}${owner}`).catch((err: Error) => {
    throw new Error(`cannot mount a tmpfs: ${err.message}`, { cause: err });
  });
}

const MAX_STACKED = 8;

/**
 * Unmounts every mount stacked on `target` (symlinks not followed); not being
 * mounted, or not existing, is fine. A busy mount (a process still inside) is
 * detached so that the path can be removed.
 */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < MAX_STACKED; i++) {
    try {
      await unmount(target, MNT.NOFOLLOW);
      continue;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EINVAL" || code === "ENOENT") return; // nothing (more) mounted there
      if (code !== "EBUSY") throw new Error(`cannot ${(err as Error).message}`, { cause: err }); // "cannot unmount <target>: <why>"
    }
    await unmount(target, MNT.NOFOLLOW | MNT.DETACH).catch((err: Error) => {
      throw new Error(`cannot detach a busy mount: ${err.message}`, { cause: err });
    });
  }
  throw new Error(`cannot unmount ${target}: still mounted after ${MAX_STACKED} unmounts`);
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
