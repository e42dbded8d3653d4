// ImageService: which handler serves which RPC.

import type { CriDeps } from "./deps.js";
import type { ImageServiceHandlers } from "./generated/runtime/v1/ImageService.js";
import type { PromiseHandlers } from "./service.js";

export function imageServiceHandlers(_deps: CriDeps): PromiseHandlers<ImageServiceHandlers> {
  return {};
}
