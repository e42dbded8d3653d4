// The infra process of pods with a shared PID namespace (pid: POD). Most pods
// have none: their namespaces are pinned files. Nothing is pulled: the rootfs is
// a directory skiff makes with the host's static catatonit in it.

import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_CGROUP_PARENT } from "../runtime/spec/container-spec.js";
import { infraSpec } from "../runtime/spec/infra-spec.js";
import type { OciRuntime } from "../runtime/oci-runtime.js";
import { findExecutable } from "../util/executable.js";
import type { UserNamespaceMappings } from "./userns.js";

/** Makes <root>/infra-rootfs once: /catatonit plus the mount points it needs. */
export async function ensureInfraRootfs(root: string): Promise<string> {
  const rootfs = path.join(root, "infra-rootfs");
  const binary = path.join(rootfs, "catatonit");
  if (await stat(binary).then(() => true, () => false)) return rootfs;
  const source = await findExecutable("catatonit");
  if (!source) throw new Error("catatonit is not installed; pods with a shared PID namespace need it (hack/install-deps.sh)");
  for (const d of ["proc", "dev", "sys"]) await mkdir(path.join(rootfs, d), { recursive: true, mode: 0o755 });
  await copyFile(source, `${binary}.tmp`);
  await chmod(`${binary}.tmp`, 0o755);
  await rename(`${binary}.tmp`, binary);
  return rootfs;
}

/** Where infra cgroups go: the pod's cgroup (kubelet's), or skiff's own when it has none. */
export function infraCgroupParent(podCgroupParent: string): string {
  return path.posix.normalize(podCgroupParent || DEFAULT_CGROUP_PARENT).replace(/\/+$/, "");
}

export { DEFAULT_CGROUP_PARENT };

export interface InfraProcess {
  containerId: string;
  pid: number;
  bundle: string;
}

export interface InfraOptions {
  sandboxId: string;
  bundle: string;
  rootfs: string;
  namespaces: { user?: string; net?: string; ipc?: string; uts?: string };
  userNamespace?: UserNamespaceMappings;
  cgroupParent: string;
}

export async function startInfra(runtime: OciRuntime, opts: InfraOptions): Promise<InfraProcess> {
  const containerId = opts.sandboxId;
  await mkdir(opts.bundle, { recursive: true, mode: 0o700 });
  const spec = infraSpec({
    rootfs: opts.rootfs,
    namespaces: opts.namespaces,
    userNamespace: opts.userNamespace,
    cgroupsPath: infraCgroupParent(opts.cgroupParent) + `/sandbox-${containerId}`,
  });
  await writeFile(path.join(opts.bundle, "config.json"), JSON.stringify(spec));
  const pidFile = path.join(opts.bundle, "infra.pid");
  await runtime.runDetached(containerId, opts.bundle, pidFile);
  const pid = Number((await readFile(pidFile, "utf8")).trim());
  return { containerId, pid, bundle: opts.bundle };
}

export async function stopInfra(runtime: OciRuntime, infra: InfraProcess): Promise<void> {
  // delete --force kills the init (and with it its PID namespace) and removes its cgroup: one run of the runtime.
  await runtime.delete(infra.containerId);
  await rm(infra.bundle, { recursive: true, force: true });
}
