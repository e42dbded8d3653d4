// What a checkpoint archive holds about its container (config.dump), and how
// a restore request combines it with the new CreateContainer request: the
// process (command, environment, security, resources) is the checkpointed
// one, since CRIU brings back that process; where it lives now (name,
// labels, annotations, log path, and mounts when the request gives some) is
// the new request's. Pure.

import { invalidArgument } from "../../errors.js";
import type { ContainerRequest } from "../types.js";

export const IMAGES_DIR = "checkpoint";
export const CONFIG_DUMP = "config.dump";
export const SPEC_DUMP = "spec.dump";
export const ROOTFS_DIFF = "rootfs-diff.tar";

export interface CheckpointDump {
  version: 1;
  /** The checkpointed container. */
  id: string;
  name: string;
  imageId: string;
  /** The image as the container's request named it. */
  imageRef: string;
  request: ContainerRequest;
  runtimeHandler: string;
  /** Nanoseconds since the epoch. */
  checkpointedAt: string;
}

export function parseCheckpointDump(text: string, archive: string): CheckpointDump {
  let d: Partial<CheckpointDump>;
  try {
    d = JSON.parse(text) as Partial<CheckpointDump>;
  } catch (err) {
    throw invalidArgument(`${archive} is not a skiff checkpoint archive: its ${CONFIG_DUMP} is not JSON (${(err as Error).message})`);
  }
  if (d.version !== 1 || typeof d.imageId !== "string" || typeof d.request !== "object" || !d.request || !Array.isArray(d.request.command)) {
    throw invalidArgument(`${archive} is not a skiff checkpoint archive (version 1): its ${CONFIG_DUMP} lacks version, imageId or request`);
  }
  return d as CheckpointDump;
}

export function mergeRestoreRequest(dumped: CheckpointDump, asked: ContainerRequest): ContainerRequest {
  return {
    ...dumped.request,
    image: dumped.imageRef,
    metadata: asked.metadata,
    labels: asked.labels,
    annotations: asked.annotations,
    logPath: asked.logPath,
    mounts: asked.mounts.length ? asked.mounts : dumped.request.mounts,
  };
}

/** Whether a CreateContainer image names a checkpoint archive (an absolute path) rather than an image. */
export function namesArchive(image: string): boolean {
  return image.startsWith("/");
}
