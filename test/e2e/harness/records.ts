// A daemon's record stores (<root>/sandboxes, <root>/containers/records,
// <root>/images, <root>/snapshots) as a test sees them: read from the
// journal's file, or changed through the store itself while the daemon is
// stopped (the way a crash would have left them).

import { readFile } from "node:fs/promises";
import path from "node:path";
import { JOURNAL_FILE } from "../../../src/store/journal.js";
import { parseJournal } from "../../../src/store/journal-format.js";
import { RecordStore, type StoredRecord } from "../../../src/store/record-store.js";

/** The records the store at `dir` holds on disk (a running daemon's too), by `keyOf` (a snapshot's is its chainId). */
export async function storedRecords<T extends object>(dir: string, keyOf: (r: T) => string = (r) => (r as { id?: string }).id!): Promise<T[]> {
  const bytes = await readFile(path.join(dir, JOURNAL_FILE)).catch(() => Buffer.alloc(0));
  const records = new Map<string, T>();
  for (const { entry } of parseJournal<T>(bytes).entries) {
    if ("put" in entry) records.set(keyOf(entry.put), entry.put);
    else records.delete(entry.del);
  }
  return [...records.values()];
}

/** Changes the records of a stopped daemon's store at `dir`. */
export async function editRecords<T extends StoredRecord>(dir: string, edit: (store: RecordStore<T>) => Promise<void>): Promise<void> {
  const store = new RecordStore<T>(dir, "record");
  await store.load();
  try {
    await edit(store);
  } finally {
    await store.close();
  }
}
