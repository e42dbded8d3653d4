// Test helpers that look at the daemon's image store from outside and mount an
// image's snapshots the way a container rootfs will be mounted.

import { execFileSync } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { storedRecords } from "./records.js";

/** Each recorded snapshot's chain id and its files' directory. */
export async function snapshotDirs(root: string): Promise<Map<string, string>> {
  const dir = path.join(root, "snapshots");
  const recorded = await storedRecords<{ id: number; chainId: string }>(dir, (s) => s.chainId);
  return new Map(recorded.map((s) => [s.chainId, path.join(dir, String(s.id), "fs")]));
}

/** Mounts the overlay of the given chain (bottom layer first) and returns the merged dir and an unmount function. */
export async function mountChain(root: string, chainIds: string[], workDir: string): Promise<{ merged: string; unmount(): void }> {
  const dirs = await snapshotDirs(root);
  const lowers = [...chainIds].reverse().map((c) => {
    const d = dirs.get(c);
    if (!d) throw new Error(`no snapshot for ${c}`);
    return d;
  });
  const upper = path.join(workDir, "upper");
  const work = path.join(workDir, "work");
  const merged = path.join(workDir, "merged");
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  await mkdir(merged, { recursive: true });
  execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`, merged]);
  return { merged, unmount: () => execFileSync("umount", [merged]) };
}

export async function dirEntries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}
