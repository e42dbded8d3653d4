// Opening a store's journal (journal.ts) where earlier versions of skiff kept
// one file per record (<dir>/<name>.json, written by temp file and rename).
// Such files are taken into the journal, and once that is on disk they go. A
// crash in between leaves both, with the same content, and the next start
// does it again: nothing else is written before this returns. The files win
// over the journal's lines for the same id, as they can only be newer.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { syncDirectory } from "./atomic-file.js";
import type { Journal } from "./journal.js";

/** The records in `dir`'s journal and record files; temp files of interrupted writes (".name…") are removed. */
export async function openJournal<T extends { id: string }>(dir: string, journal: Journal<T>): Promise<Map<string, T>> {
  await mkdir(dir, { recursive: true });
  const records = journal.open();
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) rmSync(path.join(dir, name), { force: true });
    else if (name.endsWith(".json")) files.push(name);
  }
  if (!files.length) return records;
  const taken: T[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    try {
      taken.push(JSON.parse(readFileSync(file, "utf8")) as T);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  await Promise.all(taken.map((r) => journal.put(r.id, JSON.stringify(r))));
  for (const r of taken) records.set(r.id, r);
  for (const name of files) rmSync(path.join(dir, name), { force: true });
  await syncDirectory(dir);
  return records;
}
