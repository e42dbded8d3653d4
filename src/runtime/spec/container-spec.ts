// The OCI runtime spec of a container: the image config merged with the CRI
// request the way kubelet expects (command replaces Entrypoint, args replace
// Cmd, CRI env overrides image env by name), the pod's namespaces and files,
// and the security context and resources. Pure.

import { invalidArgument } from "../../errors.js";
import type { ImageConfig } from "../../image-service/media-types.js";
import type { ContainerRequest, DeviceNode } from "../types.js";
import { runtimeDefaultProfile } from "./seccomp.js";
import type { CdiEdits } from "../cdi.js";
import { ociMappings, type UserNamespaceMappings } from "../../sandbox/userns.js";

/** Where containers and infra processes go when the pod has no cgroup parent. */
export const DEFAULT_CGROUP_PARENT = "/skiff";

/** A container's cgroup: under the pod's cgroup parent (kubelet's pod cgroup), or skiff's own. */
export function containerCgroupPath(podCgroupParent: string, containerId: string): string {
  return `${(podCgroupParent || DEFAULT_CGROUP_PARENT).replace(/\/+$/, "")}/${containerId}`;
}

export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Every Linux capability, in number order (the bit positions of /proc/<pid>/status Cap* masks). */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
  "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** The capabilities in a hex mask such as /proc/self/status's CapBnd. Pure. */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

export const DEFAULT_MASKED_PATHS = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"];
export const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface PodContext {
  namespaces: { user?: string; net?: string; ipc?: string; uts?: string };
  /** The mappings of the pod's own user namespace (pinned at namespaces.user), which the container joins. */
  userNamespace?: UserNamespaceMappings;
  /** The infra's PID, when the pod shares a PID namespace. */
  infraPid?: number;
  hostname: string;
  filesDir: string;
  shm?: string;
  cgroupParent: string;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface SpecInput {
  id: string;
  sandboxId: string;
  rootfs: string;
  request: ContainerRequest;
  image: ImageConfig;
  pod: PodContext;
  user: ResolvedUser;
  /** oom_score_adj may not go below the daemon's own (no CAP_SYS_RESOURCE). */
  oomScoreAdjFloor: number;
  /** Capabilities the daemon holds (its bounding set). */
  availableCapabilities: string[];
  /** The profile of a Localhost seccomp request, read by the caller. */
  localhostSeccomp?: object;
  /** The request's devices, with type and numbers read from the host by the caller. */
  devices?: DeviceNode[];
  /** Anonymous directories for the image's Volumes (made by the caller). */
  imageVolumes?: { containerPath: string; hostPath: string }[];
  /** With pidMode TARGET: the host pid of the target container's process (checked by the caller). */
  pidTargetPid?: number;
  /** Image volumes (CRI Mount.image), mounted read-only by the caller: what to bind where. */
  imageMounts?: { containerPath: string; source: string }[];
  /** CDI devices' edits other than device nodes and groups (those come in devices and user). */
  cdi?: Pick<CdiEdits, "env" | "mounts" | "hooks">;
}

/** KEY=VALUE entries, later ones replacing earlier ones of the same key. Pure. */
function overrideEnv(base: string[], extra: string[]): string[] {
  const keys = new Set(extra.map((e) => e.slice(0, e.indexOf("="))));
  return [...base.filter((e) => !keys.has(e.slice(0, e.indexOf("=")))), ...extra];
}

/** A CDI mount as an OCI mount: a bind unless it says otherwise. Pure. */
function cdiMount(m: CdiEdits["mounts"][number]): object {
  const type = m.type ?? "bind";
  const options = [...(m.options ?? [])];
  if (type === "bind" && !options.some((o) => o === "bind" || o === "rbind")) options.unshift("rbind");
  return { destination: m.containerPath, type, source: m.hostPath, options };
}

function normaliseCap(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/**
 * Default set, minus drops, plus adds; "ALL" works in both lists as in Docker
 * and containerd. "ALL" and privileged mean all that the daemon itself holds
 * (`available`): a container cannot get a capability its runtime lacks.
 */
export function capabilities(add: string[], drop: string[], privileged: boolean, available: string[] = ALL_CAPABILITIES): string[] {
  if (privileged) return [...available];
  const adds = add.map(normaliseCap);
  const drops = drop.map(normaliseCap);
  let set = drops.includes("CAP_ALL") ? [] : DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
  if (adds.includes("CAP_ALL")) set = available.filter((c) => !drops.includes(c) || adds.includes(c));
  for (const c of adds) if (c !== "CAP_ALL" && !set.includes(c)) set.push(c);
  for (const c of set) if (!ALL_CAPABILITIES.includes(c)) throw invalidArgument(`unknown capability "${c}"`);
  return set;
}

/** command/args over Entrypoint/Cmd, as kubelet and Docker define it. */
export function processArgs(request: ContainerRequest, image: ImageConfig): string[] {
  const entrypoint = request.command.length ? request.command : (image.config?.Entrypoint ?? []);
  const cmd = request.args.length ? request.args : request.command.length ? [] : (image.config?.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalidArgument("the container has no command: neither the request nor the image gives one");
  return args;
}

/** Image env, then CRI env overriding by name, with a PATH when neither gives one. */
export function processEnv(request: ContainerRequest, image: ImageConfig, hostname: string): string[] {
  const env = new Map<string, string>();
  for (const e of image.config?.Env ?? []) {
    const i = e.indexOf("=");
    env.set(i < 0 ? e : e.slice(0, i), e);
  }
  for (const [k, v] of request.envs) env.set(k, `${k}=${v}`);
  if (!env.has("PATH")) env.set("PATH", DEFAULT_PATH);
  if (!env.has("HOSTNAME")) env.set("HOSTNAME", `HOSTNAME=${hostname}`);
  return [...env.values()];
}

const PROPAGATION = { private: "rprivate", "host-to-container": "rslave", bidirectional: "rshared" } as const;

/**
 * The container rootfs's propagation: mounts made below a host-to-container
 * mount must reach the container through its rootfs, so the rootfs is rslave
 * (rshared for bidirectional ones); otherwise rprivate. Pure.
 */
export function rootfsPropagation(mounts: ContainerRequest["mounts"]): "rshared" | "rslave" | "rprivate" {
  if (mounts.some((m) => m.propagation === "bidirectional")) return "rshared";
  if (mounts.some((m) => m.propagation === "host-to-container")) return "rslave";
  return "rprivate";
}

/** CRI resources -> OCI linux.resources (cpu, memory): used at create and by UpdateContainerResources. */
export function ociResources(r: ContainerRequest["resources"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const cpu: Record<string, unknown> = {};
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpuQuota) cpu.quota = r.cpuQuota;
  if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.memoryLimit || r.memorySwapLimit) out.memory = { ...(r.memoryLimit ? { limit: r.memoryLimit } : {}), ...(r.memorySwapLimit ? { swap: r.memorySwapLimit } : {}) };
  if (r.hugepageLimits?.length) out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: h.limit }));
  if (r.unified && Object.keys(r.unified).length) out.unified = r.unified;
  return out;
}

export function buildContainerSpec(input: SpecInput): object {
  const { request, image, pod, user } = input;
  const sec = request.security;
  const caps = capabilities(sec.capAdd, sec.capDrop, sec.privileged, input.availableCapabilities);
  const mounts: object[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    // Privileged containers see the host's devices.
    sec.privileged
      ? { destination: "/dev", type: "bind", source: "/dev", options: ["rbind", "rslave", "rw"] }
      : { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", sec.privileged ? "rw" : "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    pod.shm
      ? { destination: "/dev/shm", type: "bind", source: pod.shm, options: ["rbind", "rprivate", "rw"] }
      : { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
  ];
  const userPaths = new Set(request.mounts.map((m) => m.containerPath));
  for (const f of ["hostname", "hosts", "resolv.conf"]) {
    const dest = `/etc/${f}`;
    if (!userPaths.has(dest)) mounts.push({ destination: dest, type: "bind", source: `${pod.filesDir}/${f}`, options: ["rbind", "rprivate", sec.readonlyRootfs ? "ro" : "rw"] });
  }
  for (const v of input.imageVolumes ?? []) {
    mounts.push({ destination: v.containerPath, type: "bind", source: v.hostPath, options: ["rbind", "rprivate", "rw"] });
  }
  for (const v of input.imageMounts ?? []) {
    mounts.push({ destination: v.containerPath, type: "bind", source: v.source, options: ["rbind", "rprivate", "ro"] });
  }
  for (const m of request.mounts) {
    if (m.image) continue;
    mounts.push({ destination: m.containerPath, type: "bind", source: m.hostPath, options: ["rbind", PROPAGATION[m.propagation], m.recursiveReadOnly ? "rro" : m.readonly ? "ro" : "rw"] });
  }
  for (const m of input.cdi?.mounts ?? []) mounts.push(cdiMount(m));

  const namespaces: object[] = [{ type: "mount" }];
  const userns = pod.userNamespace && pod.namespaces.user;
  // Joined first by the runtime, so that it may join the namespaces this one owns.
  if (userns) namespaces.unshift({ type: "user", path: userns });
  if (pod.namespaces.net) namespaces.push({ type: "network", path: pod.namespaces.net });
  if (pod.namespaces.ipc) namespaces.push({ type: "ipc", path: pod.namespaces.ipc });
  if (pod.namespaces.uts) namespaces.push({ type: "uts", path: pod.namespaces.uts });
  if (sec.pidMode === "POD" && pod.infraPid) namespaces.push({ type: "pid", path: `/proc/${pod.infraPid}/ns/pid` });
  else if (sec.pidMode === "TARGET" && input.pidTargetPid) namespaces.push({ type: "pid", path: `/proc/${input.pidTargetPid}/ns/pid` });
  else if (sec.pidMode !== "NODE") namespaces.push({ type: "pid" });

  const r = request.resources;
  const linuxResources: Record<string, unknown> = ociResources(r);
  const devices = input.devices ?? [];
  if (sec.privileged) linuxResources.devices = [{ allow: true, access: "rwm" }];
  else {
    linuxResources.devices = [
      { allow: false, access: "rwm" },
      ...devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions })),
    ];
  }

  const process: Record<string, unknown> = {
    terminal: request.tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    args: processArgs(request, image),
    env: overrideEnv(processEnv(request, image, pod.hostname), input.cdi?.env ?? []),
    cwd: request.workingDir || image.config?.WorkingDir || "/",
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: sec.noNewPrivs,
  };
  if (r.oomScoreAdj !== undefined) process.oomScoreAdj = Math.max(r.oomScoreAdj, input.oomScoreAdjFloor);

  const hooks: Record<string, object[]> = {};
  for (const h of input.cdi?.hooks ?? []) (hooks[h.hookName] ??= []).push({ path: h.path, args: h.args, env: h.env, timeout: h.timeout });
  return {
    ociVersion: "1.0.2",
    process,
    ...(Object.keys(hooks).length ? { hooks } : {}),
    root: { path: input.rootfs, readonly: sec.readonlyRootfs },
    mounts,
    annotations: {
      ...request.annotations,
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.container-name": request.metadata.name,
      "io.kubernetes.cri.sandbox-id": input.sandboxId,
    },
    linux: {
      rootfsPropagation: rootfsPropagation(request.mounts),
      namespaces,
      ...(userns ? { uidMappings: ociMappings(pod.userNamespace!.uids), gidMappings: ociMappings(pod.userNamespace!.gids) } : {}),
      devices: devices.map((d) => ({ path: d.path, type: d.type, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: 0, gid: 0 })),
      resources: linuxResources,
      cgroupsPath: containerCgroupPath(pod.cgroupParent, input.id),
      maskedPaths: sec.privileged ? [] : (sec.maskedPaths ?? DEFAULT_MASKED_PATHS),
      readonlyPaths: sec.privileged ? [] : (sec.readonlyPaths ?? DEFAULT_READONLY_PATHS),
      seccomp: sec.privileged ? undefined : sec.seccomp.kind === "runtime-default" ? runtimeDefaultProfile(caps) : sec.seccomp.kind === "localhost" ? input.localhostSeccomp : undefined,
    },
  };
}
