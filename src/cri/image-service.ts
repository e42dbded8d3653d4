// ImageService: which handler serves which RPC.

import type { CriDeps } from "./deps.js";
import type { ImageServiceHandlers } from "./generated/runtime/v1/ImageService.js";
import { makeImageFsInfo } from "./handlers/image-fs-info.js";
import { makeImageStatus } from "./handlers/image-status.js";
import { makeListImages, makeStreamImages } from "./handlers/list-images.js";
import { makePullImage } from "./handlers/pull-image.js";
import { makeRemoveImage } from "./handlers/remove-image.js";
import type { PromiseHandlers } from "./service.js";

export function imageServiceHandlers(deps: CriDeps): PromiseHandlers<ImageServiceHandlers> {
  return {
    PullImage: makePullImage(deps),
    ListImages: makeListImages(deps),
    StreamImages: makeStreamImages(deps),
    ImageStatus: makeImageStatus(deps),
    RemoveImage: makeRemoveImage(deps),
    ImageFsInfo: makeImageFsInfo(deps),
  };
}
