// Writing a running container's checkpoint archive, and reading an archive's
// record back for a restore. The container is frozen from CRIU's memory dump
// until its writable layer is copied, so that both show the same moment; it
// is resumed either way, and the archive appears at its location whole or not
// at all.

import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { invalidArgument } from "../../errors.js";
import { nowNanos } from "../../util/time.js";
import type { OciRuntime } from "../oci-runtime.js";
import type { ContainerRecord } from "../types.js";
import { packDirectoryTo, readMember } from "./archive.js";
import { CONFIG_DUMP, IMAGES_DIR, parseCheckpointDump, ROOTFS_DIFF, SPEC_DUMP, type CheckpointDump } from "./checkpoint-archive.js";

export interface CheckpointJob {
  runtime: OciRuntime;
  container: ContainerRecord;
  location: string;
  criuPath: string;
  timeoutMs: number;
}

export async function writeCheckpointArchive({ runtime, container: c, location, criuPath, timeoutMs }: CheckpointJob): Promise<void> {
  const work = path.join(c.dir, "checkpoint-out");
  const criuWork = path.join(c.dir, "checkpoint-criu");
  const partial = `${location}.partial-${c.id.slice(0, 12)}`;
  await Promise.all([work, criuWork].map((d) => rm(d, { recursive: true, force: true })));
  try {
    await mkdir(path.join(work, IMAGES_DIR), { recursive: true, mode: 0o700 });
    await mkdir(criuWork, { recursive: true, mode: 0o700 });
    await runtime.pause(c.id);
    try {
      await runtime.checkpoint(c.id, { criuPath, imagePath: path.join(work, IMAGES_DIR), workPath: criuWork, timeoutMs });
      await packDirectoryTo(path.join(c.dir, "upper"), path.join(work, ROOTFS_DIFF), true);
    } finally {
      await runtime.resume(c.id);
    }
    const dump: CheckpointDump = {
      version: 1,
      id: c.id,
      name: c.name,
      imageId: c.imageId,
      imageRef: c.request.image,
      request: c.request,
      runtimeHandler: c.runtimeHandler,
      checkpointedAt: nowNanos(),
    };
    await writeFile(path.join(work, CONFIG_DUMP), JSON.stringify(dump), { mode: 0o600 });
    await writeFile(path.join(work, SPEC_DUMP), await readFile(path.join(c.dir, "bundle", "config.json")), { mode: 0o600 });
    // The record first: a restore reads it before it unpacks the rest.
    await packDirectoryTo(work, partial, false, [CONFIG_DUMP, SPEC_DUMP]);
    await rename(partial, location);
  } finally {
    await Promise.all([work, criuWork, partial].map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** The record a checkpoint archive holds; INVALID_ARGUMENT when the file is no such archive. */
export async function readCheckpointDump(archive: string): Promise<CheckpointDump> {
  const text = await readMember(archive, CONFIG_DUMP).catch((err: Error) => {
    throw invalidArgument(`${archive} is not a readable tar archive: ${err.message}`);
  });
  if (text === undefined) throw invalidArgument(`${archive} is not a checkpoint archive: it has no ${CONFIG_DUMP}`);
  return parseCheckpointDump(text, archive);
}
