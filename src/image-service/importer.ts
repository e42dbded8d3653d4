// Offline import of a `docker save` tarball or an OCI image-layout archive,
// so that air-gapped nodes can be seeded. The archive is untrusted: entry
// names are only keys in a map (each entry goes to a numbered scratch file),
// every blob is checked against its digest, every layer against its diff_id.

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { extract } from "tar-stream";
import { failedPrecondition, invalidArgument } from "../errors.js";
import { chainIds } from "./chain-id.js";
import type { ImageRecord } from "./image-record.js";
import { hostPlatform, MediaType, parseImageConfig, parseManifest, pickPlatform, type Compression, type ImageManifest } from "./media-types.js";
import { storeLayers, type LayerDescriptor, type PullerDeps } from "./puller.js";
import { parseReference, tagReference } from "./reference.js";
import { cleanEntryPath } from "./unpack/entry-path.js";

type ImportDeps = Pick<PullerDeps, "content" | "snapshots" | "unpack" | "lease">;
export type ImportedImage = Omit<ImageRecord, "createdAt" | "pinned">;

const MAX_JSON = 8 * 1024 * 1024;

/** Archive member name -> scratch file holding its content. */
type Members = Map<string, string>;

async function readMembers(archive: string, scratch: string): Promise<Members> {
  const files: Members = new Map();
  const links: [string, string][] = [];
  let n = 0;
  const ex = extract();
  ex.on("entry", (h, stream, next) => {
    const name = cleanEntryPath(h.name);
    const done = (err?: Error) => (err ? next(err) : next());
    if (name === undefined || name === "") return stream.resume().on("end", () => done());
    if (h.type === "file" || h.type === "contiguous-file") {
      const target = path.join(scratch, String(n++));
      files.set(name, target);
      pipeline(stream, createWriteStream(target, { mode: 0o600 })).then(() => done(), done);
      return;
    }
    if ((h.type === "symlink" || h.type === "link") && h.linkname) {
      // docker save links repeated layers; resolve inside the archive only.
      const base = h.type === "symlink" ? path.posix.dirname(name) : "";
      const target = cleanEntryPath(path.posix.join(base, h.linkname));
      if (target) links.push([name, target]);
    }
    stream.resume().on("end", () => done());
  });
  try {
    await pipeline(createReadStream(archive), ex);
  } catch (err) {
    throw invalidArgument(`cannot read ${archive} as a tar archive: ${(err as Error).message}`);
  }
  for (const [name, target] of links) {
    const file = files.get(target);
    if (file) files.set(name, file);
  }
  return files;
}

async function member(files: Members, name: string, what: string): Promise<string> {
  const clean = cleanEntryPath(name);
  const file = clean !== undefined ? files.get(clean) : undefined;
  if (!file) throw failedPrecondition(`the archive has no ${what} "${name}"`);
  return file;
}

async function readJson<T>(files: Members, name: string, what: string): Promise<{ data: Buffer; doc: T }> {
  const data = await readFile(await member(files, name, what));
  if (data.length > MAX_JSON) throw failedPrecondition(`${what} "${name}" is too large`);
  try {
    return { data, doc: JSON.parse(data.toString("utf8")) as T };
  } catch {
    throw failedPrecondition(`${what} "${name}" is not valid JSON`);
  }
}

async function sniffCompression(file: string): Promise<Compression> {
  const fh = await open(file, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    await fh.close();
  }
}

const LAYER_MEDIA: Record<Compression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

function normaliseTags(names: readonly string[]): string[] {
  const tags: string[] = [];
  for (const n of names) {
    try {
      const t = tagReference(parseReference(n));
      if (t) tags.push(t);
    } catch {
      /* an annotation that is not a reference (e.g. a bare tag) names nothing */
    }
  }
  return tags;
}

async function finish(deps: ImportDeps, name: string, configData: Buffer, configDigest: string, manifestDigest: string, manifest: ImageManifest, repoTags: string[], extraBlobs: string[], ensureBlob: (l: LayerDescriptor) => Promise<void>): Promise<ImportedImage> {
  const config = parseImageConfig(configData, name);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) throw failedPrecondition(`${name}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in the config`);
  const chains = chainIds(diffIds);
  const release = deps.lease([manifestDigest, configDigest, ...extraBlobs, ...manifest.layers.map((l) => l.digest), ...chains]);
  try {
    await deps.content.write(configDigest, configData);
    await storeLayers(deps, name, manifest.layers, diffIds, ensureBlob);
  } finally {
    release();
  }
  return {
    id: configDigest,
    repoTags,
    repoDigests: [],
    manifestDigest,
    extraBlobs,
    configDigest,
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]!, chainId: chains[i]! })),
    size: manifest.layers.reduce((s, l) => s + l.size, configData.length),
    config,
  };
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importDockerSave(deps: ImportDeps, files: Members): Promise<ImportedImage[]> {
  const { doc } = await readJson<DockerSaveEntry[]>(files, "manifest.json", "docker save manifest");
  if (!Array.isArray(doc)) throw failedPrecondition("manifest.json must be a list");
  const out: ImportedImage[] = [];
  for (const entry of doc) {
    if (typeof entry?.Config !== "string" || !Array.isArray(entry.Layers)) throw failedPrecondition("a manifest.json entry needs Config and Layers");
    const configFile = await member(files, entry.Config, "image config");
    const configData = await readFile(configFile);
    const { digest: configDigest } = await deps.content.ingestFile(configFile);
    const layers: LayerDescriptor[] = [];
    for (const l of entry.Layers) {
      const file = await member(files, l, "layer");
      const compression = await sniffCompression(file);
      const { digest, size } = await deps.content.ingestFile(file);
      layers.push({ mediaType: LAYER_MEDIA[compression], digest, size, compression });
    }
    // docker save has no manifest of its own: write the OCI manifest it implies.
    const manifestData = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configData.length },
        layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
      }),
    );
    const manifest = parseManifest(manifestData, "", entry.Config) as ImageManifest;
    const manifestDigest = `sha256:${createHash("sha256").update(manifestData).digest("hex")}`;
    await deps.content.write(manifestDigest, manifestData);
    const tags = normaliseTags(entry.RepoTags ?? []);
    out.push(await finish(deps, tags[0] ?? configDigest, configData, configDigest, manifestDigest, manifest, tags, [], async () => {}));
  }
  return out;
}

const blobName = (digest: string) => `blobs/${digest.replace(":", "/")}`;

async function importOciLayout(deps: ImportDeps, files: Members): Promise<ImportedImage[]> {
  const blobFile = (digest: string) => member(files, blobName(digest), "blob");
  /** Stores a blob of the layout, verifying it against its digest. */
  const storeBlob = async (digest: string, size: number) => {
    const file = await blobFile(digest);
    await deps.content.ingest(digest, size, async () => createReadStream(file));
    return file;
  };
  const { doc } = await readJson<{ manifests?: { mediaType?: string; digest: string; size: number; annotations?: Record<string, string> }[] }>(files, "index.json", "OCI index");
  const out: ImportedImage[] = [];
  for (const desc of doc.manifests ?? []) {
    const names = [desc.annotations?.["io.containerd.image.name"], desc.annotations?.["org.opencontainers.image.ref.name"]].filter((x): x is string => !!x);
    const label = names[0] ?? desc.digest;
    const top = await readFile(await storeBlob(desc.digest, desc.size));
    let parsed = parseManifest(top, desc.mediaType ?? "", label);
    let manifestDigest = desc.digest;
    const extraBlobs: string[] = [];
    if (parsed.kind === "index") {
      const picked = pickPlatform(parsed, hostPlatform());
      if (!picked) throw failedPrecondition(`${label}: no image for this platform in the archive`);
      extraBlobs.push(desc.digest);
      parsed = parseManifest(await readFile(await storeBlob(picked.digest, picked.size)), picked.mediaType, label);
      manifestDigest = picked.digest;
      if (parsed.kind !== "manifest") throw failedPrecondition(`${label}: nested index`);
    }
    const manifest = parsed;
    const configData = await readFile(await storeBlob(manifest.config.digest, manifest.config.size));
    out.push(await finish(deps, label, configData, manifest.config.digest, manifestDigest, manifest, normaliseTags(names), extraBlobs, async (l) => void (await storeBlob(l.digest, l.size))));
  }
  return out;
}

export async function importArchive(deps: ImportDeps, archive: string): Promise<ImportedImage[]> {
  if (!path.isAbsolute(archive)) throw invalidArgument(`the archive path must be absolute, got "${archive}"`);
  const scratch = await deps.content.scratchDir();
  try {
    const files = await readMembers(archive, scratch);
    if (files.has("manifest.json")) return await importDockerSave(deps, files);
    if (files.has("index.json")) return await importOciLayout(deps, files);
    throw failedPrecondition(`${archive} is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
