// Object ids: 64 lowercase hex characters, like containerd's and CRI-O's.
// Users may type any unique prefix (crictl shortens ids to 13 characters).

import { randomBytes } from "node:crypto";
import { invalidArgument, notFound } from "../errors.js";

export function newId(): string {
  return randomBytes(32).toString("hex");
}

/** Whether a name (of a directory, say) is a whole id. Pure. */
export function isId(name: string): boolean {
  return /^[a-f0-9]{64}$/.test(name);
}

/**
 * Resolves `query` (a full id or a unique prefix) among `ids`.
 * Returns undefined when nothing matches; throws when the prefix is ambiguous.
 */
export function resolveIdPrefix(ids: Iterable<string>, query: string, kind: string): string | undefined {
  if (!query || !/^[a-f0-9]{1,64}$/.test(query)) return undefined;
  let found: string | undefined;
  let count = 0;
  for (const id of ids) {
    if (!id.startsWith(query)) continue;
    if (id === query) return id;
    found = id;
    count++;
  }
  if (count > 1) throw invalidArgument(`${kind} id prefix "${query}" is ambiguous: it matches ${count} ${kind}s; give more characters`);
  return found;
}

/** Like resolveIdPrefix, but a miss is NOT_FOUND naming the kind and the id. */
export function requireId(ids: Iterable<string>, query: string, kind: string): string {
  const id = resolveIdPrefix(ids, query, kind);
  if (!id) throw notFound(`${kind} "${query}" not found`);
  return id;
}
