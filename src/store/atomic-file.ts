// Durable small-file writes: a reader (or a restart after kill -9) sees either
// the old content or the new, never a torn file.

import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { replaceFile } from "../native/index.js";

/** Replaces `file` (its directory made if needed): temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await replaceFile(path.dirname(file), path.basename(file), data, { mode, durable: true });
}

/** Reads and parses a JSON file; undefined when it does not exist. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}
