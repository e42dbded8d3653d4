// The image service as the rest of skiff sees it: pull, list, status, remove,
// usage, and garbage collection of blobs and snapshots no image or container
// uses any more.

import type { Config } from "../config/config.js";
import type { Logger } from "../log.js";
import { Limit } from "../util/limit.js";
import { SingleFlight } from "../util/single-flight.js";
import { ContentStore } from "./content-store.js";
import type { ImageRecord } from "./image-record.js";
import { ImageStore } from "./image-store.js";
import { importArchive } from "./importer.js";
import { pullImage, type PullerDeps } from "./puller.js";
import { formatReference, parseReference, tagReference } from "./reference.js";
import type { Credentials } from "./registry/auth.js";
import { SnapshotStore } from "./snapshots.js";
import { UnpackPool } from "./unpack/pool.js";

export interface FsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
}

export class Images {
  readonly content: ContentStore;
  readonly snapshots: SnapshotStore;
  readonly store: ImageStore;
  private readonly unpack: UnpackPool;
  private readonly leases = new Map<string, number>();
  private readonly pulls = new SingleFlight<ImageRecord>();
  private readonly downloads: Limit;
  /** Chain IDs that containers stack on; set by the container service. */
  private snapshotUsers: () => Iterable<string> = () => [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.content = new ContentStore(config.root);
    this.snapshots = new SnapshotStore(config.root);
    this.store = new ImageStore(config.root);
    this.unpack = new UnpackPool(config.image.unpackWorkers);
    this.downloads = new Limit(config.image.maxConcurrentDownloads);
  }

  async init(): Promise<void> {
    await this.content.init();
    await this.snapshots.load();
    await this.store.load();
  }

  setSnapshotUsers(fn: () => Iterable<string>): void {
    this.snapshotUsers = fn;
  }

  list(): ImageRecord[] {
    return this.store.all();
  }

  find(query: string): ImageRecord | undefined {
    return this.store.find(query);
  }

  /** Loads a docker save / OCI layout archive from this machine into the store. */
  async importArchive(file: string): Promise<ImageRecord[]> {
    const imported = await importArchive(
      { content: this.content, snapshots: this.snapshots, unpack: this.unpack, lease: (keys) => this.lease(keys) },
      file,
    );
    const records: ImageRecord[] = [];
    for (const image of imported) records.push(await this.store.save({ ...image, pinned: false, createdAt: Date.now() }));
    this.log.info({ file, images: records.map((r) => r.id) }, "images imported");
    return records;
  }

  pull(refText: string, credentials: Credentials | undefined, signal?: AbortSignal): Promise<ImageRecord> {
    // Concurrent pulls of one reference share one pull (credentials are the same kubelet's).
    const key = formatReference(parseReference(refText));
    return this.pulls.run(key, async () => {
      const t0 = Date.now();
      const deps: PullerDeps = {
        content: this.content,
        snapshots: this.snapshots,
        unpack: this.unpack,
        registries: this.config.registries,
        clientOptions: {
          requestTimeoutMs: this.config.image.requestTimeoutSeconds * 1000,
          stallTimeoutMs: this.config.image.stallTimeoutSeconds * 1000,
          maxAttempts: 4,
        },
        downloads: this.downloads,
        log: this.log,
        lease: (keys) => this.lease(keys),
      };
      const pulled = await pullImage(deps, refText, credentials, signal);
      const record = await this.store.save({ ...pulled, pinned: false, createdAt: Date.now() });
      this.log.info({ image: key, id: record.id, ms: Date.now() - t0, layers: record.layers.length }, "image pulled");
      return record;
    });
  }

  /**
   * Removes by id or digest: the whole image. By tag: only that tag when the
   * image has others, else the whole image. Unknown images are not an error.
   */
  async remove(query: string): Promise<void> {
    const image = this.store.find(query);
    if (!image) return;
    let tag: string | undefined;
    try {
      const ref = parseReference(query);
      if (!ref.digest) tag = tagReference(ref);
    } catch {
      /* an id or id prefix */
    }
    if (tag && image.repoTags.includes(tag) && image.repoTags.length > 1) {
      await this.store.replace({ ...image, repoTags: image.repoTags.filter((t) => t !== tag) });
      return;
    }
    await this.store.delete(image.id);
    await this.collectGarbage();
  }

  private lease(keys: string[]): () => void {
    for (const k of keys) this.leases.set(k, (this.leases.get(k) ?? 0) + 1);
    return () => {
      for (const k of keys) {
        const n = (this.leases.get(k) ?? 1) - 1;
        if (n <= 0) this.leases.delete(k);
        else this.leases.set(k, n);
      }
    };
  }

  /** Deletes snapshots and blobs that no image, container or pull in progress uses. */
  async collectGarbage(): Promise<{ snapshots: number; blobs: number }> {
    const keepChains = new Set<string>(this.snapshotUsers());
    const keepBlobs = new Set<string>();
    for (const image of this.store.all()) {
      keepBlobs.add(image.manifestDigest).add(image.configDigest);
      for (const b of image.extraBlobs) keepBlobs.add(b);
      for (const l of image.layers) {
        keepBlobs.add(l.digest);
        keepChains.add(l.chainId);
      }
    }
    // A kept snapshot keeps its whole chain.
    for (const chain of [...keepChains]) for (const s of this.snapshots.stack(chain)) keepChains.add(s.chainId);
    let snapshots = 0;
    let blobs = 0;
    // Children before parents, so a crash half-way never leaves a child without its parent.
    const doomed = this.snapshots.all().filter((s) => !keepChains.has(s.chainId) && !this.leases.has(s.chainId)).sort((a, b) => b.id - a.id);
    for (const s of doomed) {
      await this.snapshots.remove(s.chainId);
      snapshots++;
    }
    for (const digest of await this.content.list()) {
      if (keepBlobs.has(digest) || this.leases.has(digest)) continue;
      await this.content.delete(digest);
      blobs++;
    }
    if (snapshots || blobs) this.log.info({ snapshots, blobs }, "garbage collected");
    return { snapshots, blobs };
  }

  /** Usage of the image store (snapshots and blobs). */
  async usage(): Promise<FsUsage> {
    let usedBytes = 0;
    let inodesUsed = 0;
    for (const s of this.snapshots.all()) {
      usedBytes += s.usedBytes;
      inodesUsed += s.inodes;
    }
    for (const digest of await this.content.list()) {
      usedBytes += (await this.content.size(digest)) ?? 0;
      inodesUsed++;
    }
    return { mountpoint: this.snapshots.dir, usedBytes, inodesUsed };
  }

  close(): Promise<void> {
    return this.unpack.close();
  }
}
