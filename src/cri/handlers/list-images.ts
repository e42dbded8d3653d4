import type { CriDeps } from "../deps.js";
import type { ListImagesRequest__Output } from "../generated/runtime/v1/ListImagesRequest.js";
import type { ListImagesResponse } from "../generated/runtime/v1/ListImagesResponse.js";
import type { StreamImagesRequest__Output } from "../generated/runtime/v1/StreamImagesRequest.js";
import type { StreamImagesResponse } from "../generated/runtime/v1/StreamImagesResponse.js";
import { toCriImage } from "../mappers/image.js";
import type { StreamSink } from "../service.js";

function selected(deps: CriDeps, filter: { image?: { image?: string } | null } | null) {
  const query = filter?.image?.image?.trim();
  if (!query) return deps.images.list();
  const found = deps.images.find(query);
  return found ? [found] : [];
}

export function makeListImages(deps: CriDeps) {
  return async function listImages(req: ListImagesRequest__Output): Promise<ListImagesResponse> {
    return { images: selected(deps, req.filter).map(toCriImage) };
  };
}

const BATCH = 500;

export function makeStreamImages(deps: CriDeps) {
  return async function streamImages(req: StreamImagesRequest__Output, out: StreamSink<StreamImagesResponse>): Promise<void> {
    const all = selected(deps, req.filter).map(toCriImage);
    for (let i = 0; i < all.length; i += BATCH) await out.write({ images: all.slice(i, i + BATCH) });
  };
}
