// Which sysctls a pod may set, and in which of its namespaces. Only namespaced
// sysctls can be per pod (the same split as kubelet's and runc's): net.* in the
// network namespace, IPC ones in the IPC namespace. Pure.

import { invalidArgument } from "../errors.js";

const IPC_SYSCTLS = new Set(["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]);

/** A sysctl write is one page at most. */
const MAX_SYSCTL_VALUE = 4095;

export interface SysctlPlan {
  net: [string, string][];
  ipc: [string, string][];
}

/** Splits by namespace; refuses names that are not namespaced or that would share the host's. */
export function planSysctls(sysctls: Record<string, string>, opts: { hostNetwork: boolean; hostIpc: boolean }): SysctlPlan {
  const plan: SysctlPlan = { net: [], ipc: [] };
  for (const [rawKey, value] of Object.entries(sysctls)) {
    const key = rawKey.replaceAll("/", ".");
    if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) throw invalidArgument(`sysctl "${rawKey}" is not a valid sysctl name`);
    if (/[\n\0]/.test(value)) throw invalidArgument(`sysctl "${rawKey}" has an invalid value`);
    if (value.length > MAX_SYSCTL_VALUE) throw invalidArgument(`sysctl "${rawKey}" has a value of ${value.length} bytes; the kernel takes at most ${MAX_SYSCTL_VALUE}`);
    if (key.startsWith("net.")) {
      if (opts.hostNetwork) throw invalidArgument(`sysctl "${rawKey}" cannot be set in a pod that uses the host network`);
      plan.net.push([key, value]);
    } else if (IPC_SYSCTLS.has(key) || key.startsWith("fs.mqueue.")) {
      if (opts.hostIpc) throw invalidArgument(`sysctl "${rawKey}" cannot be set in a pod that uses the host IPC namespace`);
      plan.ipc.push([key, value]);
    } else {
      throw invalidArgument(`sysctl "${rawKey}" is not namespaced and cannot be set per pod (allowed: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)`);
    }
  }
  return plan;
}

/** "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward" */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}
