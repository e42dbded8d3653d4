// Seccomp profiles. RuntimeDefault blocks (EPERM) the syscalls that Docker's
// default profile does not allow a container: kernel modules, keyrings,
// namespaces and mounts, clock and reboot, tracing other processes, and the
// like, unless a capability the container holds grants them. Pure.

import { invalidArgument } from "../../errors.js";

export type SeccompRequest = { kind: "unconfined" } | { kind: "runtime-default" } | { kind: "localhost"; path: string };

export const DEFAULT_BLOCKED_SYSCALLS = [
  "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
  "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
  "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount", "move_pages",
  "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root", "process_vm_readv",
  "process_vm_writev", "ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns",
  "settimeofday", "stime", "swapoff", "swapon", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd",
  "ustat", "vm86", "vm86old",
];

/**
 * Blocked syscalls a capability gives back, as in Docker's profile: a
 * container granted CAP_SYS_ADMIN may mount and make namespaces, one with
 * CAP_SYS_PTRACE may trace, and so on.
 */
const UNBLOCKED_BY: Record<string, string[]> = {
  CAP_SYS_ADMIN: ["bpf", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setns", "umount", "umount2", "unshare"],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_MODULE: ["create_module", "delete_module", "finit_module", "init_module", "query_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: ["kcmp", "process_vm_readv", "process_vm_writev", "ptrace"],
  CAP_SYS_RAWIO: ["ioperm", "iopl"],
  CAP_SYS_TIME: ["clock_adjtime", "clock_settime", "settimeofday", "stime"],
  CAP_SYS_NICE: ["get_mempolicy", "mbind", "move_pages", "set_mempolicy"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
};

/** clone(2) flags that create namespaces: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];
const EPERM = 1;
const ENOSYS = 38;

/**
 * RuntimeDefault for a container with the given capabilities. Without
 * CAP_SYS_ADMIN, clone(2) may not create namespaces (one rule per flag: the
 * flag set in the first argument means EPERM) and clone3(2), whose flags sit
 * in memory a filter cannot read, answers ENOSYS so that libc falls back to
 * clone(2).
 */
export function runtimeDefaultProfile(capabilities: string[] = []): object {
  const have = new Set(capabilities);
  const unblocked = new Set(Object.entries(UNBLOCKED_BY).flatMap(([cap, calls]) => (have.has(cap) ? calls : [])));
  const syscalls: object[] = [{ names: DEFAULT_BLOCKED_SYSCALLS.filter((c) => !unblocked.has(c)), action: "SCMP_ACT_ERRNO", errnoRet: EPERM }];
  if (!have.has("CAP_SYS_ADMIN")) {
    for (const flag of CLONE_NAMESPACE_FLAGS) {
      syscalls.push({ names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }] });
    }
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    syscalls,
  };
}

/** Parses a Localhost profile file's content; refuses what is not an OCI seccomp profile. */
export function parseLocalhostProfile(text: string, source: string): object {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidArgument(`seccomp profile ${source} is not valid JSON`);
  }
  if (typeof doc !== "object" || doc === null || typeof (doc as { defaultAction?: unknown }).defaultAction !== "string") {
    throw invalidArgument(`seccomp profile ${source} has no defaultAction`);
  }
  return doc;
}
