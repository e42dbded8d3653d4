// Pod namespaces pinned as files, with no process to hold them: one `unshare`
// creates the new net/ipc/uts namespaces, bind-mounts them onto files under
// the state dir, and inside them sets the hostname, brings lo up and applies
// the pod's sysctls, then exits.

import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "../util/exec.js";
import { unmountAll } from "../util/mounts.js";
import { sysctlPath, type SysctlPlan } from "./sysctls.js";

export interface PinnedNamespaces {
  net?: string;
  ipc?: string;
  uts?: string;
}

export interface NamespaceRequest {
  net: boolean;
  ipc: boolean;
  uts: boolean;
  hostname: string;
  sysctls: SysctlPlan;
}

/** Planned paths for a sandbox's namespace files (recorded before they exist). */
export function namespacePaths(dir: string, req: Pick<NamespaceRequest, "net" | "ipc" | "uts">): PinnedNamespaces {
  return {
    ...(req.net ? { net: path.join(dir, "net") } : {}),
    ...(req.ipc ? { ipc: path.join(dir, "ipc") } : {}),
    ...(req.uts ? { uts: path.join(dir, "uts") } : {}),
  };
}

// Arguments: hostname (empty: keep), then key/value pairs of /proc/sys paths.
// Values travel as arguments, never through the shell's parser.
const SETUP_SCRIPT = `set -e
h=$1; shift
[ -n "$h" ] && printf '%s' "$h" > /proc/sys/kernel/hostname
[ "$SKIFF_LO" = 1 ] && ip link set lo up
while [ $# -gt 0 ]; do printf '%s' "$2" > "$1"; shift 2; done`;

export async function createNamespaces(dir: string, req: NamespaceRequest): Promise<PinnedNamespaces> {
  const paths = namespacePaths(dir, req);
  const entries = Object.entries(paths) as [keyof PinnedNamespaces, string][];
  if (entries.length === 0) return paths;
  await mkdir(dir, { recursive: true, mode: 0o711 });
  for (const [, file] of entries) await writeFile(file, "");
  const flags = entries.map(([kind, file]) => `--${kind}=${file}`);
  const sysctlArgs = [...(req.net ? req.sysctls.net : []), ...(req.ipc ? req.sysctls.ipc : [])].flatMap(([k, v]) => [sysctlPath(k), v]);
  await run("unshare", [...flags, "--", "/bin/sh", "-c", SETUP_SCRIPT, "skiff-ns-setup", req.uts ? req.hostname : "", ...sysctlArgs], {
    env: { ...process.env, SKIFF_LO: req.net ? "1" : "0" },
    timeoutMs: 30_000,
  });
  return paths;
}

export async function releaseNamespaces(paths: PinnedNamespaces): Promise<void> {
  for (const file of Object.values(paths)) {
    if (!file) continue;
    await unmountAll(file);
    await rm(file, { force: true });
  }
}
