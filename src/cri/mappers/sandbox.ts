// PodSandboxConfig <-> SandboxSpec/SandboxRecord, with request validation.

import { invalidArgument } from "../../errors.js";
import type { NamespaceMode, PortMapping, SandboxRecord, SandboxSpec } from "../../sandbox/types.js";
import type { PodSandbox } from "../generated/runtime/v1/PodSandbox.js";
import type { PodSandboxConfig__Output } from "../generated/runtime/v1/PodSandboxConfig.js";
import type { PodSandboxStatus } from "../generated/runtime/v1/PodSandboxStatus.js";
import type { UserNamespace__Output } from "../generated/runtime/v1/UserNamespace.js";
import { checkPodMappings, type UserNamespaceMappings } from "../../sandbox/userns.js";

const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/**
 * The pod's own user namespace, if it asks for one. NODE (or none: kubelets
 * before 1.25) is the host's; CONTAINER and TARGET are not pod modes. A user
 * namespace cannot be combined with the host's network, IPC or PID namespace,
 * nor with privileged (as Kubernetes validates hostUsers: false).
 */
function podUserNamespace(opt: UserNamespace__Output | null, ns: SandboxSpec["namespaces"], privileged: boolean): UserNamespaceMappings | undefined {
  const what = "RunPodSandbox: userns_options";
  if (!opt || opt.mode === "NODE") return undefined;
  if (opt.mode !== "POD") throw invalidArgument(`${what}: mode ${String(opt.mode)} is not valid for a pod's user namespace (POD or NODE)`);
  for (const [kind, m] of [["network", ns.network], ["IPC", ns.ipc], ["PID", ns.pid]] as const) {
    if (m === "NODE") throw invalidArgument(`${what}: a pod with its own user namespace cannot use the host's ${kind} namespace`);
  }
  if (privileged) throw invalidArgument(`${what}: a privileged pod cannot have its own user namespace`);
  const mappings = (l: { host_id: number; container_id: number; length: number }[]) => l.map((r) => ({ containerId: r.container_id, hostId: r.host_id, length: r.length }));
  return checkPodMappings({ uids: mappings(opt.uids ?? []), gids: mappings(opt.gids ?? []) }, what);
}

function usernsOptions(u: UserNamespaceMappings | undefined) {
  if (!u) return { mode: "NODE" as const, uids: [], gids: [] };
  const wire = (l: UserNamespaceMappings["uids"]) => l.map((r) => ({ host_id: r.hostId, container_id: r.containerId, length: r.length }));
  return { mode: "POD" as const, uids: wire(u.uids), gids: wire(u.gids) };
}

function mode(v: string | undefined): NamespaceMode {
  return (v ?? "POD") as NamespaceMode;
}

export function toSandboxSpec(config: PodSandboxConfig__Output | null, runtimeHandler: string): SandboxSpec {
  if (!config) throw invalidArgument("RunPodSandbox: config is required");
  const m = config.metadata;
  const missing = [!m?.name && "metadata.name", !m?.namespace && "metadata.namespace", !m?.uid && "metadata.uid"].filter(Boolean);
  if (!m || missing.length) throw invalidArgument(`RunPodSandbox: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} required`);
  if (config.hostname && !/^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/i.test(config.hostname)) {
    throw invalidArgument(`RunPodSandbox: hostname "${config.hostname}" is not a valid host name`);
  }
  const linux = config.linux;
  const ns = linux?.security_context?.namespace_options;
  const namespaces = { network: mode(ns?.network), pid: mode(ns?.pid), ipc: mode(ns?.ipc), targetId: ns?.target_id ?? "" };
  for (const [kind, value] of Object.entries({ network: namespaces.network, ipc: namespaces.ipc })) {
    if (value !== "POD" && value !== "NODE") throw invalidArgument(`RunPodSandbox: ${kind} namespace mode ${value} is not valid for a pod (POD or NODE)`);
  }
  if (namespaces.pid === "TARGET") throw invalidArgument("RunPodSandbox: pid namespace mode TARGET is only valid for containers");
  const userNamespace = podUserNamespace(ns?.userns_options ?? null, namespaces, linux?.security_context?.privileged ?? false);
  const portMappings: PortMapping[] = (config.port_mappings ?? []).map((p, i) => {
    if (p.container_port <= 0 || p.container_port > 65535) throw invalidArgument(`RunPodSandbox: port_mappings[${i}].container_port ${p.container_port} is out of range`);
    if (p.host_port < 0 || p.host_port > 65535) throw invalidArgument(`RunPodSandbox: port_mappings[${i}].host_port ${p.host_port} is out of range`);
    return { protocol: (p.protocol ?? "TCP").toLowerCase() as PortMapping["protocol"], containerPort: p.container_port, hostPort: p.host_port, hostIp: p.host_ip };
  });
  const dns = config.dns_config ? { servers: config.dns_config.servers, searches: config.dns_config.searches, options: config.dns_config.options } : undefined;
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, attempt: m.attempt },
    hostname: config.hostname,
    logDirectory: config.log_directory,
    dns,
    // Only mappings with a host port need NAT; the rest are informational.
    portMappings: portMappings.filter((p) => p.hostPort > 0),
    labels: config.labels ?? {},
    annotations: config.annotations ?? {},
    cgroupParent: linux?.cgroup_parent ?? "",
    sysctls: linux?.sysctls ?? {},
    namespaces,
    ...(userNamespace ? { userNamespace } : {}),
    runtimeHandler,
    privileged: linux?.security_context?.privileged ?? false,
    shmSize: DEFAULT_SHM_BYTES,
  };
}

function criState(r: SandboxRecord) {
  return r.state === "ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

/**
 * The list item made of each record: records are replaced on every change,
 * never edited once created, so ListPodSandbox replies reuse the item's bytes
 * (fast-serialize.ts) while a pod stays as it is.
 */
const listed = new WeakMap<SandboxRecord, PodSandbox>();

export function toCriPodSandbox(r: SandboxRecord): PodSandbox {
  if (r.state === "creating") return mapPodSandbox(r);
  let item = listed.get(r);
  if (!item) listed.set(r, (item = mapPodSandbox(r)));
  return item;
}

function mapPodSandbox(r: SandboxRecord): PodSandbox {
  return {
    id: r.id,
    metadata: r.spec.metadata,
    state: criState(r),
    created_at: r.createdAt,
    labels: r.spec.labels,
    annotations: r.spec.annotations,
    runtime_handler: r.spec.runtimeHandler,
  };
}

export function toCriSandboxStatus(r: SandboxRecord): PodSandboxStatus {
  const ips = r.network?.ips ?? [];
  const ns = r.spec.namespaces;
  return {
    id: r.id,
    metadata: r.spec.metadata,
    state: criState(r),
    created_at: r.createdAt,
    // kubelet reads the IP of a stopped pod too (it keeps it for status until removal).
    network: { ip: ips[0] ?? "", additional_ips: ips.slice(1).map((ip) => ({ ip })) },
    linux: { namespaces: { options: { network: ns.network, pid: ns.pid, ipc: ns.ipc, target_id: ns.targetId, userns_options: usernsOptions(r.spec.userNamespace) } } },
    labels: r.spec.labels,
    annotations: r.spec.annotations,
    runtime_handler: r.spec.runtimeHandler,
  };
}
