// One daemon per state directory: two daemons sharing records, mounts and
// runtime state would corrupt each other. A pid file names the owner; a file
// left by a dead daemon (kill -9) is taken over.

import { readFile, writeFile, unlink } from "node:fs/promises";
import path from "node:path";

function isLiveSkiff(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/cmdline`, "utf8").then(
    (cmdline) => cmdline.includes("skiff") || cmdline.includes("main.js"),
    () => false,
  );
}

export async function acquireDaemonLock(stateDir: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(stateDir, "skiff.pid");
  const existing = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
  if (Number.isInteger(existing) && existing > 0 && existing !== process.pid && (await isLiveSkiff(existing))) {
    throw new Error(`another skiff daemon (pid ${existing}) is using the state directory ${stateDir}`);
  }
  await writeFile(file, `${process.pid}\n`);
  return {
    async release() {
      const owner = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
      if (owner === process.pid) await unlink(file).catch(() => {});
    },
  };
}
