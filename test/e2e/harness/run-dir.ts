// Every e2e fixture lives under one run directory made by global-setup, so the
// teardown can find anything a test leaked (processes, mounts) by its path.

import { mkdtemp, mkdir } from "node:fs/promises";
import path from "node:path";
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    runDir: string;
  }
}

/** A fresh directory for one fixture. Short names: unix socket paths are limited to 107 bytes. */
export async function fixtureDir(prefix: string): Promise<string> {
  const runDir = inject("runDir");
  await mkdir(runDir, { recursive: true });
  return mkdtemp(path.join(runDir, `${prefix}-`));
}
