// Idmapped mounts for pods with a user namespace. The OCI runtimes here (runc
// 1.1, crun 1.8) cannot idmap a rootfs, and runc no mount at all, so skiff makes
// the idmapped mounts and hands the runtime their paths: a bind of an idmapped
// mount stays idmapped. Layers are idmapped only while the overlay is mounted
// (overlayfs keeps private clones of its layers), volumes only while the
// runtime creates the container (its mount namespace keeps its own copies):
// none of them outlives the call that needed it, except after a crash, which
// releaseIdmapped() cleans up.

import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { idmapMount } from "../native/index.js";
import { unmountAll } from "../util/mounts.js";
import type { UserNamespaceMappings } from "../sandbox/userns.js";

export interface PodUserNamespace {
  /** The pinned user namespace file. */
  path: string;
  mappings: UserNamespaceMappings;
  /** The host ids of the pod's root. */
  root: { uid: number; gid: number };
}

/** Where a container's idmapped volume sources live while it is created. */
export function idmappedVolumesDir(containerDir: string): string {
  return path.join(containerDir, "idmapped");
}

/**
 * Idmaps each layer onto <dir>/0, <dir>/1, ... (top first), runs `mountOn`
 * with `dir` and those paths, then detaches them.
 */
export async function idmapLayers(layers: string[], dir: string, userns: PodUserNamespace, mountOn: (dir: string, layers: string[]) => Promise<void>): Promise<void> {
  const targets = layers.map((_, i) => path.join(dir, String(i)));
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [i, layer] of layers.entries()) {
      const target = targets[i]!;
      await mkdir(target);
      await idmapMount(layer, target, userns.path, false).catch((err: Error) => {
        throw new Error(`cannot idmap image layer ${layer} for the pod's user namespace: ${err.message}`, { cause: err });
      });
    }
    await mountOn(dir, targets);
  } finally {
    await releaseMountsIn(dir);
  }
}

/**
 * Idmapped copies (with their submounts) of `sources`, as <dir>/idmapped/<n>,
 * in the same order. A file is copied onto a file, a directory onto a directory.
 */
export async function idmapVolumes(sources: string[], containerDir: string, userns: PodUserNamespace): Promise<string[]> {
  const dir = idmappedVolumesDir(containerDir);
  if (sources.length) await mkdir(dir, { recursive: true, mode: 0o711 });
  const out: string[] = [];
  for (const [n, source] of sources.entries()) {
    const target = path.join(dir, String(n));
    const st = await stat(source).catch((err: Error) => {
      throw new Error(`cannot idmap ${source}: ${err.message}`, { cause: err });
    });
    if (st.isDirectory()) await mkdir(target);
    else await writeFile(target, "", { mode: 0o600 });
    await idmapMount(source, target, userns.path, true).catch((err: Error) => {
      throw new Error(`cannot make an idmapped mount of ${source} for the pod's user namespace: ${err.message}`, { cause: err });
    });
    out.push(target);
  }
  return out;
}

/** Detaches and removes every idmapped mount a container's creation made (or a crash left) in its directory. */
export async function releaseIdmapped(containerDir: string): Promise<void> {
  await releaseMountsIn(idmappedVolumesDir(containerDir));
  await releaseMountsIn(path.join(containerDir, "idmapped-layers"));
  const volumes = path.join(containerDir, "image-volumes");
  for (const entry of await readdir(volumes).catch(() => [])) {
    if (entry.endsWith(".idmapped-layers")) await releaseMountsIn(path.join(volumes, entry));
  }
}

/**
 * Unmounts (with their submounts) the entries of dir, then removes dir. Never
 * rm -r before every unmount succeeded: an entry may be a host path's mount,
 * whose files are not ours (unmountAll throws rather than leave one mounted).
 */
async function releaseMountsIn(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (!entries) return;
  for (const e of entries) await unmountAll(path.join(dir, e));
  await rm(dir, { recursive: true, force: true });
}
