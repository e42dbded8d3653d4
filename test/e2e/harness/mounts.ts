// What is mounted where, read from /proc/self/mountinfo, to check that tests
// and the daemon leave no mounts behind.

import { readFile } from "node:fs/promises";

/** Mount points at or below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
