// A pod's user namespace (KEP-127, `hostUsers: false`) in skiff's terms: the
// one uid and one gid range kubelet maps, checked as the CRI requires, and the
// conversions between the ids seen inside and the host's. Pure.

import { invalidArgument } from "../errors.js";

export interface IdMapping {
  containerId: number;
  hostId: number;
  length: number;
}

export interface UserNamespaceMappings {
  uids: IdMapping[];
  gids: IdMapping[];
}

const MAX_ID = 2 ** 32 - 1;

/**
 * The mappings of a POD-mode user namespace, checked: exactly one range each,
 * container id 0 mapped, within 32-bit ids. `what` names the request for the
 * error message.
 */
export function checkPodMappings(m: UserNamespaceMappings, what: string): UserNamespaceMappings {
  for (const [kind, list] of [["uids", m.uids], ["gids", m.gids]] as const) {
    if (list.length !== 1) throw invalidArgument(`${what}: a pod user namespace needs exactly one ${kind} mapping, got ${list.length}`);
    const [r] = list as [IdMapping];
    if (r.containerId !== 0) throw invalidArgument(`${what}: the ${kind} mapping must map container id 0 (it starts at ${r.containerId})`);
    if (r.length < 1) throw invalidArgument(`${what}: the ${kind} mapping has length 0`);
    if (r.hostId + r.length - 1 > MAX_ID) throw invalidArgument(`${what}: the ${kind} mapping ${r.hostId}+${r.length} goes past the largest id`);
  }
  return m;
}

/** The text of /proc/<pid>/uid_map (or gid_map) for these ranges. */
export function idMapText(list: IdMapping[]): string {
  return list.map((r) => `${r.containerId} ${r.hostId} ${r.length}\n`).join("");
}

/** The host id of a container id (the OCI runtime's chown target), or undefined when unmapped. */
export function toHostId(id: number, list: IdMapping[]): number | undefined {
  const r = list.find((m) => id >= m.containerId && id < m.containerId + m.length);
  return r ? r.hostId + (id - r.containerId) : undefined;
}

/** The container id of a host id (what the container sees), or undefined when unmapped. */
export function toContainerId(hostId: number, list: IdMapping[]): number | undefined {
  const r = list.find((m) => hostId >= m.hostId && hostId < m.hostId + m.length);
  return r ? r.containerId + (hostId - r.hostId) : undefined;
}

/** Whether two mapping lists are the same ranges. */
export function sameMappings(a: IdMapping[], b: IdMapping[]): boolean {
  return a.length === b.length && a.every((r, i) => r.containerId === b[i]!.containerId && r.hostId === b[i]!.hostId && r.length === b[i]!.length);
}

/** OCI's linux.uidMappings/gidMappings (and a mount's) form. */
export function ociMappings(list: IdMapping[]): { containerID: number; hostID: number; size: number }[] {
  return list.map((r) => ({ containerID: r.containerId, hostID: r.hostId, size: r.length }));
}
