// Finding an image from what a user typed: a full id, a tag, a digest
// reference, or a unique id prefix (crictl passes short ids). Pure.

import { invalidArgument } from "../errors.js";
import type { ImageRecord } from "./image-record.js";
import { digestReference, parseReference, tagReference } from "./reference.js";

const FULL_ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,63})$/;

export function findImage(images: readonly ImageRecord[], query: string): ImageRecord | undefined {
  const full = FULL_ID.exec(query);
  if (full) {
    const id = `sha256:${full[1]}`;
    const byId = images.find((i) => i.id === id);
    if (byId) return byId;
  }
  let ref;
  try {
    ref = parseReference(query);
  } catch {
    ref = undefined;
  }
  if (ref?.digest) {
    const wanted = digestReference(ref, ref.digest);
    const byDigest = images.find((i) => i.repoDigests.includes(wanted));
    if (byDigest) return byDigest;
  } else if (ref) {
    const wanted = tagReference(ref);
    const byTag = images.find((i) => wanted !== undefined && i.repoTags.includes(wanted));
    if (byTag) return byTag;
  }
  const prefix = ID_PREFIX.exec(query);
  if (prefix) {
    const matches = images.filter((i) => i.id.startsWith(`sha256:${prefix[1]}`));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalidArgument(`image id prefix "${query}" is ambiguous: it matches ${matches.length} images`);
  }
  return undefined;
}
