import { stat } from "node:fs/promises";
import type { CriDeps } from "../deps.js";
import type { FilesystemUsage } from "../generated/runtime/v1/FilesystemUsage.js";
import type { ImageFsInfoRequest__Output } from "../generated/runtime/v1/ImageFsInfoRequest.js";
import type { ImageFsInfoResponse } from "../generated/runtime/v1/ImageFsInfoResponse.js";
import { nowNanos } from "../../util/time.js";

/** The filesystem (device) a path is on, or undefined if it does not exist yet. */
async function deviceOf(p: string): Promise<number | undefined> {
  return stat(p).then((s) => s.dev, () => undefined);
}

/**
 * The image filesystem, and the one containers' writable layers are on
 * (KEP-4191). kubelet treats different mountpoints as a split image
 * filesystem, so the container filesystem is reported apart only when
 * `container_root` is on another device than the image store; otherwise it is
 * the image filesystem again, as containerd reports it.
 */
export function makeImageFsInfo(deps: CriDeps) {
  return async function imageFsInfo(_req: ImageFsInfoRequest__Output): Promise<ImageFsInfoResponse> {
    const u = await deps.images.usage();
    const timestamp = nowNanos();
    const imageFs: FilesystemUsage = {
      timestamp,
      fs_id: { mountpoint: u.mountpoint },
      used_bytes: { value: String(u.usedBytes) },
      inodes_used: { value: String(u.inodesUsed) },
    };
    const [imageDev, containerDev] = await Promise.all([deviceOf(u.mountpoint), deviceOf(deps.config.containerRoot)]);
    if (containerDev === undefined || imageDev === containerDev) return { image_filesystems: [imageFs], container_filesystems: [imageFs] };
    const layers = await deps.stats.writableLayers();
    return {
      image_filesystems: [imageFs],
      container_filesystems: [
        { timestamp, fs_id: { mountpoint: deps.config.containerRoot }, used_bytes: { value: String(layers.usedBytes) }, inodes_used: { value: String(layers.inodesUsed) } },
      ],
    };
  };
}
