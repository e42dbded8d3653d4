// Manifest formats: OCI and Docker schema2 images and indexes. Parsing checks
// the fields skiff relies on, so that a malformed manifest is a clear error
// rather than a crash further down. Pure.

import { failedPrecondition } from "../errors.js";
import { DIGEST } from "./reference.js";

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** Accept header for manifest requests: every format skiff can pull. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest].join(", ");

export type Compression = "gzip" | "zstd" | "none";

const LAYER_TYPES: Record<string, Compression> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar": "none",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: (Descriptor & { compression: Compression })[];
}

export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== "object") throw new Error(`${where} is not an object`);
  if (typeof d.digest !== "string" || !DIGEST.test(d.digest)) throw new Error(`${where} has no sha256 digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) throw new Error(`${where} has no valid size`);
  return { mediaType: typeof d.mediaType === "string" ? d.mediaType : "", digest: d.digest, size: d.size, platform: d.platform };
}

/**
 * Parses a manifest or index. `contentType` is the registry's Content-Type,
 * used when the document omits mediaType (allowed by OCI).
 */
export function parseManifest(body: Buffer, contentType: string, what: string): ImageManifest | ImageIndex {
  const fail = (why: string) => failedPrecondition(`${what}: ${why}`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    throw fail("the manifest is not valid JSON");
  }
  const mediaType = (typeof doc.mediaType === "string" && doc.mediaType) || contentType.split(";")[0]!.trim();
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw fail("Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current client");
  }
  try {
    if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList || (!doc.config && Array.isArray(doc.manifests))) {
      if (!Array.isArray(doc.manifests)) throw new Error("index has no manifests list");
      return { kind: "index", mediaType, manifests: doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
    }
    if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest || doc.config) {
      const config = descriptor(doc.config, "config");
      if (!Array.isArray(doc.layers)) throw new Error("manifest has no layers list");
      const layers = doc.layers.map((l, i) => {
        const d = descriptor(l, `layers[${i}]`);
        const compression = LAYER_TYPES[d.mediaType];
        if (!compression) throw new Error(`layers[${i}] has unsupported media type "${d.mediaType}"`);
        return { ...d, compression };
      });
      return { kind: "manifest", mediaType, config, layers };
    }
  } catch (err) {
    throw fail((err as Error).message);
  }
  throw fail(`unsupported manifest media type "${mediaType}"`);
}

export interface TargetPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's arch names mapped to OCI's. */
export function hostPlatform(): TargetPlatform {
  const arch = ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: "linux", architecture: arch, variant: arch === "arm64" ? "v8" : undefined };
}

/**
 * Picks the manifest for `target` from an index: os and architecture must
 * match; an exact variant wins, then an entry without variant (arm64's default
 * is v8). Returns undefined when nothing fits.
 */
export function pickPlatform(index: ImageIndex, target: TargetPlatform): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (m) => m.platform?.os === target.os && m.platform?.architecture === target.architecture && m.mediaType !== "application/vnd.in-toto+json",
  );
  return (
    candidates.find((m) => (m.platform?.variant ?? "") === (target.variant ?? "")) ??
    candidates.find((m) => !m.platform?.variant || (target.architecture === "arm64" && m.platform.variant === "v8")) ??
    (target.variant ? undefined : candidates[0])
  );
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    StopSignal?: string;
    Labels?: Record<string, string> | null;
    Volumes?: Record<string, object> | null;
    ExposedPorts?: Record<string, object> | null;
  };
  rootfs?: { type: string; diff_ids: string[] };
  created?: string;
}

export function parseImageConfig(body: Buffer, what: string): ImageConfig & { rootfs: { diff_ids: string[] } } {
  let doc: ImageConfig;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    throw failedPrecondition(`${what}: the image config is not valid JSON`);
  }
  const ids = doc.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== "string" || !DIGEST.test(d))) {
    throw failedPrecondition(`${what}: the image config has no valid rootfs.diff_ids`);
  }
  return doc as ImageConfig & { rootfs: { diff_ids: string[] } };
}
