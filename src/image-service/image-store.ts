// Image records, held in memory; on disk a journal, <root>/images/records.journal
// (earlier versions kept <root>/images/<hex>.json files, which the first load
// takes in). A tag names one image: saving an image with a tag moves the tag
// off any other image.

import path from "node:path";
import { JOURNAL_FILE, Journal } from "../store/journal.js";
import { openJournal } from "../store/journal-open.js";
import type { ImageRecord } from "./image-record.js";
import { findImage } from "./image-lookup.js";

export class ImageStore {
  private readonly dir: string;
  private readonly byId = new Map<string, ImageRecord>();
  private readonly journal: Journal<ImageRecord>;

  constructor(root: string, warn: (message: string) => void = () => {}) {
    this.dir = path.join(root, "images");
    this.journal = new Journal<ImageRecord>(path.join(this.dir, JOURNAL_FILE), { warn });
  }

  async load(): Promise<void> {
    for (const record of (await openJournal(this.dir, this.journal)).values()) this.byId.set(record.id, record);
  }

  all(): ImageRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): ImageRecord | undefined {
    return this.byId.get(id);
  }

  find(query: string): ImageRecord | undefined {
    return findImage(this.all(), query);
  }

  /** Overwrites a record as given (e.g. with a tag removed). */
  replace(record: ImageRecord): Promise<void> {
    return this.write(record);
  }

  private async write(record: ImageRecord): Promise<void> {
    await this.journal.put(record.id, JSON.stringify(record));
    this.byId.set(record.id, record);
  }

  /** Saves `record`, merging names with an existing record of the same id. */
  async save(record: ImageRecord): Promise<ImageRecord> {
    const existing = this.byId.get(record.id);
    const merged: ImageRecord = existing
      ? {
          ...record,
          repoTags: union(existing.repoTags, record.repoTags),
          repoDigests: union(existing.repoDigests, record.repoDigests),
          extraBlobs: union(existing.extraBlobs, record.extraBlobs),
          createdAt: existing.createdAt,
          pinned: existing.pinned || record.pinned,
        }
      : record;
    for (const other of this.byId.values()) {
      if (other.id === record.id) continue;
      const kept = other.repoTags.filter((t) => !record.repoTags.includes(t));
      if (kept.length !== other.repoTags.length) await this.write({ ...other, repoTags: kept });
    }
    await this.write(merged);
    return merged;
  }

  async delete(id: string): Promise<void> {
    await this.journal.delete(id);
    this.byId.delete(id);
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}
