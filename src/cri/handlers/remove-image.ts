import type { CriDeps } from "../deps.js";
import type { RemoveImageRequest__Output } from "../generated/runtime/v1/RemoveImageRequest.js";
import type { RemoveImageResponse } from "../generated/runtime/v1/RemoveImageResponse.js";
import { requireImageName } from "../validate.js";

export function makeRemoveImage(deps: CriDeps) {
  return async function removeImage(req: RemoveImageRequest__Output): Promise<RemoveImageResponse> {
    await deps.images.remove(requireImageName(req.image, "RemoveImage"));
    return {};
  };
}
