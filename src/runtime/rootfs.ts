// A container's root filesystem: overlayfs with the image's snapshots as
// lower layers and the container's own upper and work dirs. Images with many
// layers get lowerdir entries relative to the snapshots dir (the mount runs
// there, on a thread of the native addon with a cwd of its own), so that they
// stay within the kernel's one-page option limit.

import { chown, mkdir } from "node:fs/promises";
import path from "node:path";
import { mount } from "../native/index.js";
import { unmountAll } from "../util/mounts.js";
import { idmapLayers, type PodUserNamespace } from "./idmapped-mounts.js";

/** mount(2) copies at most one page of options; some room is left for what the kernel adds. */
const MAX_OPTIONS = 4000;

/**
 * In a pod with a user namespace, the layers are idmapped (the image's root
 * files are root's inside) and the upper dir belongs to the pod's root, so
 * what the container writes is stored with the host ids it runs as.
 */
export async function mountRootfs(snapshotsDir: string, lowerDirsTopFirst: string[], containerDir: string, userns?: PodUserNamespace): Promise<string> {
  const upper = path.join(containerDir, "upper");
  const work = path.join(containerDir, "work");
  const rootfs = path.join(containerDir, "rootfs");
  if (!userns) {
    // The directories are made in the mount's own job: one trip through the thread pool.
    await mountOverlay(snapshotsDir, lowerDirsTopFirst, `,upperdir=${upper},workdir=${work}`, rootfs, [containerDir, upper, work, rootfs]);
    return rootfs;
  }
  for (const d of [containerDir, upper, work, rootfs]) await mkdir(d, { recursive: true, mode: 0o755 });
  await Promise.all([upper, work].map((d) => chown(d, userns.root.uid, userns.root.gid)));
  await idmapLayers(lowerDirsTopFirst, path.join(containerDir, "idmapped-layers"), userns, (dir, layers) => mountOverlay(dir, layers, `,upperdir=${upper},workdir=${work}`, rootfs));
  return rootfs;
}

/**
 * An image's filesystem, read-only, for an image volume: overlayfs with only
 * lower layers (an empty directory at the bottom, as overlayfs needs two).
 */
export async function mountImageReadonly(snapshotsDir: string, lowerDirsTopFirst: string[], target: string, userns?: PodUserNamespace): Promise<void> {
  const empty = `${target}.empty`;
  await Promise.all([target, empty].map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
  if (!userns) return mountOverlay(snapshotsDir, [...lowerDirsTopFirst, empty], "", target);
  await idmapLayers([...lowerDirsTopFirst, empty], `${target}.idmapped-layers`, userns, (dir, layers) => mountOverlay(dir, layers, "", target));
}

/**
 * Absolute lowerdirs while they fit in the kernel's one-page option limit;
 * beyond, relative to the snapshots dir, mounted from a thread of the addon
 * with that dir as its cwd (a thread made per mount, which is slower).
 */
function mountOverlay(snapshotsDir: string, lowerDirs: string[], rest: string, target: string, mkdirs: string[] | null = null): Promise<void> {
  const absolute = `lowerdir=${lowerDirs.join(":")}${rest}`;
  const relative = `lowerdir=${lowerDirs.map((d) => path.relative(snapshotsDir, d)).join(":")}${rest}`;
  if (relative.length > MAX_OPTIONS) return Promise.reject(new Error(`the image has too many layers for one overlay mount (${lowerDirs.length})`));
  const [options, cwd] = absolute.length <= MAX_OPTIONS ? [absolute, null] : [relative, snapshotsDir];
  return mount("overlay", target, "overlay", 0, options, cwd, mkdirs).catch((err: Error) => {
    throw new Error(`cannot mount an overlay: ${err.message}`, { cause: err });
  });
}

export function unmountRootfs(rootfs: string): Promise<void> {
  return unmountAll(rootfs);
}
