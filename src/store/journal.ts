// A store's records as one append-only file (journal-format.ts says how a
// line looks). Each write appends the record's new version and fdatasyncs it
// (appendDurable, one pool job); the calls that arrive while one append is
// under way go out together in the next one. No file is made or renamed per
// write: a pod's start writes five records, and replacing a file (temp file,
// fsync, rename, fsync of the directory) cost ~1 ms each, most of it making
// and freeing inodes. Once the file is mostly old versions it is rewritten
// with the live lines only (temp file and rename, as before).

import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, constants as fsc } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { appendDurable } from "../native/index.js";
import { syncDirectory } from "./atomic-file.js";
import { deleteLine, parseJournal, putLine } from "./journal-format.js";

/** The journal's file in a store's directory. */
export const JOURNAL_FILE = "records.journal";

/** Rewritten once it is this big and more than half of it is old versions. */
const COMPACT_AT_BYTES = 4 * 1024 * 1024;

interface Pending {
  id: string;
  line: Buffer;
  removes: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Journal<T extends object> {
  private fd = -1;
  private size = 0;
  /** Where each live record's latest line sits: what a rewrite keeps. */
  private readonly live = new Map<string, { offset: number; length: number }>();
  private liveBytes = 0;
  private queue: Pending[] = [];
  private drained: Promise<void> = Promise.resolve();
  private writing = false;

  private readonly compactAtBytes: number;
  private readonly warn: (message: string) => void;
  private readonly keyOf: (record: T) => string;

  /** `keyOf` gives a record's key (its `id` unless said otherwise); put and delete take that key. */
  constructor(
    readonly file: string,
    opts: { compactAtBytes?: number; warn?: (message: string) => void; keyOf?: (record: T) => string } = {},
  ) {
    this.compactAtBytes = opts.compactAtBytes ?? COMPACT_AT_BYTES;
    this.warn = opts.warn ?? (() => {});
    this.keyOf = opts.keyOf ?? ((r) => (r as unknown as { id: string }).id);
  }

  /**
   * Opens the journal (made if missing) and reads its records. Synchronous:
   * it runs at start-up, before anything else waits on the event loop. A torn
   * tail (a crash during an append that was never acknowledged) is cut off;
   * that, and a line damaged in place, are logged (warn).
   */
  open(): Map<string, T> {
    if (this.fd >= 0) throw new Error(`${this.file} is already open`);
    const existed = existsSync(this.file);
    this.fd = openSync(this.file, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    if (!existed) syncDirectoryNow(path.dirname(this.file));
    const bytes = readFileSync(this.fd);
    const parsed = parseJournal<T>(bytes);
    const records = new Map<string, T>();
    for (const { entry, offset, length } of parsed.entries) {
      if ("put" in entry) {
        const key = this.keyOf(entry.put);
        records.set(key, entry.put);
        this.track(key, offset, length);
      } else {
        records.delete(entry.del);
        this.untrack(entry.del);
      }
    }
    for (const offset of parsed.damaged) this.warn(`${this.file}: the line at byte ${offset} is damaged (checksum or JSON) and was skipped`);
    if (parsed.end < bytes.length) {
      this.warn(`${this.file}: cut off ${bytes.length - parsed.end} bytes of an append that a crash left unfinished`);
      ftruncateSync(this.fd, parsed.end);
      fsyncSync(this.fd);
    }
    this.size = parsed.end;
    return records;
  }

  /** Appends the record's JSON text under its key; resolves once it is on disk. */
  put(id: string, json: string): Promise<void> {
    return this.enqueue(id, putLine(json), false);
  }

  /** Appends the record's removal; resolves once it is on disk. */
  delete(id: string): Promise<void> {
    return this.enqueue(id, deleteLine(id), true);
  }

  /** Waits for the appends under way, then closes the file. */
  async close(): Promise<void> {
    while (this.writing) await this.drained;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private enqueue(id: string, line: Buffer, removes: boolean): Promise<void> {
    if (this.fd < 0) return Promise.reject(new Error(`${this.file} is not open`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, line, removes, resolve, reject });
      if (!this.writing) this.drained = this.drain();
    });
  }

  /** One append at a time, so that only the last one can be torn; what queued meanwhile goes out together. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const data = batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((p) => p.line));
        const offset = this.size;
        try {
          await appendDurable(this.fd, data, offset);
        } catch (err) {
          const e = new Error(`cannot write to ${this.file}: ${(err as Error).message}`, { cause: err });
          for (const p of batch) p.reject(e);
          continue;
        }
        this.size += data.length;
        let at = offset;
        for (const p of batch) {
          if (p.removes) this.untrack(p.id);
          else this.track(p.id, at, p.line.length);
          at += p.line.length;
        }
        for (const p of batch) p.resolve();
        if (this.size >= this.compactAtBytes && this.size > 2 * this.liveBytes) {
          await this.compact().catch((err: Error) => this.warn(`cannot rewrite ${this.file} without its old versions (it keeps growing; tried again later): ${err.message}`));
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Rewrites the file with each live record's latest line, durably: a temp
   * file written and fdatasynced, renamed over the journal, then the
   * directory fsynced. The temp file's descriptor is the journal's from then
   * on. A failure leaves the old file in use, whole.
   */
  async compact(): Promise<void> {
    const old = await readFile(this.file);
    const kept = [...this.live.entries()];
    const data = Buffer.concat(kept.map(([, at]) => old.subarray(at.offset, at.offset + at.length)));
    const temp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.compacting`);
    const fd = openSync(temp, fsc.O_RDWR | fsc.O_CREAT | fsc.O_TRUNC, 0o600);
    try {
      await appendDurable(fd, data, 0);
      await rename(temp, this.file);
    } catch (err) {
      closeSync(fd);
      await rm(temp, { force: true });
      throw err;
    }
    closeSync(this.fd);
    this.fd = fd;
    let offset = 0;
    for (const [id, at] of kept) {
      this.live.set(id, { offset, length: at.length });
      offset += at.length;
    }
    this.size = data.length;
    // Old and new content hold the same records: a rename that a power loss undoes loses nothing.
    await syncDirectory(path.dirname(this.file)).catch((err: Error) => this.warn(`fsync of ${path.dirname(this.file)} after rewriting the journal: ${err.message}`));
  }

  private track(id: string, offset: number, length: number): void {
    this.untrack(id);
    this.live.set(id, { offset, length });
    this.liveBytes += length;
  }

  private untrack(id: string): void {
    const at = this.live.get(id);
    if (!at) return;
    this.liveBytes -= at.length;
    this.live.delete(id);
  }
}

/** syncDirectory, synchronously (start-up). */
function syncDirectoryNow(dir: string): void {
  const fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
