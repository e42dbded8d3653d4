// What skiff knows about one pulled image. The id is the config digest, as in
// containerd and Docker, so the same image pulled under two names is one record.

import type { ImageConfig } from "./media-types.js";

export interface LayerRecord {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
  chainId: string;
}

export interface ImageRecord {
  id: string;
  /** "docker.io/library/busybox:latest" */
  repoTags: string[];
  /** "docker.io/library/busybox@sha256:..." (the manifest or index digest that was pulled) */
  repoDigests: string[];
  manifestDigest: string;
  /** Other blobs the image keeps alive (the index it was picked from). */
  extraBlobs: string[];
  configDigest: string;
  layers: LayerRecord[];
  /** Bytes of the compressed layers and the config, as registries report image size. */
  size: number;
  config: ImageConfig;
  pinned: boolean;
  createdAt: number;
}

/** The user an image runs as: a numeric uid or a name (and never both), per CRI. */
export function imageUser(record: ImageRecord): { uid?: number; username?: string } {
  const user = (record.config.config?.User ?? "").split(":")[0]!.trim();
  if (!user) return {};
  return /^\d+$/.test(user) ? { uid: Number(user) } : { username: user };
}

/** The top layer's chain ID: the snapshot a container's rootfs stacks on. */
export function topChainId(record: ImageRecord): string | undefined {
  return record.layers.at(-1)?.chainId;
}
