// The OCI spec of a pod's infra process: catatonit -P as PID 1 of the pod's
// PID namespace, reaping zombies, with no capabilities, from a read-only rootfs
// holding only the static catatonit binary. Pure.

import { ociMappings, type UserNamespaceMappings } from "../../sandbox/userns.js";

export interface InfraSpecInput {
  rootfs: string;
  namespaces: { user?: string; net?: string; ipc?: string; uts?: string };
  /** The pod's own user namespace's mappings (its pin is namespaces.user). */
  userNamespace?: UserNamespaceMappings;
  cgroupsPath: string;
}

export function infraSpec(input: InfraSpecInput): object {
  const joined = (["user", "net", "ipc", "uts"] as const)
    .filter((k) => input.namespaces[k])
    .map((k) => ({ type: k === "net" ? "network" : k, path: input.namespaces[k] }));
  const user = input.userNamespace && input.namespaces.user;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/catatonit", "-P"],
      env: ["PATH=/"],
      cwd: "/",
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: true },
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=64k"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, ...joined],
      ...(user ? { uidMappings: ociMappings(input.userNamespace!.uids), gidMappings: ociMappings(input.userNamespace!.gids) } : {}),
      cgroupsPath: input.cgroupsPath,
      maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}
