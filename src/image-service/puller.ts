// Pulling one image: resolve the reference to a manifest (picking this
// platform from an index), fetch the config, then fetch every missing layer
// in parallel into the content store and unpack it into its snapshot. The
// image record is written last, so an interrupted pull leaves no image.
// Everything fetched is verified: manifests and blobs against their digests,
// unpacked layers against the config's diff_ids.

import { createHash } from "node:crypto";
import { imagePullBytes } from "../observability/metrics.js";
import { failedPrecondition, notFound, SkiffError } from "../errors.js";
import type { Logger } from "../log.js";
import { Limit } from "../util/limit.js";
import { chainIds } from "./chain-id.js";
import type { ContentStore } from "./content-store.js";
import type { ImageRecord, LayerRecord } from "./image-record.js";
import {
  hostPlatform,
  MANIFEST_ACCEPT,
  parseImageConfig,
  parseManifest,
  pickPlatform,
  type ImageManifest,
} from "./media-types.js";
import { digestReference, formatReference, parseReference, tagReference, type ImageReference } from "./reference.js";
import type { Credentials } from "./registry/auth.js";
import { RegistryClient, type RegistryClientOptions } from "./registry/client.js";
import { endpointsFor, type RegistryHostConfig } from "./registry/hosts.js";
import type { SnapshotStore } from "./snapshots.js";
import type { LayerBlob } from "./unpack/blob-source.js";
import type { UnpackPool } from "./unpack/pool.js";

export interface PullerDeps {
  content: ContentStore;
  snapshots: SnapshotStore;
  unpack: UnpackPool;
  registries: Record<string, RegistryHostConfig>;
  clientOptions: Omit<RegistryClientOptions, "log" | "signal">;
  downloads: Limit;
  log: Logger;
  /** Keeps blobs and snapshots of a pull in progress safe from garbage collection. */
  lease(keys: string[]): () => void;
  /** Marks the end of a step, for the pull's log line. */
  step?(name: string): void;
  /**
   * Whether an image here already has these layers (bottom first) at the
   * bottom of its own: then their snapshots are likely there, and they are
   * not downloaded before the config says so.
   */
  hasLayers?(digests: string[]): boolean;
}

/** A layer download started before the config arrived; its unpack waits for the config. */
interface EarlyDownload {
  /** Hands over the unpack to run on the blob (or none: a no-op). */
  unpackWith(unpack: (blob: LayerBlob) => Promise<void>): void;
  stored: Promise<void>;
}

const NO_UNPACK = async () => undefined;

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * Pulls and returns the record to save (without saving it). Blobs already in
 * memory (manifests, the config) are written while the next download runs,
 * and new layers download while the config does; every write and download has
 * finished before this returns.
 */
export async function pullImage(deps: PullerDeps, refText: string, credentials: Credentials | undefined, signal?: AbortSignal): Promise<Omit<ImageRecord, "createdAt" | "pinned">> {
  const ref = parseReference(refText);
  const name = formatReference(ref);
  const log = deps.log.child({ image: name });
  const client = new RegistryClient(ref.domain, endpointsFor(ref.domain, deps.registries), ref.path, credentials, { ...deps.clientOptions, log, signal });

  const { manifest, manifestDigest, extraBlobs, fetched } = await resolveManifest(client, ref, name);
  deps.step?.("manifest");
  const releases = [deps.lease([manifestDigest, ...extraBlobs, ...manifest.layers.map((l) => l.digest)])];
  const writes: Promise<void>[] = [];
  const write = (digest: string, data: Buffer) => {
    const written = deps.content.write(digest, data);
    written.catch(() => undefined); // reported by the Promise.all below, not as an unhandled rejection before it
    writes.push(written);
  };
  for (const [digest, data] of fetched) write(digest, data);
  const ingestLayer = (layer: LayerDescriptor, unpackFrom: (blob: LayerBlob) => Promise<void>) =>
    deps.content.ingest(layer.digest, layer.size, () => client.openBlob(layer.digest), {
      onBytes: (n) => imagePullBytes.inc(n),
      reader: unpackFrom,
      transfer: (run) => deps.downloads.run(run),
    });
  // Layers that no image here has start downloading while the config is fetched (their snapshots
  // are keyed by the config's diff_ids); each one's unpack starts once the config has come.
  const early = new Map<string, EarlyDownload>();
  manifest.layers.forEach((layer, i) => {
    if (early.has(layer.digest) || deps.hasLayers?.(manifest.layers.slice(0, i + 1).map((l) => l.digest))) return;
    let unpackWith!: EarlyDownload["unpackWith"];
    const unpack = new Promise<(blob: LayerBlob) => Promise<void>>((resolve) => (unpackWith = resolve));
    const stored = ingestLayer(layer, (blob) => unpack.then((fn) => fn(blob)));
    stored.catch(() => undefined); // awaited by storeLayers or below
    early.set(layer.digest, { unpackWith, stored });
  });
  try {
    const configData = await client.getBlob(manifest.config.digest, MAX_CONFIG_BYTES);
    if (sha256(configData) !== manifest.config.digest) {
      throw failedPrecondition(`${name}: digest verification failed for the image config ${manifest.config.digest}; nothing was stored`);
    }
    const config = parseImageConfig(configData, name);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw failedPrecondition(`${name}: the manifest lists ${manifest.layers.length} layers but the config has ${diffIds.length} diff_ids`);
    }
    const chains = chainIds(diffIds);
    releases.push(deps.lease([manifest.config.digest, ...manifest.layers.map((l) => l.digest), ...chains]));
    write(manifest.config.digest, configData);
    deps.step?.("config");
    await storeLayers(deps, name, manifest.layers, diffIds, (layer, unpackFrom) => {
      const started = early.get(layer.digest);
      if (!started) return ingestLayer(layer, unpackFrom);
      started.unpackWith(unpackFrom);
      return started.stored;
    });
    await Promise.all(writes);
    deps.step?.("layers");

    const layers: LayerRecord[] = manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]!, chainId: chains[i]! }));
    const tag = tagReference(ref);
    return {
      id: manifest.config.digest,
      repoTags: tag ? [tag] : [],
      repoDigests: [digestReference(ref, ref.digest ?? extraBlobs[0] ?? manifestDigest)],
      manifestDigest,
      extraBlobs,
      configDigest: manifest.config.digest,
      layers,
      size: manifest.layers.reduce((n, l) => n + l.size, manifest.config.size),
      config,
    };
  } finally {
    // A download whose layer turned out to have its snapshot (or whose pull failed) is stored without an unpack.
    for (const e of early.values()) e.unpackWith(NO_UNPACK);
    // A failed pull reports once its writes and downloads have ended (none is left running behind it).
    await Promise.allSettled([...writes, ...[...early.values()].map((e) => e.stored)]);
    for (const release of releases) release();
  }
}

export type LayerDescriptor = ImageManifest["layers"][number];

/**
 * Makes sure every layer has its snapshot: `ensureBlob` puts a missing layer's
 * blob into the content store, then it is unpacked and checked against its
 * diff_id. `ensureBlob` may start the unpack itself (`unpackFrom`), from the
 * blob while it downloads (the unpack's input ends only once the blob is
 * verified, and fails if it is not); a blob that was already there is
 * unpacked from the store. Layers download and unpack in parallel; each
 * snapshot commits only after its parent, so a committed snapshot always has
 * its whole chain.
 */
export async function storeLayers(
  deps: Pick<PullerDeps, "content" | "snapshots" | "unpack">,
  name: string,
  layers: LayerDescriptor[],
  diffIds: string[],
  ensureBlob: (layer: LayerDescriptor, unpackFrom: (blob: LayerBlob) => Promise<void>) => Promise<void>,
): Promise<void> {
  const chains = chainIds(diffIds);
  const committed: Promise<unknown>[] = [];
  layers.forEach((layer, i) => {
    const parentCommitted = i === 0 ? Promise.resolve() : committed[i - 1]!;
    committed.push(
      (async () => {
        if (deps.snapshots.get(chains[i]!)) return;
        let snapshot: Promise<unknown> | undefined;
        /** Starts the snapshot from `blob`; settles once the blob has been read (not when the snapshot commits). */
        const unpackFrom = (blob: LayerBlob): Promise<void> => {
          let read!: () => void;
          const blobRead = new Promise<void>((resolve) => (read = resolve));
          snapshot = deps.snapshots.create(chains[i]!, i === 0 ? undefined : chains[i - 1], diffIds[i]!, async (fsDir) => {
            const r = await deps.unpack
              .unpack(blob, layer.compression, fsDir)
              .catch((err: Error) => {
                throw failedPrecondition(`${name}: layer ${layer.digest} cannot be unpacked: ${err.message}`);
              })
              .finally(read);
            if (r.diffId !== diffIds[i]) {
              throw failedPrecondition(`${name}: layer ${layer.digest} unpacks to ${r.diffId}, but the config says ${diffIds[i]}; nothing was stored`);
            }
            await parentCommitted;
            return r;
          });
          // Another pull's unpack of this chain (a shared flight) never runs this one's populate.
          snapshot.then(read, read);
          return blobRead;
        };
        try {
          await ensureBlob(layer, unpackFrom);
        } catch (err) {
          await snapshot?.catch(() => undefined); // an unpack it started ends before the pull reports
          throw err;
        }
        await (snapshot ?? unpackFrom({ path: deps.content.path(layer.digest) }).then(() => snapshot));
      })(),
    );
  });
  const results = await Promise.allSettled(committed);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Follows an index to this platform's manifest; verifies what it fetched and returns it to be stored. */
async function resolveManifest(client: RegistryClient, ref: ImageReference, name: string) {
  const reference = ref.digest ?? ref.tag!;
  const top = await client.getManifest(reference, MANIFEST_ACCEPT);
  const topDigest = sha256(top.data);
  if (ref.digest && topDigest !== ref.digest) {
    throw failedPrecondition(`${name}: the registry returned a manifest with digest ${topDigest}, not the requested ${ref.digest}`);
  }
  const parsed = parseManifest(top.data, top.contentType, name);
  if (parsed.kind === "manifest") {
    return { manifest: parsed, manifestDigest: topDigest, extraBlobs: [] as string[], fetched: [[topDigest, top.data]] as [string, Buffer][] };
  }
  const target = hostPlatform();
  const picked = pickPlatform(parsed, target);
  if (!picked) {
    const offered = parsed.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}${m.platform?.variant ? `/${m.platform.variant}` : ""}`).join(", ");
    throw notFound(`${name}: no image for ${target.os}/${target.architecture} in the index (it has: ${offered || "nothing"})`);
  }
  const inner = await client.getManifest(picked.digest, MANIFEST_ACCEPT);
  if (sha256(inner.data) !== picked.digest) {
    throw failedPrecondition(`${name}: the registry returned a manifest that does not match its digest ${picked.digest}`);
  }
  const manifest = parseManifest(inner.data, inner.contentType, name);
  if (manifest.kind !== "manifest") throw new SkiffError("failed-precondition", `${name}: an index entry points to another index`);
  return {
    manifest: manifest as ImageManifest,
    manifestDigest: picked.digest,
    extraBlobs: [topDigest],
    fetched: [
      [topDigest, top.data],
      [picked.digest, inner.data],
    ] as [string, Buffer][],
  };
}
