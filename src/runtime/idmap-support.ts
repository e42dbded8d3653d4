// Whether pods with a user namespace can run here. skiff prepares their
// idmapped mounts itself (the image layers under the rootfs, the volumes), so
// any OCI runtime that can join a user namespace by path will do: runc 1.1 and
// crun 1.8, Debian's, were checked. What the host must offer is idmapped
// mounts (Linux 5.19+ for overlayfs on idmapped layers, and the filesystem
// under skiff's root must allow them),
// found out once by making one the way a pod does; and the directories that
// lead to skiff's root must let others search them, because the runtime
// mounts the rootfs from inside the user namespace, as an unprivileged id.

import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createPodNamespaces, idmapMount } from "../native/index.js";
import { unmountAll } from "../util/mounts.js";

/** Runtimes known to join a pinned user namespace and mount idmapped sources as they are. */
export function runtimeSupportsUserNamespaces(runtimePath: string): boolean {
  return /(^|\/)(runc|crun)$/.test(runtimePath);
}

/** Why this host cannot run pods with a user namespace under these directories, or undefined. */
export async function userNamespaceHostProblem(dirs: { root: string; containerRoot: string }): Promise<string | undefined> {
  for (const dir of [dirs.root, dirs.containerRoot]) {
    const closed = await firstUnsearchable(dir);
    if (closed) {
      return `${closed.dir} (mode ${closed.mode.toString(8)}) cannot be searched by other users, so a pod's root, an unprivileged id on the host, cannot reach ${dir}: chmod o+x it`;
    }
  }
  const problem = await probeIdmappedMounts(dirs.root);
  return problem && `this host cannot make idmapped mounts (${problem})`;
}

/** The first of dir and its ancestors (made if missing, as the daemon does) without the others' search bit. */
async function firstUnsearchable(dir: string): Promise<{ dir: string; mode: number } | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = (await stat(d)).mode & 0o7777;
    if (!(mode & 0o001)) return { dir: d, mode };
    if (d === path.dirname(d)) return undefined;
  }
}

/**
 * Makes a user namespace and an idmapped mount of a directory under `root`
 * (where image layers live), then undoes both. Resolves to why that failed, or
 * undefined when it worked.
 */
async function probeIdmappedMounts(root: string): Promise<string | undefined> {
  await mkdir(root, { recursive: true, mode: 0o711 });
  const dir = await mkdtemp(path.join(root, "idmap-probe-"));
  const user = path.join(dir, "user");
  const [source, target] = [path.join(dir, "source"), path.join(dir, "target")];
  try {
    await Promise.all([mkdir(source), mkdir(target)]);
    await createPodNamespaces({ user, uidMap: "0 65536 65536\n", gidMap: "0 65536 65536\n", sysctls: [] });
    await idmapMount(source, target, user, false);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await unmountAll(target).catch(() => {});
    await unmountAll(user).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
