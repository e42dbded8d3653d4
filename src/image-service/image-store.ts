// Image records: <root>/images/<hex>.json, written atomically, held in memory.
// A tag names one image: saving an image with a tag moves the tag off any
// other image.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { loadJsonRecords, removeFile, writeFileAtomic } from "../store/atomic-file.js";
import type { ImageRecord } from "./image-record.js";
import { findImage } from "./image-lookup.js";

export class ImageStore {
  private readonly dir: string;
  private readonly byId = new Map<string, ImageRecord>();

  constructor(root: string) {
    this.dir = path.join(root, "images");
  }

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const record of loadJsonRecords<ImageRecord>(this.dir)) this.byId.set(record.id, record);
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

  private file(id: string): string {
    return path.join(this.dir, `${id.replace(/^sha256:/, "")}.json`);
  }

  /** Overwrites a record as given (e.g. with a tag removed). */
  replace(record: ImageRecord): Promise<void> {
    return this.write(record);
  }

  private async write(record: ImageRecord): Promise<void> {
    await writeFileAtomic(this.file(record.id), JSON.stringify(record));
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
    await removeFile(this.file(id));
    this.byId.delete(id);
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}
