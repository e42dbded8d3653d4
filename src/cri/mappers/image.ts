// ImageRecord -> CRI Image.

import { imageUser, type ImageRecord } from "../../image-service/image-record.js";
import type { Image } from "../generated/runtime/v1/Image.js";

/**
 * One CRI image per record: records are replaced on every change, never
 * edited, so the object (and the encoding fast-serialize.ts keeps for it)
 * stays right for as long as the record lives.
 */
const mapped = new WeakMap<ImageRecord, Image>();

export function toCriImage(r: ImageRecord): Image {
  let image = mapped.get(r);
  if (!image) mapped.set(r, (image = mapImage(r)));
  return image;
}

function mapImage(r: ImageRecord): Image {
  const user = imageUser(r);
  return {
    id: r.id,
    repo_tags: r.repoTags,
    repo_digests: r.repoDigests,
    size: String(r.size),
    uid: user.uid !== undefined ? { value: String(user.uid) } : null,
    username: user.username ?? "",
    spec: { image: r.id, annotations: {} },
    pinned: r.pinned,
  };
}
