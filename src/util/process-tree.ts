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

/** Resolves once pid no longer exists (or is a zombie), or after timeoutMs. */
export async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (!stat || / Z /.test(stat.slice(stat.lastIndexOf(")")))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
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
