// One durable record per object, held in memory for every read, with
// id-prefix lookup and unique names. Sandboxes and containers each have one.
// On disk the records are one journal (<dir>/records.journal, journal.ts);
// records that earlier versions kept as <dir>/<id>.json files are taken into
// it at load (journal-open.ts).

import path from "node:path";
import { alreadyExists } from "../errors.js";
import { requireId, resolveIdPrefix } from "./ids.js";
import { JOURNAL_FILE, Journal } from "./journal.js";
import { openJournal } from "./journal-open.js";

export interface StoredRecord {
  id: string;
  name: string;
}

export class RecordStore<T extends StoredRecord> {
  private readonly byId = new Map<string, T>();
  private readonly byName = new Map<string, string>();
  /** Writes and removals reach the disk in call order (appends, one after another). */
  private readonly journal: Journal<T>;

  constructor(
    private readonly dir: string,
    private readonly kind: string,
    opts: { warn?: (message: string) => void; compactAtBytes?: number } = {},
  ) {
    this.journal = new Journal<T>(path.join(dir, JOURNAL_FILE), opts);
  }

  /** Reads the records (see openJournal for those earlier versions kept as files). */
  async load(): Promise<void> {
    for (const record of (await openJournal(this.dir, this.journal)).values()) {
      this.byId.set(record.id, record);
      this.byName.set(record.name, record.id);
    }
  }

  /** Waits for the writes under way and closes the journal. */
  close(): Promise<void> {
    return this.journal.close();
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** A full id or unique prefix -> record; undefined when unknown. */
  find(query: string): T | undefined {
    const id = resolveIdPrefix(this.byId.keys(), query, this.kind);
    return id ? this.byId.get(id) : undefined;
  }

  /** Like find, but unknown is NOT_FOUND. */
  require(query: string): T {
    return this.byId.get(requireId(this.byId.keys(), query, this.kind))!;
  }

  /**
   * Reserves the record's name at once, before returning (a taken name throws
   * ALREADY_EXISTS naming the holder, synchronously), then writes the record.
   * The caller may begin work that needs the name while the write goes on.
   */
  create(record: T): Promise<void> {
    const holder = this.byName.get(record.name);
    if (holder) throw alreadyExists(`${this.kind} name "${record.name}" is already used by ${this.kind} ${holder}; remove it first`);
    this.byName.set(record.name, record.id);
    return this.put(record).catch((err: unknown) => {
      if (this.byName.get(record.name) === record.id) this.byName.delete(record.name);
      throw err;
    });
  }

  /** Writes the record (durably) and updates the in-memory copy. */
  async put(record: T): Promise<void> {
    await this.write(record);
    this.remember(record);
  }

  /** Writes the record durably, leaving the in-memory copy alone (see remember). */
  write(record: T): Promise<void> {
    return this.journal.put(record.id, JSON.stringify(record));
  }

  /**
   * Updates only the in-memory copy: for a detail that the disk may lack
   * until the next write because recovery can find it again (a pid, from the
   * runtime). The record must have been written once.
   */
  remember(record: T): void {
    this.byId.set(record.id, record);
  }

  /** Applies `change` to the current record and writes the result. */
  async update(id: string, change: (r: T) => T): Promise<T> {
    const current = this.byId.get(id);
    if (!current) throw new Error(`${this.kind} ${id} vanished during an update`);
    const next = change(current);
    await this.put(next);
    return next;
  }

  async delete(id: string): Promise<void> {
    const r = this.byId.get(id);
    await this.journal.delete(id);
    this.byId.delete(id);
    if (r && this.byName.get(r.name) === id) this.byName.delete(r.name);
  }
}
