// Temporary directories for one test file: each test's are removed after it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";

/** Registers the cleanup; returns a maker of fresh, empty directories named skiff-<prefix>-*. */
export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(path.join(tmpdir(), `skiff-${prefix}-`));
    dirs.push(d);
    return d;
  };
}
