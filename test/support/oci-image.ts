// Builds small OCI/Docker images in memory for tests: a busybox-static base
// layer (binary, applet symlinks, /etc/passwd and /etc/group) plus extra layers
// described entry by entry, then the config, the manifest and optionally an index.
// Deterministic: the same spec always gives the same digests.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { pack } from "tar-stream";

export type Compression = "gzip" | "zstd" | "none";
export type ManifestFormat = "oci" | "docker";

export type LayerEntry =
  | { type: "file"; path: string; content: string | Buffer; mode?: number; uid?: number; gid?: number }
  | { type: "dir"; path: string; mode?: number; uid?: number; gid?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "hardlink"; path: string; target: string }
  /** Deletes `path` from lower layers (an AUFS-style `.wh.` entry). */
  | { type: "whiteout"; path: string }
  /** Hides everything lower layers put in directory `path` (`.wh..wh..opq`). */
  | { type: "opaque"; path: string };

export interface ImageConfigSpec {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  StopSignal?: string;
  Labels?: Record<string, string>;
  Volumes?: Record<string, object>;
  ExposedPorts?: Record<string, object>;
}

export interface ImageSpec {
  /** Include the busybox base layer (default true). */
  base?: boolean;
  /** Extra /etc/passwd lines ("name:x:uid:gid::home:shell"), after root and nobody. */
  users?: string[];
  /** Extra /etc/group lines ("name:x:gid:member,member"). */
  groups?: string[];
  /** Layers after the base, in order. */
  layers?: LayerEntry[][];
  config?: ImageConfigSpec;
  compression?: Compression;
  format?: ManifestFormat;
  architecture?: string;
  variant?: string;
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** sha256 of each uncompressed layer tar (the config's rootfs.diff_ids). */
  diffIds: string[];
  architecture: string;
  variant?: string;
}

export const MEDIA = {
  oci: {
    manifest: "application/vnd.oci.image.manifest.v1+json",
    index: "application/vnd.oci.image.index.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    layer: { gzip: "application/vnd.oci.image.layer.v1.tar+gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd", none: "application/vnd.oci.image.layer.v1.tar" },
  },
  docker: {
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    index: "application/vnd.docker.distribution.manifest.list.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    layer: { gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip", zstd: undefined, none: "application/vnd.docker.image.rootfs.diff.tar" },
  },
} as const;

export const BUSYBOX_PATH = "/bin/busybox";
const EPOCH = new Date(1_600_000_000_000); // fixed mtime: reproducible digests

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function blobOf(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: sha256(data), size: data.length, data };
}

/** Writes tar entries in order; paths are relative to / (no leading slash in the archive). */
export async function tarOf(entries: LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  const add = (header: Parameters<typeof p.entry>[0], body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      p.entry({ mtime: EPOCH, uid: 0, gid: 0, ...header }, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  const rel = (s: string) => s.replace(/^\/+/, "");
  const split = (s: string) => {
    const r = rel(s);
    const i = r.lastIndexOf("/");
    return i < 0 ? { dir: "", base: r } : { dir: `${r.slice(0, i)}/`, base: r.slice(i + 1) };
  };
  for (const e of entries) {
    switch (e.type) {
      case "file": {
        const body = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
        await add({ name: rel(e.path), type: "file", mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0, size: body.length }, body);
        break;
      }
      case "dir":
        await add({ name: `${rel(e.path)}/`, type: "directory", mode: e.mode ?? 0o755, uid: e.uid ?? 0, gid: e.gid ?? 0 });
        break;
      case "symlink":
        await add({ name: rel(e.path), type: "symlink", linkname: e.target, mode: 0o777 });
        break;
      case "hardlink":
        await add({ name: rel(e.path), type: "link", linkname: rel(e.target), mode: 0o644 });
        break;
      case "whiteout": {
        const { dir, base } = split(e.path);
        await add({ name: `${dir}.wh.${base}`, type: "file", mode: 0o600, size: 0 });
        break;
      }
      case "opaque":
        await add({ name: `${rel(e.path).replace(/\/?$/, "/")}.wh..wh..opq`, type: "file", mode: 0o600, size: 0 });
        break;
    }
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

let busyboxEntries: LayerEntry[] | undefined;

/** The busybox binary and one symlink per applet, at the paths busybox itself lists. */
function busyboxLayerEntries(): LayerEntry[] {
  if (busyboxEntries) return busyboxEntries;
  const applets = execFileSync(BUSYBOX_PATH, ["--list-full"], { encoding: "utf8" }).split("\n").filter(Boolean);
  const dirs = new Set<string>(["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "tmp", "var", "proc", "sys", "dev"]);
  const entries: LayerEntry[] = [...dirs].sort().map((d) => ({ type: "dir", path: d, mode: d === "tmp" ? 0o1777 : 0o755 }) as LayerEntry);
  entries.push({ type: "file", path: "bin/busybox", content: readFileSync(BUSYBOX_PATH), mode: 0o755 });
  for (const applet of applets.sort()) {
    if (applet === "bin/busybox") continue;
    entries.push({ type: "symlink", path: applet, target: "/bin/busybox" });
  }
  busyboxEntries = entries;
  return entries;
}

function baseEntries(spec: ImageSpec): LayerEntry[] {
  const passwd = ["root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/bin/false", ...(spec.users ?? [])];
  const group = ["root:x:0:", "nogroup:x:65534:", ...(spec.groups ?? [])];
  return [
    ...busyboxLayerEntries(),
    { type: "file", path: "etc/passwd", content: `${passwd.join("\n")}\n` },
    { type: "file", path: "etc/group", content: `${group.join("\n")}\n` },
  ];
}

export function compress(tar: Buffer, compression: Compression): Buffer {
  if (compression === "gzip") return gzipSync(tar);
  if (compression === "none") return tar;
  const out = spawnSync("zstd", ["-q", "-c", "-3"], { input: tar, maxBuffer: 1 << 30 });
  if (out.status !== 0) throw new Error(`zstd failed: ${out.stderr?.toString() ?? out.error?.message}`);
  return out.stdout;
}

export async function buildImage(spec: ImageSpec = {}): Promise<BuiltImage> {
  const format = spec.format ?? "oci";
  const compression = spec.compression ?? "gzip";
  const media = MEDIA[format];
  const layerType = media.layer[compression];
  if (!layerType) throw new Error(`${format} manifests have no media type for ${compression} layers`);

  const layerEntries = [...(spec.base === false ? [] : [baseEntries(spec)]), ...(spec.layers ?? [])];
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  for (const entries of layerEntries) {
    const tar = await tarOf(entries);
    diffIds.push(sha256(tar));
    layers.push(blobOf(layerType, compress(tar, compression)));
  }
  const architecture = spec.architecture ?? "amd64";
  const configDoc = {
    created: EPOCH.toISOString(),
    architecture,
    ...(spec.variant ? { variant: spec.variant } : {}),
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], ...spec.config },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layerEntries.map((_, i) => ({ created: EPOCH.toISOString(), created_by: `skiff test layer ${i}` })),
  };
  const config = blobOf(media.config, Buffer.from(JSON.stringify(configDoc)));
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: media.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blobOf(media.manifest, Buffer.from(JSON.stringify(manifestDoc)));
  return { manifest, config, layers, diffIds, architecture, variant: spec.variant };
}

/** A multi-platform index (OCI) or manifest list (Docker) over built images. */
export function buildIndex(images: BuiltImage[], format: ManifestFormat = "oci"): Blob {
  const media = MEDIA[format];
  const doc = {
    schemaVersion: 2,
    mediaType: media.index,
    manifests: images.map((img) => ({
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: { architecture: img.architecture, os: "linux", ...(img.variant ? { variant: img.variant } : {}) },
    })),
  };
  return blobOf(media.index, Buffer.from(JSON.stringify(doc)));
}

/** A tar of whole files (name -> content), for archives such as docker save. */
export async function archiveOf(files: [string, Buffer][]): Promise<Buffer> {
  return tarOf(files.map(([path, content]) => ({ type: "file", path, content })));
}

function uncompressedLayer(layer: Blob): Buffer {
  if (layer.mediaType.endsWith("gzip")) return gunzipSync(layer.data);
  if (layer.mediaType.endsWith("zstd")) throw new Error("docker save has no zstd layers");
  return layer.data;
}

/** The classic `docker save` layout: manifest.json, <config>.json, <layer>/layer.tar. */
export async function dockerSaveArchive(images: { image: BuiltImage; tags: string[] }[]): Promise<Buffer> {
  const files: [string, Buffer][] = [];
  const manifest = images.map(({ image, tags }) => {
    const configName = `${image.config.digest.slice(7)}.json`;
    files.push([configName, image.config.data]);
    const layers = image.layers.map((l, i) => {
      const dir = image.diffIds[i]!.slice(7);
      files.push([`${dir}/layer.tar`, uncompressedLayer(l)]);
      return `${dir}/layer.tar`;
    });
    return { Config: configName, RepoTags: tags, Layers: layers };
  });
  files.push(["manifest.json", Buffer.from(JSON.stringify(manifest))]);
  return archiveOf(files);
}

/** An OCI image layout archive holding one image under `name`. */
export async function ociLayoutArchive(image: BuiltImage, name: string): Promise<Buffer> {
  const blob = (b: Blob): [string, Buffer] => [`blobs/sha256/${b.digest.slice(7)}`, b.data];
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.oci.index,
    manifests: [{ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.split(":").at(-1) } }],
  };
  return archiveOf([
    ["oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }))],
    ["index.json", Buffer.from(JSON.stringify(index))],
    blob(image.config),
    blob(image.manifest),
    ...image.layers.map(blob),
  ]);
}
