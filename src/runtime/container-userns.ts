// Which user namespace a container gets: its pod's own, or the host's. The
// container's request must agree with its pod (kubelet repeats the pod's
// userns_options and puts the same mappings on volumes), and a container in a
// pod's user namespace can use neither privileged mode nor the host's PID
// namespace. Pure.

import { invalidArgument } from "../errors.js";
import type { SandboxRecord } from "../sandbox/types.js";
import { sameMappings, toHostId, type UserNamespaceMappings } from "../sandbox/userns.js";
import type { PodUserNamespace } from "./idmapped-mounts.js";
import type { ContainerRequest } from "./types.js";

function same(a: UserNamespaceMappings, b: UserNamespaceMappings): boolean {
  return sameMappings(a.uids, b.uids) && sameMappings(a.gids, b.gids);
}

export function containerUserNamespace(pod: Pick<SandboxRecord, "id" | "namespaces" | "spec">, request: ContainerRequest): PodUserNamespace | undefined {
  const mappings = pod.spec.userNamespace;
  const pinned = mappings && pod.namespaces.user;
  const asked = request.security.userNamespace;
  const what = "CreateContainer";
  if (asked && asked.mode !== "POD" && asked.mode !== "NODE") throw invalidArgument(`${what}: userns_options mode ${asked.mode} is not supported (POD or NODE)`);
  if (asked?.mode === "POD" && !pinned) throw invalidArgument(`${what}: the container asks for its pod's user namespace, but pod ${pod.id} has none (it uses the host's)`);
  if (asked?.mode === "NODE" && pinned) throw invalidArgument(`${what}: pod ${pod.id} has its own user namespace; its containers cannot use the host's`);
  if (asked?.mode === "POD" && (asked.mappings.uids.length || asked.mappings.gids.length) && !same(asked.mappings, mappings!)) {
    throw invalidArgument(`${what}: the container's user namespace mappings differ from those of pod ${pod.id}`);
  }
  for (const m of request.mounts) {
    if (!m.idmap) continue;
    if (!pinned) throw invalidArgument(`${what}: the mount at ${m.containerPath} is idmapped, but pod ${pod.id} has no user namespace of its own`);
    if (!same(m.idmap, mappings!)) throw invalidArgument(`${what}: the mount at ${m.containerPath} asks for other idmappings than pod ${pod.id}'s user namespace (only the pod's are supported)`);
  }
  if (!pinned) return undefined;
  if (request.security.privileged) throw invalidArgument(`${what}: a privileged container cannot run in its pod's user namespace`);
  if (request.security.pidMode === "NODE") throw invalidArgument(`${what}: a container in its pod's user namespace cannot use the host's PID namespace`);
  return { path: pinned, mappings: mappings!, root: { uid: toHostId(0, mappings!.uids)!, gid: toHostId(0, mappings!.gids)! } };
}
