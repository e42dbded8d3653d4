// Size and shape limits of every request, checked at the edge before any
// handler runs: a caller's mistake (or a fuzzer's megabytes) is answered with
// INVALID_ARGUMENT naming the field, never carried into ids, paths, logs or
// the OCI spec. Pure: a walk over the decoded request.

import { invalidArgument } from "../errors.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** PATH_MAX, with its NUL. */
export const MAX_PATH = 4095;
/** Kubernetes' limit on a pod's annotations, all together; labels get the same. */
export const MAX_MAP_BYTES = 256 * KiB;
/** Command and arguments, or environment, all together (the kernel's ARG_MAX is 2 MiB for both). */
export const MAX_ARGV_BYTES = 1 * MiB;
/** Any other text field. */
export const MAX_TEXT = 64 * KiB;
export const MAX_LIST_ITEMS = 65_536;

/**
 * Ids and id prefixes: at most 64 characters (an id is 64 hex). Shorter
 * strings that are no id are left to the lookups, which answer NOT_FOUND (or
 * an empty list for a filter), as containerd and CRI-O do and crictl expects.
 */
const ID_FIELDS = new Set(["container_id", "pod_sandbox_id", "target_id", "id"]);
const MAX_ID = 64;

const LONGEST: Record<string, number> = {
  // paths
  log_directory: MAX_PATH,
  log_path: MAX_PATH,
  host_path: MAX_PATH,
  container_path: MAX_PATH,
  image_sub_path: MAX_PATH,
  working_dir: MAX_PATH,
  localhost_ref: MAX_PATH,
  seccomp_profile_path: MAX_PATH,
  apparmor_profile: MAX_PATH,
  cgroup_parent: MAX_PATH,
  location: MAX_PATH,
  path: MAX_PATH,
  masked_paths: MAX_PATH,
  readonly_paths: MAX_PATH,
  // names: Kubernetes' longest (a DNS subdomain)
  name: 253,
  namespace: 253,
  uid: 253,
  hostname: 253,
  runtime_handler: 253,
  run_as_username: 256,
  // image references (a repository name is at most 255; tags and digests add less than 200)
  image: 1024,
  user_specified_image: 1024,
  image_ref: 1024,
};

/** Maps whose keys and values, together, are bounded. */
const MAP_LIMITS: Record<string, number> = {
  labels: MAX_MAP_BYTES,
  annotations: MAX_MAP_BYTES,
  sysctls: MAX_MAP_BYTES,
  label_selector: MAX_MAP_BYTES,
  unified: 64 * KiB,
};

/** Lists whose items, together, are bounded (bytes). */
const LIST_BYTES: Record<string, number> = {
  command: MAX_ARGV_BYTES,
  args: MAX_ARGV_BYTES,
  cmd: MAX_ARGV_BYTES,
  envs: MAX_ARGV_BYTES,
};

function sizeOf(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return v.length;
  if (v && typeof v === "object") {
    let n = 0;
    for (const x of Object.values(v)) n += sizeOf(x);
    return n;
  }
  return 0;
}

function tooLong(rpc: string, field: string, size: number, max: number): never {
  throw invalidArgument(`${rpc}: ${field} is ${size} bytes long; at most ${max} are accepted`);
}

function checkString(rpc: string, field: string, key: string, s: string): void {
  if (ID_FIELDS.has(key) && s.length > MAX_ID) {
    throw invalidArgument(`${rpc}: ${field} is ${s.length} characters long; an id or a prefix of one has at most ${MAX_ID}`);
  }
  const max = ID_FIELDS.has(key) ? MAX_ID : (LONGEST[key] ?? MAX_TEXT);
  if (s.length > max) tooLong(rpc, field, Buffer.byteLength(s), max);
  if (s.includes("\0")) throw invalidArgument(`${rpc}: ${field} contains a NUL byte`);
}

function walk(rpc: string, field: string, key: string, v: unknown): void {
  if (typeof v === "string") return checkString(rpc, field, key, v);
  if (v === null || typeof v !== "object" || Buffer.isBuffer(v) || v instanceof Uint8Array) return;
  if (Array.isArray(v)) {
    if (v.length > MAX_LIST_ITEMS) throw invalidArgument(`${rpc}: ${field} has ${v.length} items; at most ${MAX_LIST_ITEMS} are accepted`);
    const total = LIST_BYTES[key];
    if (total !== undefined) {
      const size = sizeOf(v);
      if (size > total) tooLong(rpc, field, size, total);
    }
    // Items of a bounded list are bounded by the list; only their shape is checked.
    v.forEach((item, i) => (total !== undefined && typeof item === "string" ? checkNul(rpc, `${field}[${i}]`, item) : walk(rpc, `${field}[${i}]`, key, item)));
    return;
  }
  const mapLimit = MAP_LIMITS[key];
  if (mapLimit !== undefined) {
    const size = sizeOf(v) + Object.keys(v).reduce((n, k) => n + Buffer.byteLength(k), 0);
    if (size > mapLimit) tooLong(rpc, field, size, mapLimit);
    for (const [k, x] of Object.entries(v)) {
      checkNul(rpc, `${field} key`, k);
      if (typeof x === "string") checkNul(rpc, `${field}[${JSON.stringify(k.slice(0, 40))}]`, x);
    }
    return;
  }
  for (const [k, x] of Object.entries(v)) walk(rpc, field ? `${field}.${k}` : k, k, x);
}

function checkNul(rpc: string, field: string, s: string): void {
  if (s.includes("\0")) throw invalidArgument(`${rpc}: ${field} contains a NUL byte`);
}

/** Throws INVALID_ARGUMENT naming the first field of request that is out of bounds. */
export function checkRequestLimits(rpc: string, request: unknown): void {
  walk(rpc, "", "", request);
}
