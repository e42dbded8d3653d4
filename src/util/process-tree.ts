// A process and everything it started, found through /proc's children lists.

import { readdir, readFile } from "node:fs/promises";

/** pid's descendants, children before grandchildren; processes that end meanwhile are skipped. */
export async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    const tasks = await readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const t of tasks) {
      const text = await readFile(`/proc/${p}/task/${t}/children`, "utf8").catch(() => "");
      for (const c of text.split(" ")) {
        const child = Number(c);
        if (child > 0 && !found.includes(child)) {
          found.push(child);
          queue.push(child);
        }
      }
    }
  }
  return found;
}

/** SIGKILLs pid and its descendants (the descendants first listed, then killed together with pid). */
export async function killTree(pid: number): Promise<void> {
  const all = [pid, ...(await descendants(pid))];
  for (const p of all) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
