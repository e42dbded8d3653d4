// Seccomp profiles. RuntimeDefault blocks (EPERM) the syscalls that Docker's
// default profile does not allow a container: kernel modules, keyrings,
// namespaces and mounts, clock and reboot, tracing other processes, and the
// like. Pure.

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

export function runtimeDefaultProfile(): object {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    syscalls: [{ names: DEFAULT_BLOCKED_SYSCALLS, action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
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
