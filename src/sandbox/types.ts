// Pod sandboxes in skiff's own terms (the CRI edge converts to and from these).

import type { PodResources } from "./pod-resources.js";
import type { UserNamespaceMappings } from "./userns.js";

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

export interface PortMapping {
  protocol: "tcp" | "udp" | "sctp";
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

/** What the pod asked for. */
export interface SandboxSpec {
  metadata: PodMetadata;
  hostname: string;
  logDirectory: string;
  dns?: DnsConfig;
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cgroupParent: string;
  sysctls: Record<string, string>;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode; targetId: string };
  /** A user namespace of the pod's own (userns mode POD); absent: the host's. */
  userNamespace?: UserNamespaceMappings;
  runtimeHandler: string;
  /** Kept for containers (issue: containers inherit pod-level security settings). */
  privileged: boolean;
  /** shm size in bytes. */
  shmSize: number;
}

export type SandboxState = "creating" | "ready" | "notready";

export interface SandboxNetwork {
  /** The network list used for ADD, kept so DEL uses the same one even if the conf dir changed. */
  config: unknown;
  /** The CNI result of ADD, passed as prevResult to DEL. */
  result: unknown;
  ips: string[];
  /** ADD succeeded and DEL has not yet succeeded. */
  attached: boolean;
}

export interface SandboxRecord {
  id: string;
  /** "<name>_<namespace>_<uid>_<attempt>": unique while the sandbox exists. */
  name: string;
  spec: SandboxSpec;
  state: SandboxState;
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  createdAt: string;
  runtimeHandler: string;
  /** Pinned namespace files (absent: the host's namespace is used). A user namespace owns the others. */
  namespaces: { user?: string; net?: string; ipc?: string; uts?: string };
  /** tmpfs for /dev/shm when IPC is per pod. */
  shm?: string;
  /** The hostname its UTS namespace and containers get (absent in records made before it was kept). */
  hostname?: string;
  /** Durable per-sandbox files: hostname, hosts, resolv.conf. */
  filesDir: string;
  network?: SandboxNetwork;
  /** The infra (PID 1) process of a pod with a shared PID namespace. */
  infra?: { containerId: string; pid: number; bundle: string };
  /** The pod cgroup's limits of the last in-place resize (UpdatePodSandboxResources), overhead included. */
  resources?: PodResources;
}

/**
 * The pod's hostname: the one asked for, else the node's (as containerd and
 * CRI-O do: a pod name may be longer than a hostname can be). Records made
 * before the hostname was kept used the pod's name.
 */
export function podHostname(record: Pick<SandboxRecord, "hostname" | "spec">): string {
  return record.hostname ?? (record.spec.hostname || record.spec.metadata.name);
}

export function sandboxName(m: PodMetadata): string {
  return `${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}
