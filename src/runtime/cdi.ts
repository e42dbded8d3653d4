// Container Device Interface (CDI): devices named "vendor.com/class=name" in a
// container's config (CDI_devices, or kubelet's older cdi.k8s.io/*
// annotations) are resolved against spec files (JSON or YAML) in the CDI spec
// directories, and their container edits (device nodes, mounts, environment,
// hooks, extra groups) are applied to the container. A device no spec names
// is an error: a pod that asked for a GPU must not start without it.
// Parsing and resolving are pure; loadCdiSpecs reads the directories.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { invalidArgument } from "../errors.js";

export interface CdiDeviceNode {
  path: string;
  hostPath?: string;
  type?: "c" | "b" | "p" | "u";
  major?: number;
  minor?: number;
  fileMode?: number;
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  type?: string;
  options?: string[];
}

export interface CdiHook {
  hookName: string;
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface CdiEdits {
  env: string[];
  deviceNodes: CdiDeviceNode[];
  mounts: CdiMount[];
  hooks: CdiHook[];
  additionalGids: number[];
}

export interface CdiSpec {
  file: string;
  cdiVersion: string;
  /** "vendor.com/class" */
  kind: string;
  devices: { name: string; containerEdits: CdiEdits }[];
  /** Applied once when any device of the spec is used. */
  containerEdits: CdiEdits;
}

/** The OCI hook lifecycle points a CDI hook may name. */
export const CDI_HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

const KIND = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
const DEVICE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.:-]*[a-zA-Z0-9])?$/;

function edits(raw: unknown, where: string): CdiEdits {
  const e = (raw ?? {}) as Record<string, unknown>;
  const list = <T>(key: string): T[] => {
    const v = e[key] ?? [];
    if (!Array.isArray(v)) throw new Error(`${where}.${key} must be a list`);
    return v as T[];
  };
  const deviceNodes = list<CdiDeviceNode>("deviceNodes");
  for (const [i, d] of deviceNodes.entries()) if (typeof d?.path !== "string" || !d.path.startsWith("/")) throw new Error(`${where}.deviceNodes[${i}].path must be an absolute path`);
  const mounts = list<CdiMount>("mounts");
  for (const [i, m] of mounts.entries()) {
    if (typeof m?.hostPath !== "string" || !m.hostPath.startsWith("/") || typeof m.containerPath !== "string" || !m.containerPath.startsWith("/")) {
      throw new Error(`${where}.mounts[${i}] needs absolute hostPath and containerPath`);
    }
  }
  const hooks = list<CdiHook>("hooks");
  for (const [i, h] of hooks.entries()) {
    if (!CDI_HOOK_NAMES.includes(h?.hookName as (typeof CDI_HOOK_NAMES)[number])) throw new Error(`${where}.hooks[${i}].hookName "${h?.hookName}" is not one of ${CDI_HOOK_NAMES.join(", ")}`);
    if (typeof h.path !== "string" || !h.path.startsWith("/")) throw new Error(`${where}.hooks[${i}].path must be an absolute path`);
  }
  const env = list<string>("env");
  for (const [i, v] of env.entries()) if (typeof v !== "string" || !v.includes("=")) throw new Error(`${where}.env[${i}] must be KEY=VALUE`);
  const additionalGids = list<number>("additionalGids").map(Number);
  if (additionalGids.some((g) => !Number.isInteger(g) || g < 0)) throw new Error(`${where}.additionalGids must be group ids`);
  return { env, deviceNodes, mounts, hooks, additionalGids };
}

/** A CDI spec file's content (JSON, or YAML, which JSON also is). Throws naming the file and field. */
export function parseCdiSpec(text: string, file: string): CdiSpec {
  let doc: Record<string, unknown>;
  try {
    doc = (file.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`CDI spec ${file}: ${(err as Error).message}`);
  }
  try {
    if (!doc || typeof doc !== "object") throw new Error("not an object");
    if (typeof doc.cdiVersion !== "string") throw new Error("cdiVersion is missing");
    if (typeof doc.kind !== "string" || !KIND.test(doc.kind)) throw new Error(`kind "${String(doc.kind)}" is not vendor.com/class`);
    if (!Array.isArray(doc.devices)) throw new Error("devices must be a list");
    const devices = (doc.devices as Record<string, unknown>[]).map((d, i) => {
      if (typeof d?.name !== "string" || !DEVICE_NAME.test(d.name)) throw new Error(`devices[${i}].name "${String(d?.name)}" is not a valid device name`);
      return { name: d.name, containerEdits: edits(d.containerEdits, `devices[${i}].containerEdits`) };
    });
    return { file, cdiVersion: doc.cdiVersion, kind: doc.kind, devices, containerEdits: edits(doc.containerEdits, "containerEdits") };
  } catch (err) {
    throw new Error(`CDI spec ${file}: ${(err as Error).message}`);
  }
}

/**
 * Fully-qualified device name -> its spec and device. Specs come in directory
 * order; a later directory's device wins over an earlier one's of the same
 * name (/var/run/cdi over /etc/cdi, as the CDI spec orders them). Pure.
 */
export function indexCdiDevices(specs: CdiSpec[]): Map<string, { spec: CdiSpec; device: CdiSpec["devices"][number] }> {
  const index = new Map<string, { spec: CdiSpec; device: CdiSpec["devices"][number] }>();
  for (const spec of specs) for (const device of spec.devices) index.set(`${spec.kind}=${device.name}`, { spec, device });
  return index;
}

/** The edits of the named devices, each spec's own edits once. Unknown names are INVALID_ARGUMENT naming them. Pure. */
export function resolveCdiDevices(specs: CdiSpec[], names: string[], searched: string[], specErrors: string[] = []): CdiEdits {
  const index = indexCdiDevices(specs);
  const unknown = names.filter((n) => !index.has(n));
  if (unknown.length) {
    const bad = unknown.filter((n) => !/^[^=]+\/[^=]+=[^=]+$/.test(n));
    if (bad.length) throw invalidArgument(`CDI device name ${bad.map((n) => `"${n}"`).join(", ")} is not fully qualified (vendor.com/class=name)`);
    const skipped = specErrors.length ? ` (spec files left out: ${specErrors.join("; ")})` : "";
    throw invalidArgument(`unknown CDI device ${unknown.map((n) => `"${n}"`).join(", ")}: no spec in ${searched.join(", ")} defines it${skipped}`);
  }
  const out: CdiEdits = { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] };
  const add = (e: CdiEdits) => {
    out.env.push(...e.env);
    out.deviceNodes.push(...e.deviceNodes);
    out.mounts.push(...e.mounts);
    out.hooks.push(...e.hooks);
    out.additionalGids.push(...e.additionalGids);
  };
  const specsUsed = new Set<CdiSpec>();
  for (const name of new Set(names)) {
    const { spec, device } = index.get(name)!;
    if (!specsUsed.has(spec)) {
      specsUsed.add(spec);
      add(spec.containerEdits);
    }
    add(device.containerEdits);
  }
  return out;
}

/**
 * Every spec file (.json, .yaml, .yml) in `dirs`, in directory order then name
 * order; a missing directory is empty. A file that does not parse is left out
 * (one vendor's bad file must not take every device down) and reported.
 */
export async function loadCdiSpecs(dirs: string[]): Promise<{ specs: CdiSpec[]; errors: string[] }> {
  const specs: CdiSpec[] = [];
  const errors: string[] = [];
  for (const dir of dirs) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /\.(json|ya?ml)$/.test(n)).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        specs.push(parseCdiSpec(await readFile(file, "utf8"), file));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  }
  return { specs, errors };
}
