// Which uid, gid and groups a container runs as: CRI run_as_user /
// run_as_username / run_as_group over the image's User, names looked up in the
// image's own /etc/passwd and /etc/group, plus supplemental groups.

import { lstat, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { invalidArgument } from "../errors.js";
import { toContainerId, type UserNamespaceMappings } from "../sandbox/userns.js";
import type { ResolvedUser } from "./spec/container-spec.js";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 3 || !/^\d+$/.test(f[2]!)) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) }];
  });
}

export interface UserRequest {
  imageUser: string;
  runAsUser?: number;
  runAsUsername?: string;
  runAsGroup?: number;
  supplementalGroups: number[];
  supplementalGroupsPolicy?: "merge" | "strict";
}

/** Pure: resolves against the image's passwd/group contents. */
export function resolveUser(req: UserRequest, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  let [userPart = "", groupPart] = req.imageUser.split(":");
  if (req.runAsUsername) {
    userPart = req.runAsUsername;
    groupPart = undefined;
  } else if (req.runAsUser !== undefined) {
    userPart = String(req.runAsUser);
    groupPart = undefined;
  }
  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  if (userPart === "") {
    name = "root";
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`user "${userPart}" is not in the image's /etc/passwd`);
    ({ uid, gid } = entry);
    name = entry.name;
  }
  if (groupPart) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw invalidArgument(`group "${groupPart}" is not in the image's /etc/group`);
      gid = g.gid;
    }
  }
  if (req.runAsGroup !== undefined) gid = req.runAsGroup;
  const additional = new Set<number>();
  if (name && req.supplementalGroupsPolicy !== "strict") for (const g of groups) if (g.members.includes(name) && g.gid !== gid) additional.add(g.gid);
  for (const g of req.supplementalGroups) if (g !== gid) additional.add(g);
  return { uid, gid, additionalGids: [...additional] };
}

/**
 * The host path of `file` inside a container rootfs, with symlinks resolved
 * inside that rootfs: an image's /etc/passwd -> /etc/shadow, or /data -> /,
 * must not lead to the host's files. Undefined when it does not exist.
 */
export async function resolveInRoot(root: string, file: string): Promise<string | undefined> {
  let rel = file.replace(/^\/+/, "").split("/").filter(Boolean);
  let resolved: string[] = [];
  for (let hops = 0; rel.length; ) {
    const part = rel.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const full = path.join(root, ...resolved, part);
    const st = await lstat(full).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = await readlink(full);
      if (target.startsWith("/")) resolved = [];
      rel = [...target.split("/").filter(Boolean), ...rel];
      continue;
    }
    resolved.push(part);
  }
  return path.join(root, ...resolved);
}

/** Reads a file of a container rootfs (see resolveInRoot); missing: "". */
export async function readFileInRoot(root: string, file: string): Promise<string> {
  const real = await resolveInRoot(root, file);
  return real ? readFile(real, "utf8").catch(() => "") : "";
}

/** The users and groups a rootfs lists in /etc/passwd and /etc/group. */
export interface Accounts {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
}

export async function readAccounts(rootfs: string): Promise<Accounts> {
  const [passwd, group] = await Promise.all([readFileInRoot(rootfs, "/etc/passwd"), readFileInRoot(rootfs, "/etc/group")]);
  return { passwd: parsePasswd(passwd), groups: parseGroup(group) };
}

export interface ProcessIdentity {
  uid: number;
  gid: number;
  /** Supplemental groups, the primary group among them (as `id -G` lists them). */
  groups: number[];
}

/** The effective uid, gid and groups in /proc/<pid>/status. Pure; undefined if the lines are missing. */
/** A host-side identity as the user namespace with these mappings sees it (unmapped ids are the overflow id, 65534). Pure. */
export function identityInside(id: ProcessIdentity, m: UserNamespaceMappings): ProcessIdentity {
  const uid = toContainerId(id.uid, m.uids) ?? OVERFLOW_ID;
  const gid = toContainerId(id.gid, m.gids) ?? OVERFLOW_ID;
  return { uid, gid, groups: [...new Set(id.groups.map((g) => toContainerId(g, m.gids) ?? OVERFLOW_ID))].sort((a, b) => a - b) };
}

/** What the kernel shows for an id that a user namespace does not map. */
const OVERFLOW_ID = 65534;

export function parseProcessIdentity(status: string): ProcessIdentity | undefined {
  // [ \t], not \s: an empty Groups line must not run into the next one.
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/).filter(Boolean).map(Number);
  const uids = field("Uid");
  const gids = field("Gid");
  if (!uids?.length || !gids?.length) return undefined;
  const gid = gids[1] ?? gids[0]!;
  return { uid: uids[1] ?? uids[0]!, gid, groups: [...new Set([gid, ...(field("Groups") ?? [])])].sort((a, b) => a - b) };
}
