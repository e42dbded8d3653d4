// The disk use of a directory tree (a container's writable layer): allocated
// bytes and inodes, hardlinks counted once, symlinks not followed, and the
// walk staying on one filesystem.

import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

export interface DiskUsage {
  usedBytes: number;
  inodesUsed: number;
}

export async function diskUsage(root: string): Promise<DiskUsage> {
  const seen = new Set<number>();
  let usedBytes = 0;
  let inodesUsed = 0;
  const top = await lstat(root, { bigint: false }).catch(() => undefined);
  if (!top) return { usedBytes: 0, inodesUsed: 0 };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      const st = await lstat(p).catch(() => undefined);
      if (!st || st.dev !== top.dev) continue;
      if (st.nlink > 1 && !st.isDirectory()) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      usedBytes += st.blocks * 512;
      inodesUsed++;
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return { usedBytes, inodesUsed };
}
