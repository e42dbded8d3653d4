// The image service as the rest of skiff sees it: pull, list, status, remove,
// usage, and garbage collection of blobs and snapshots no image or container
// uses any more.

import path from "node:path";
import type { Config } from "../config/config.js";
import type { Logger } from "../log.js";
import { Trash } from "../store/trash.js";
import { Limit } from "../util/limit.js";
import { SingleFlight } from "../util/single-flight.js";
import { stepTimer } from "../util/step-timer.js";
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
  private readonly trash: Trash;
  private readonly leases = new Map<string, number>();
  private readonly pulls = new SingleFlight<ImageRecord>();
  private readonly downloads: Limit;
  /** Chain IDs that containers stack on; set by the container service. */
  private snapshotUsers: () => Iterable<string> = () => [];
  /** The collections under way (collectSoon), and whether one more is due. */
  private collecting: Promise<void> | undefined;
  private collectAgain = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.trash = new Trash(path.join(config.root, "trash"), log);
    this.content = new ContentStore(config.root);
    this.snapshots = new SnapshotStore(config.root, this.trash, (m) => log.warn(m));
    this.store = new ImageStore(config.root, (m) => log.warn(m));
    this.unpack = new UnpackPool(config.image.maxConcurrentUnpacks);
    this.downloads = new Limit(config.image.maxConcurrentDownloads);
  }

  async init(): Promise<void> {
    await this.trash.init();
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
    const records = await this.holdingLeases(async (lease) => {
      const imported = await importArchive({ content: this.content, snapshots: this.snapshots, unpack: this.unpack, lease }, file);
      const saved: ImageRecord[] = [];
      for (const image of imported) saved.push(await this.store.save({ ...image, pinned: false, createdAt: Date.now() }));
      return saved;
    });
    this.log.info({ file, images: records.map((r) => r.id) }, "images imported");
    return records;
  }

  pull(refText: string, credentials: Credentials | undefined, signal?: AbortSignal): Promise<ImageRecord> {
    // Concurrent pulls of one reference share one pull (credentials are the same kubelet's).
    const key = formatReference(parseReference(refText));
    return this.pulls.run(key, () =>
      this.holdingLeases(async (lease) => {
        const { step, steps } = stepTimer();
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
          lease,
          step,
          hasLayers: (digests) => this.store.all().some((image) => digests.every((d, i) => image.layers[i]?.digest === d)),
        };
        const pulled = await pullImage(deps, refText, credentials, signal);
        const record = await this.store.save({ ...pulled, pinned: false, createdAt: Date.now() });
        step("record");
        this.log.info({ image: key, id: record.id, layers: record.layers.length, steps }, "image pulled");
        return record;
      }),
    );
  }

  /**
   * Runs a pull or an import with leases that last until it has saved its
   * records, not only until its blobs and snapshots are in place: in between,
   * nothing else would keep them from a collection.
   */
  private async holdingLeases<T>(work: (lease: (keys: string[]) => () => void) => Promise<T>): Promise<T> {
    const taken: (() => void)[] = [];
    try {
      return await work((keys) => {
        taken.push(this.lease(keys));
        return () => undefined;
      });
    } finally {
      for (const release of taken) release();
    }
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
    // The call is answered once the record is gone, durably; the snapshots and blobs go right
    // after, off its path, as a removed container's files do. What a crash keeps of them
    // the next start collects. Not awaited: it never rejects.
    void this.collectSoon();
  }

  /**
   * Collects garbage now, or, when a collection is under way, once more after
   * it: the removals of a burst (kubelet's image garbage collection) share
   * collections. Resolves once a collection that started after this call has
   * ended; never rejects (a failure is logged, and the next collection retries).
   */
  collectSoon(): Promise<void> {
    this.collectAgain = true;
    this.collecting ??= this.collectWhileAsked();
    return this.collecting;
  }

  private async collectWhileAsked(): Promise<void> {
    try {
      // The first collection's choice of snapshots (synchronous) is made before collectSoon returns.
      while (this.collectAgain) {
        this.collectAgain = false;
        await this.collectGarbage().catch((err: Error) => this.log.error({ err: err.message }, "garbage collection failed; the next one retries"));
      }
    } finally {
      // In the same turn as the last check: a request after it starts a new run.
      this.collecting = undefined;
    }
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
  private async collectGarbage(): Promise<{ snapshots: number; blobs: number }> {
    // Snapshots are chosen and forgotten at once, before anything is awaited:
    // a pull that starts after this cannot find (and count on) one being
    // removed. Their directories go to the trash in parallel; a crash that
    // leaves a child without its parent is mended by the next start.
    const keepChains = new Set<string>(this.snapshotUsers());
    for (const image of this.store.all()) for (const l of image.layers) keepChains.add(l.chainId);
    // A kept snapshot keeps its whole chain.
    for (const chain of [...keepChains]) for (const s of this.snapshots.stack(chain)) keepChains.add(s.chainId);
    const doomed = this.snapshots.all().filter((s) => !keepChains.has(s.chainId) && !this.leases.has(s.chainId));
    const snapshotsRemoved = Promise.all(doomed.map((s) => this.snapshots.remove(s.chainId)));
    snapshotsRemoved.catch(() => undefined); // awaited below
    // Blobs likewise once the listing is in: what to keep is read then, not
    // before (a pull may have saved its record and let go of its lease meanwhile).
    const listed = await this.content.list();
    const keepBlobs = new Set<string>();
    for (const image of this.store.all()) {
      keepBlobs.add(image.manifestDigest).add(image.configDigest);
      for (const b of image.extraBlobs) keepBlobs.add(b);
      for (const l of image.layers) keepBlobs.add(l.digest);
    }
    const doomedBlobs = listed.filter((digest) => !keepBlobs.has(digest) && !this.leases.has(digest));
    await Promise.all([snapshotsRemoved, ...doomedBlobs.map((digest) => this.content.delete(digest))]);
    const counts = { snapshots: doomed.length, blobs: doomedBlobs.length };
    if (counts.snapshots || counts.blobs) this.log.info(counts, "garbage collected");
    return counts;
  }

  /** Usage of the image store (snapshots and blobs), once the collection under way has ended: removals show in it. */
  async usage(): Promise<FsUsage> {
    await this.collecting;
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

  async close(): Promise<void> {
    await this.collecting;
    await this.unpack.close();
    await this.trash.drain();
  }
}
