// Resident memory of processes, read from /proc (kB -> bytes).

import { readdir, readFile } from "node:fs/promises";

export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Summed RSS of every process whose command line matches `test`. */
export async function rssOfMatching(test: (cmdline: string) => boolean): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
    if (!cmd || !test(cmd)) continue;
    count++;
    bytes += await rssOf(Number(entry));
  }
  return { count, bytes };
}
