import type { CriDeps } from "../deps.js";
import type { ImageFsInfoRequest__Output } from "../generated/runtime/v1/ImageFsInfoRequest.js";
import type { ImageFsInfoResponse } from "../generated/runtime/v1/ImageFsInfoResponse.js";
import { nowNanos } from "../../util/time.js";

export function makeImageFsInfo(deps: CriDeps) {
  return async function imageFsInfo(_req: ImageFsInfoRequest__Output): Promise<ImageFsInfoResponse> {
    const u = await deps.images.usage();
    return {
      image_filesystems: [
        {
          timestamp: nowNanos(),
          fs_id: { mountpoint: u.mountpoint },
          used_bytes: { value: String(u.usedBytes) },
          inodes_used: { value: String(u.inodesUsed) },
        },
      ],
      container_filesystems: [],
    };
  };
}
