// ContainerConfig <-> ContainerRequest/ContainerRecord.

import { constants as osConstants } from "node:os";
import type { IdMapping, UserNamespaceMappings } from "../../sandbox/userns.js";
import { invalidArgument } from "../../errors.js";
import type { ImageRecord } from "../../image-service/image-record.js";
import type { ContainerRecord, ContainerRequest, MountRequest } from "../../runtime/types.js";
import type { ProcessIdentity } from "../../runtime/user.js";
import type { Container } from "../generated/runtime/v1/Container.js";
import type { ContainerConfig__Output } from "../generated/runtime/v1/ContainerConfig.js";
import type { ContainerStatus } from "../generated/runtime/v1/ContainerStatus.js";
import { Signal } from "../generated/runtime/v1/Signal.js";
import type { SecurityProfile__Output } from "../generated/runtime/v1/SecurityProfile.js";
import type { SeccompRequest } from "../../runtime/spec/seccomp.js";
import type { LinuxContainerResources__Output } from "../generated/runtime/v1/LinuxContainerResources.js";

const PROPAGATION: Record<string, MountRequest["propagation"]> = {
  PROPAGATION_PRIVATE: "private",
  PROPAGATION_HOST_TO_CONTAINER: "host-to-container",
  PROPAGATION_BIDIRECTIONAL: "bidirectional",
};

const num = (v: string | number | undefined | null) => (v === undefined || v === null || v === "" || Number(v) === 0 ? undefined : Number(v));

/** No profile means unconfined, as for kubelet without SeccompDefault. */
function toSeccomp(p: SecurityProfile__Output | null | undefined): SeccompRequest {
  if (!p) return { kind: "unconfined" };
  if (p.profile_type === "Unconfined") return { kind: "unconfined" };
  if (p.profile_type === "Localhost") {
    if (!p.localhost_ref.startsWith("/")) throw invalidArgument(`CreateContainer: seccomp localhost_ref "${p.localhost_ref}" must be an absolute path`);
    return { kind: "localhost", path: p.localhost_ref };
  }
  return { kind: "runtime-default" };
}

export function toResources(res: LinuxContainerResources__Output | null | undefined): ContainerRequest["resources"] {
  return {
    cpuPeriod: num(res?.cpu_period),
    cpuQuota: num(res?.cpu_quota),
    cpuShares: num(res?.cpu_shares),
    memoryLimit: num(res?.memory_limit_in_bytes),
    cpusetCpus: res?.cpuset_cpus || undefined,
    cpusetMems: res?.cpuset_mems || undefined,
    oomScoreAdj: res?.oom_score_adj !== undefined && res.oom_score_adj !== null ? Number(res.oom_score_adj) : undefined,
    memorySwapLimit: num(res?.memory_swap_limit_in_bytes),
    hugepageLimits: (res?.hugepage_limits ?? []).map((h) => ({ pageSize: h.page_size, limit: Number(h.limit) })),
    unified: res?.unified ?? {},
  };
}

function requireTarget(id: string | undefined): string {
  if (!id) throw invalidArgument("CreateContainer: namespace_options.pid is TARGET but target_id names no container");
  return id;
}

type WireMapping = { host_id: number; container_id: number; length: number };

function idMappings(list: WireMapping[]): IdMapping[] {
  return list.map((r) => ({ containerId: r.container_id, hostId: r.host_id, length: r.length }));
}

function wireMappings(list: IdMapping[]): WireMapping[] {
  return list.map((r) => ({ host_id: r.hostId, container_id: r.containerId, length: r.length }));
}

/** A mount's idmapping: both lists or neither. */
function mountIdmap(uids: WireMapping[], gids: WireMapping[], what: string): UserNamespaceMappings | undefined {
  if (!uids.length && !gids.length) return undefined;
  if (!uids.length || !gids.length) throw invalidArgument(`${what}: uidMappings and gidMappings go together`);
  return { uids: idMappings(uids), gids: idMappings(gids) };
}

function containerUserNamespace(u: { mode: string; uids: WireMapping[]; gids: WireMapping[] }): NonNullable<ContainerRequest["security"]["userNamespace"]> {
  return { mode: u.mode as "POD", mappings: { uids: idMappings(u.uids ?? []), gids: idMappings(u.gids ?? []) } };
}

export function toContainerRequest(config: ContainerConfig__Output | null): ContainerRequest {
  if (!config?.metadata?.name) throw invalidArgument("CreateContainer: config.metadata.name is required");
  const image = config.image?.image?.trim();
  if (!image) throw invalidArgument("CreateContainer: config.image.image must name an image");
  const sec = config.linux?.security_context;
  const res = config.linux?.resources;
  const mounts = (config.mounts ?? []).map((m, i) => {
    if (!m.container_path.startsWith("/")) throw invalidArgument(`CreateContainer: mounts[${i}].container_path "${m.container_path}" must be absolute`);
    const ref = m.image?.image?.trim();
    if (ref) {
      // An image volume: read-only, private; image_sub_path stays inside the image.
      const sub = m.image_sub_path ?? "";
      if (sub.startsWith("/") || sub.split("/").includes("..")) throw invalidArgument(`CreateContainer: mounts[${i}].image_sub_path "${sub}" must be a relative path inside the image`);
      return { containerPath: m.container_path, hostPath: "", readonly: true, propagation: "private" as const, image: { ref, subPath: sub } };
    }
    if (!m.host_path.startsWith("/")) throw invalidArgument(`CreateContainer: mounts[${i}].host_path "${m.host_path}" must be absolute`);
    const propagation = PROPAGATION[String(m.propagation)] ?? "private";
    // The CRI's rules for recursive read-only: only on a read-only, private mount (a submount propagated in later could not be made read-only).
    if (m.recursive_read_only && !m.readonly) throw invalidArgument(`CreateContainer: mounts[${i}] (${m.container_path}): recursive_read_only needs readonly`);
    if (m.recursive_read_only && propagation !== "private") throw invalidArgument(`CreateContainer: mounts[${i}] (${m.container_path}): recursive_read_only needs propagation PROPAGATION_PRIVATE, not ${String(m.propagation)}`);
    const idmap = mountIdmap(m.uidMappings ?? [], m.gidMappings ?? [], `CreateContainer: mounts[${i}] (${m.container_path})`);
    return { containerPath: m.container_path, hostPath: m.host_path, readonly: m.readonly, propagation, ...(m.recursive_read_only ? { recursiveReadOnly: true } : {}), ...(idmap ? { idmap } : {}) };
  });
  const devices = (config.devices ?? []).map((dv, i) => {
    if (!dv.container_path.startsWith("/") || !dv.host_path.startsWith("/")) throw invalidArgument(`CreateContainer: devices[${i}] needs absolute container_path and host_path`);
    if (!/^[rwm]*$/.test(dv.permissions)) throw invalidArgument(`CreateContainer: devices[${i}].permissions "${dv.permissions}" must be made of r, w and m`);
    return { containerPath: dv.container_path, hostPath: dv.host_path, permissions: dv.permissions };
  });
  // The CRI: run_as_group is only valid together with run_as_user or run_as_username.
  if (sec?.run_as_group && !sec.run_as_user && !sec.run_as_username) {
    throw invalidArgument("CreateContainer: linux.security_context.run_as_group needs run_as_user or run_as_username");
  }
  // CDI: the CRI field, and the annotations kubelet sent before it (values: comma-separated names).
  const cdiDevices = [
    ...(config.CDI_devices ?? []).map((d) => d.name),
    ...Object.entries(config.annotations ?? {})
      .filter(([k]) => k.startsWith("cdi.k8s.io/"))
      .flatMap(([, v]) => v.split(",").map((n) => n.trim())),
  ].filter(Boolean);
  const stop = String(config.stop_signal ?? "RUNTIME_DEFAULT");
  return {
    metadata: { name: config.metadata.name, attempt: config.metadata.attempt },
    image,
    command: config.command ?? [],
    args: config.args ?? [],
    workingDir: config.working_dir,
    // KeyValue.value is bytes in CRI 1.36; environment values are text.
    envs: (config.envs ?? []).map((e) => [e.key, Buffer.from(e.value).toString("utf8")]),
    mounts,
    devices,
    ...(cdiDevices.length ? { cdiDevices: [...new Set(cdiDevices)] } : {}),
    labels: config.labels ?? {},
    annotations: config.annotations ?? {},
    logPath: config.log_path,
    stdin: config.stdin,
    stdinOnce: config.stdin_once,
    tty: config.tty,
    stopSignal: stop !== "RUNTIME_DEFAULT" ? stop : undefined,
    security: {
      privileged: sec?.privileged ?? false,
      readonlyRootfs: sec?.readonly_rootfs ?? false,
      runAsUser: sec?.run_as_user ? Number(sec.run_as_user.value) : undefined,
      runAsGroup: sec?.run_as_group ? Number(sec.run_as_group.value) : undefined,
      runAsUsername: sec?.run_as_username || undefined,
      supplementalGroups: (sec?.supplemental_groups ?? []).map(Number),
      supplementalGroupsPolicy: String(sec?.supplemental_groups_policy ?? "Merge") === "Strict" ? "strict" : "merge",
      capAdd: sec?.capabilities?.add_capabilities ?? [],
      capDrop: sec?.capabilities?.drop_capabilities ?? [],
      noNewPrivs: sec?.no_new_privs ?? false,
      maskedPaths: sec?.masked_paths?.length ? sec.masked_paths : undefined,
      readonlyPaths: sec?.readonly_paths?.length ? sec.readonly_paths : undefined,
      pidMode: (sec?.namespace_options?.pid ?? "CONTAINER") as ContainerRequest["security"]["pidMode"],
      ...(sec?.namespace_options?.userns_options ? { userNamespace: containerUserNamespace(sec.namespace_options.userns_options) } : {}),
      ...(sec?.namespace_options?.pid === "TARGET" ? { pidTargetId: requireTarget(sec.namespace_options.target_id) } : {}),
      seccomp: toSeccomp(sec?.seccomp),
      apparmor: sec?.apparmor ? (sec.apparmor.profile_type === "Localhost" ? sec.apparmor.localhost_ref : String(sec.apparmor.profile_type)) : undefined,
    },
    resources: toResources(res),
  };
}

const STATE = { creating: "CONTAINER_UNKNOWN", created: "CONTAINER_CREATED", running: "CONTAINER_RUNNING", exited: "CONTAINER_EXITED" } as const;

/** The last list item made of each record (see statuses below): ListContainers replies reuse its bytes. */
const listed = new WeakMap<ContainerRecord, { image: ImageRecord | undefined; container: Container }>();

export function toCriContainer(c: ContainerRecord, image: ImageRecord | undefined): Container {
  if (c.state === "creating") return mapContainer(c, image);
  const last = listed.get(c);
  if (last && last.image === image) return last.container;
  const container = mapContainer(c, image);
  listed.set(c, { image, container });
  return container;
}

function mapContainer(c: ContainerRecord, image: ImageRecord | undefined): Container {
  return {
    id: c.id,
    pod_sandbox_id: c.sandboxId,
    metadata: c.request.metadata,
    image: { image: c.request.image, annotations: {} },
    image_ref: image?.repoDigests[0] ?? c.imageId,
    image_id: c.imageId,
    state: STATE[c.state],
    created_at: c.createdAt,
    labels: c.request.labels,
    annotations: c.request.annotations,
  };
}

/**
 * The last status made of each record, with what it was made from: records
 * are replaced on every change, never edited (but while being created), so
 * kubelet's frequent asks about an unchanged container get the same object,
 * and fast-serialize.ts the bytes it encoded for it.
 */
const statuses = new WeakMap<ContainerRecord, { image: ImageRecord | undefined; user: ProcessIdentity | undefined; status: ContainerStatus }>();

export function toCriContainerStatus(c: ContainerRecord, image: ImageRecord | undefined, user?: ProcessIdentity): ContainerStatus {
  if (c.state === "creating") return mapStatus(c, image, user);
  const last = statuses.get(c);
  if (last && last.image === image && last.user === user) return last.status;
  const status = mapStatus(c, image, user);
  statuses.set(c, { image, user, status });
  return status;
}

function mapStatus(c: ContainerRecord, image: ImageRecord | undefined, user?: ProcessIdentity): ContainerStatus {
  return {
    id: c.id,
    metadata: c.request.metadata,
    state: STATE[c.state],
    created_at: c.createdAt,
    started_at: c.startedAt ?? "0",
    finished_at: c.finishedAt ?? "0",
    exit_code: c.exitCode ?? 0,
    image: { image: c.request.image, annotations: {} },
    image_ref: image?.repoDigests[0] ?? c.imageId,
    image_id: c.imageId,
    reason: c.reason ?? "",
    message: c.message ?? "",
    labels: c.request.labels,
    annotations: c.request.annotations,
    mounts: c.request.mounts.map((m) => ({
      container_path: m.containerPath,
      host_path: m.hostPath,
      readonly: m.readonly,
      ...(m.image ? { image: { image: m.image.ref, annotations: {} }, image_sub_path: m.image.subPath } : {}),
      propagation: m.propagation === "private" ? "PROPAGATION_PRIVATE" : m.propagation === "host-to-container" ? "PROPAGATION_HOST_TO_CONTAINER" : "PROPAGATION_BIDIRECTIONAL",
      ...(m.idmap ? { uidMappings: wireMappings(m.idmap.uids), gidMappings: wireMappings(m.idmap.gids) } : {}),
    })),
    log_path: c.logPath,
    stop_signal: stopSignalName(c.stopSignal),
    ...(user ? { user: { linux: { uid: String(user.uid), gid: String(user.gid), supplemental_groups: user.groups.map(String) } } } : {}),
    resources: {
      linux: {
        cpu_period: String(c.request.resources.cpuPeriod ?? 0),
        cpu_quota: String(c.request.resources.cpuQuota ?? 0),
        cpu_shares: String(c.request.resources.cpuShares ?? 0),
        memory_limit_in_bytes: String(c.request.resources.memoryLimit ?? 0),
        oom_score_adj: String(c.request.resources.oomScoreAdj ?? 0),
        cpuset_cpus: c.request.resources.cpusetCpus ?? "",
        cpuset_mems: c.request.resources.cpusetMems ?? "",
        memory_swap_limit_in_bytes: String(c.request.resources.memorySwapLimit ?? 0),
        hugepage_limits: (c.request.resources.hugepageLimits ?? []).map((h) => ({ page_size: h.pageSize, limit: String(h.limit) })),
        unified: c.request.resources.unified ?? {},
      },
    },
  };
}

/**
 * The CRI Signal enum name of the signal StopContainer sends (KEP-4960): from
 * the request, else the image's StopSignal ("SIGQUIT", "3", "SIGRTMIN+2"),
 * else SIGTERM. A signal the enum cannot name is RUNTIME_DEFAULT.
 */
export function stopSignalName(signal: string): keyof typeof Signal {
  let name = /^\d+$/.test(signal) ? (Object.entries(osConstants.signals).find(([, n]) => n === Number(signal))?.[0] ?? "") : signal.toUpperCase();
  if (!name.startsWith("SIG")) name = `SIG${name}`;
  name = name.replace(/^SIGRTMIN\+(\d+)$/, "SIGRTMINPLUS$1").replace(/^SIGRTMAX-(\d+)$/, "SIGRTMAXMINUS$1");
  return SIGNAL_NAMES.has(name) ? (name as keyof typeof Signal) : "RUNTIME_DEFAULT";
}

const SIGNAL_NAMES = new Set<string>(Object.keys(Signal));
