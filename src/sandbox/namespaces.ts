// Pod namespaces pinned as files, with no process to hold them: a thread of
// the native addon creates the new net/ipc/uts namespaces, bind-mounts them
// onto files under the state dir, and inside them sets the hostname, brings lo
// up and applies the pod's sysctls. No process is started (this was `unshare`,
// `sh` and `ip`: a sixth of a pod's start time). A pod with its own user
// namespace is the exception: the addon makes that one with a short-lived
// child process, and the others inside it.

import { invalidArgument } from "../errors.js";
import { rm, statfs } from "node:fs/promises";
import path from "node:path";
import { createPodNamespaces } from "../native/index.js";
import { unmountAll } from "../util/mounts.js";
import { sysctlPath, type SysctlPlan } from "./sysctls.js";
import { idMapText, type UserNamespaceMappings } from "./userns.js";

export interface PinnedNamespaces {
  user?: string;
  net?: string;
  ipc?: string;
  uts?: string;
}

export interface NamespaceRequest {
  /** The pod's own user namespace, made first so that it owns the others. */
  user?: UserNamespaceMappings;
  net: boolean;
  ipc: boolean;
  uts: boolean;
  hostname: string;
  sysctls: SysctlPlan;
}

/** Where the files in `dir` pin each kind of namespace a sandbox may have: what a sweep releases. */
export function everyNamespacePath(dir: string): Required<PinnedNamespaces> {
  return { user: path.join(dir, "user"), net: path.join(dir, "net"), ipc: path.join(dir, "ipc"), uts: path.join(dir, "uts") };
}

/** Planned paths for a sandbox's namespace files (recorded before they exist). */
export function namespacePaths(dir: string, req: Pick<NamespaceRequest, "user" | "net" | "ipc" | "uts">): PinnedNamespaces {
  const all = everyNamespacePath(dir);
  return {
    ...(req.user ? { user: all.user } : {}),
    ...(req.net ? { net: all.net } : {}),
    ...(req.ipc ? { ipc: all.ipc } : {}),
    ...(req.uts ? { uts: all.uts } : {}),
  };
}

export async function createNamespaces(dir: string, req: NamespaceRequest): Promise<PinnedNamespaces> {
  const paths = namespacePaths(dir, req);
  if (Object.keys(paths).length === 0) return paths;
  const sysctls = [...(req.net ? req.sysctls.net : []), ...(req.ipc ? req.sysctls.ipc : [])].map(([k, v]): [string, string] => [sysctlPath(k), v]);
  const user = req.user ? { uidMap: idMapText(req.user.uids), gidMap: idMapText(req.user.gids) } : {};
  await createPodNamespaces({ ...paths, ...user, ...(req.uts && req.hostname ? { hostname: req.hostname } : {}), sysctls }).catch((err: NodeJS.ErrnoException) => {
    // The kernel refusing a sysctl's value is the caller's to fix, not ours.
    const refused = /^write \/proc\/sys\/(\S+):/.exec(err.message);
    if (refused && (err.code === "EINVAL" || err.code === "ERANGE")) {
      throw invalidArgument(`RunPodSandbox: sysctl ${refused[1]!.replaceAll("/", ".")}: the kernel refused its value (${err.message.slice(refused[0].length).trim()})`);
    }
    throw new Error(`cannot create the pod's namespaces: ${err.message}`, { cause: err });
  });
  return paths;
}

/** statfs(2)'s f_type for the namespace file system (nsfs). */
const NSFS_MAGIC = 0x6e736673;

/**
 * Whether the file at `pin` holds a namespace (a bind mount of one): one
 * statfs(2), where reading the mount table costs more the more pods there are.
 */
export function isPinnedNamespace(pin: string): Promise<boolean> {
  return statfs(pin).then(
    (s) => s.type === NSFS_MAGIC,
    () => false,
  );
}

export async function releaseNamespaces(paths: PinnedNamespaces): Promise<void> {
  // The user namespace last: it owns the others.
  for (const file of [paths.net, paths.ipc, paths.uts, paths.user]) {
    if (!file) continue;
    await unmountAll(file);
    await rm(file, { force: true });
  }
}
