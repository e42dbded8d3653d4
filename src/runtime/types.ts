import type { UserNamespaceMappings } from "../sandbox/userns.js";
// Containers in skiff's own terms (the CRI edge converts to and from these).

import type { SandboxRecord } from "../sandbox/types.js";
import type { SeccompRequest } from "./spec/seccomp.js";

export type ContainerState = "creating" | "created" | "running" | "exited";

export interface MountRequest {
  containerPath: string;
  /** "" for an image volume. */
  hostPath: string;
  readonly: boolean;
  /** Read-only in every submount too (OCI option "rro": mount_setattr with AT_RECURSIVE). */
  recursiveReadOnly?: boolean;
  propagation: "private" | "host-to-container" | "bidirectional";
  /** An image volume (CRI Mount.image): the image's filesystem, read-only, or one directory of it. */
  image?: { ref: string; subPath: string };
  /** Idmapped with these mappings (the pod's user namespace's; CRI Mount.uidMappings/gidMappings). */
  idmap?: UserNamespaceMappings;
}

/** CDI device names ("vendor.com/class=name"), from CDI_devices and cdi.k8s.io/* annotations. */
export type CdiDeviceNames = string[];

export interface DeviceRequest {
  containerPath: string;
  hostPath: string;
  /** Any of r, w, m. */
  permissions: string;
}

/** A host device as the OCI spec describes it (type and numbers read from the host). */
export interface DeviceNode {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  permissions: string;
}

export interface ContainerRequest {
  metadata: { name: string; attempt: number };
  image: string;
  command: string[];
  args: string[];
  workingDir: string;
  envs: [string, string][];
  mounts: MountRequest[];
  devices: DeviceRequest[];
  /** CDI devices to resolve and apply at creation (absent in records made before CDI). */
  cdiDevices?: CdiDeviceNames;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the pod's log directory. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  /** From the request (e.g. "SIGQUIT"); else the image's StopSignal; else SIGTERM. */
  stopSignal?: string;
  tty: boolean;
  security: {
    privileged: boolean;
    readonlyRootfs: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    runAsUsername?: string;
    supplementalGroups: number[];
    /** KEP-3619: "strict" adds no groups from the image's /etc/group; "merge" (the default) does. */
    supplementalGroupsPolicy?: "merge" | "strict";
    capAdd: string[];
    capDrop: string[];
    noNewPrivs: boolean;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    pidMode: "POD" | "CONTAINER" | "NODE" | "TARGET";
    /** With pidMode TARGET: the container whose PID namespace to join (kubectl debug --target). */
    pidTargetId?: string;
    /** What the container's own userns_options asked for (kubelet repeats the pod's); absent: nothing. */
    userNamespace?: { mode: "POD" | "CONTAINER" | "NODE" | "TARGET"; mappings: UserNamespaceMappings };
    seccomp: SeccompRequest;
    /** Requested AppArmor profile; a no-op (logged) on hosts without AppArmor. */
    apparmor?: string;
  };
  resources: {
    cpuPeriod?: number;
    cpuQuota?: number;
    cpuShares?: number;
    memoryLimit?: number;
    cpusetCpus?: string;
    cpusetMems?: string;
    oomScoreAdj?: number;
    /** Memory + swap, as cgroup v1's memsw and the OCI spec define it. */
    memorySwapLimit?: number;
    hugepageLimits?: { pageSize: string; limit: number }[];
    /** cgroup v2 keys; refused on cgroup v1 hosts. */
    unified?: Record<string, string>;
  };
}

export interface ContainerRecord {
  id: string;
  /** "<container>_<pod>_<namespace>_<uid>_<attempt>", unique while the container exists. */
  name: string;
  sandboxId: string;
  request: ContainerRequest;
  imageId: string;
  /** The image's top chain id: the snapshot the rootfs stacks on. */
  chainId: string;
  /** Top chain ids of the images mounted as image volumes (kept from GC while the container exists). */
  imageVolumeChains?: string[];
  runtimeHandler: string;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  message?: string;
  pid?: number;
  /** Absolute path of the CRI log file, "" when the pod has no log directory. */
  logPath: string;
  dir: string;
  rootfs: string;
  stopSignal: string;
  /** The identity its process was given (uid, gid, supplemental groups), resolved at creation. */
  user?: { uid: number; gid: number; groups: number[] };
  /**
   * Restored from this checkpoint archive: its process already runs when the
   * creation returns (CRIU restores it running), so StartContainer only records the start.
   */
  restoredFrom?: string;
}

export type ContainerEventType = "created" | "started" | "stopped" | "deleted";

/** A lifecycle event with the pod's records as they were at that moment. */
export interface ContainerEvent {
  type: ContainerEventType;
  containerId: string;
  /** Nanoseconds since the epoch. */
  at: string;
  sandbox?: SandboxRecord;
  containers: ContainerRecord[];
}
