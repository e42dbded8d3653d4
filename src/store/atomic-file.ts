// Durable small-file writes: a reader (or a restart after kill -9) sees either
// the old content or the new, never a torn file. And their removal, and the fsync of a directory.

import { mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { replaceFile } from "../native/index.js";

/**
 * Replaces `file` (its directory made if needed): temp file, fsync, rename,
 * fsync of the directory, in one job on libuv's pool. The directory is made
 * only when it is missing, not before every write (a trip through the pool).
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const write = () => replaceFile(path.dirname(file), path.basename(file), data, { mode, durable: true });
  try {
    await write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(path.dirname(file), { recursive: true });
    await write();
  }
}

/** Removes a file; one already gone is not an error. One trip through the pool (rm takes an lstat first). */
export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw new Error(`cannot remove ${file}: ${err.message}`, { cause: err });
  });
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

/** fsync of a directory: its entries (a new file, a rename, a removal) survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  await handle.sync().finally(() => handle.close());
}
