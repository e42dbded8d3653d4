// ImageRecord -> CRI Image.

import { imageUser, type ImageRecord } from "../../image-service/image-record.js";
import type { Image } from "../generated/runtime/v1/Image.js";

export function toCriImage(r: ImageRecord): Image {
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
