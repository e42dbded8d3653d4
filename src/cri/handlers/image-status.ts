import { topChainId } from "../../image-service/image-record.js";
import type { CriDeps } from "../deps.js";
import type { ImageStatusRequest__Output } from "../generated/runtime/v1/ImageStatusRequest.js";
import type { ImageStatusResponse } from "../generated/runtime/v1/ImageStatusResponse.js";
import { toCriImage } from "../mappers/image.js";
import { requireImageName } from "../validate.js";

export function makeImageStatus(deps: CriDeps) {
  return async function imageStatus(req: ImageStatusRequest__Output): Promise<ImageStatusResponse> {
    const record = deps.images.find(requireImageName(req.image, "ImageStatus"));
    // A missing image is an empty answer, not an error: kubelet asks before pulling.
    if (!record) return { image: null, info: {} };
    const res: ImageStatusResponse = { image: toCriImage(record), info: {} };
    if (req.verbose) {
      res.info = {
        info: JSON.stringify({
          imageSpec: record.config,
          manifestDigest: record.manifestDigest,
          chainID: topChainId(record) ?? "",
          layers: record.layers,
        }),
      };
    }
    return res;
  };
}
