// One durable record per object (<dir>/<id>.json, written atomically), held in
// memory for every read, with id-prefix lookup and unique names. Sandboxes and
// containers each have one.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { alreadyExists } from "../errors.js";
import { replaceFile } from "../native/index.js";
import { loadJsonRecords, removeFile } from "./atomic-file.js";
import { requireId, resolveIdPrefix } from "./ids.js";

export interface StoredRecord {
  id: string;
  name: string;
}

export class RecordStore<T extends StoredRecord> {
  private readonly byId = new Map<string, T>();
  private readonly byName = new Map<string, string>();
  /** The last write or removal under way per id: the next one waits for it, so the disk sees them in call order. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly kind: string,
  ) {}

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const record of loadJsonRecords<T>(this.dir)) {
      this.byId.set(record.id, record);
      this.byName.set(record.name, record.id);
    }
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
    const json = JSON.stringify(record);
    return this.inOrder(record.id, () => replaceFile(this.dir, `${record.id}.json`, json, { mode: 0o600, durable: true }));
  }

  /**
   * Updates only the in-memory copy: for a detail that the disk may lack
   * until the next write because recovery can find it again (a pid, from the
   * runtime). The record must have been written once.
   */
  remember(record: T): void {
    this.byId.set(record.id, record);
  }

  private async inOrder(id: string, op: () => Promise<void>): Promise<void> {
    const done = (this.pending.get(id) ?? Promise.resolve()).catch(() => {}).then(op);
    this.pending.set(id, done);
    try {
      await done;
    } finally {
      if (this.pending.get(id) === done) this.pending.delete(id);
    }
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
    await this.inOrder(id, () => removeFile(path.join(this.dir, `${id}.json`)));
    this.byId.delete(id);
    if (r && this.byName.get(r.name) === id) this.byName.delete(r.name);
  }
}
