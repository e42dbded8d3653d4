// Every e2e fixture lives under one run directory made by global-setup, so the
// teardown can find anything a test leaked (processes, mounts) by its path.

import { chmod, mkdtemp, mkdir } from "node:fs/promises";
import path from "node:path";

declare module "vitest" {
  export interface ProvidedContext {
    runDir: string;
  }
}

/**
 * A fresh directory for one fixture. Short names: unix socket paths are limited to 107 bytes.
 * Outside vitest (the hack/lab scripts) SKIFF_LAB_DIR names the run directory.
 */
export async function fixtureDir(prefix: string): Promise<string> {
  // vitest is loaded only under vitest: importing it elsewhere throws.
  const runDir = process.env.SKIFF_LAB_DIR ?? (await import("vitest")).inject("runDir");
  await mkdir(runDir, { recursive: true });
  const dir = await mkdtemp(path.join(runDir, `${prefix}-`));
  // Searchable by others, as /var/lib is: a pod's root in a user namespace is another user on the host.
  await chmod(dir, 0o711);
  return dir;
}
