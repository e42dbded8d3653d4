// A container's root filesystem: overlayfs with the image's snapshots as
// lower layers and the container's own upper and work dirs. lowerdir entries
// are given relative to the snapshots dir (the mount runs there, on a thread
// of the native addon with a cwd of its own), so that images with many layers
// stay within the kernel's one-page option limit.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { mount } from "../native/index.js";
import { unmountAll } from "../util/mounts.js";

export async function mountRootfs(snapshotsDir: string, lowerDirsTopFirst: string[], containerDir: string): Promise<string> {
  const upper = path.join(containerDir, "upper");
  const work = path.join(containerDir, "work");
  const rootfs = path.join(containerDir, "rootfs");
  await mkdir(containerDir, { recursive: true, mode: 0o755 });
  await Promise.all([upper, work, rootfs].map((d) => mkdir(d, { mode: 0o755 })));
  const lowers = lowerDirsTopFirst.map((d) => path.relative(snapshotsDir, d)).join(":");
  const options = `lowerdir=${lowers},upperdir=${upper},workdir=${work}`;
  if (options.length > 4000) throw new Error(`the image has too many layers for one overlay mount (${lowerDirsTopFirst.length})`);
  await mountOverlay(snapshotsDir, options, rootfs);
  return rootfs;
}

/**
 * An image's filesystem, read-only, for an image volume: overlayfs with only
 * lower layers (an empty directory at the bottom, as overlayfs needs two).
 */
export async function mountImageReadonly(snapshotsDir: string, lowerDirsTopFirst: string[], target: string): Promise<void> {
  const empty = `${target}.empty`;
  await Promise.all([target, empty].map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
  const lowers = [...lowerDirsTopFirst.map((d) => path.relative(snapshotsDir, d)), empty].join(":");
  const options = `lowerdir=${lowers}`;
  if (options.length > 4000) throw new Error(`the image has too many layers for one overlay mount (${lowerDirsTopFirst.length})`);
  await mountOverlay(snapshotsDir, options, target);
}

function mountOverlay(snapshotsDir: string, options: string, target: string): Promise<void> {
  return mount("overlay", target, "overlay", 0, options, snapshotsDir).catch((err: Error) => {
    throw new Error(`cannot mount an overlay: ${err.message}`, { cause: err });
  });
}

export function unmountRootfs(rootfs: string): Promise<void> {
  return unmountAll(rootfs);
}
