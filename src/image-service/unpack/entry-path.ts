// Tar entry names are untrusted. These pure functions turn them into clean
// relative paths, or refuse them, before anything touches the disk.

import path from "node:path";

/**
 * "a/b/c" for a name that stays inside the layer; "" for the layer root
 * itself ("./", "/"); undefined for a name that would leave it ("../x").
 * Absolute names are taken relative to the layer root, as tar does.
 */
export function cleanEntryPath(name: string): string | undefined {
  if (name.includes("\0")) return undefined;
  const normalized = path.posix.normalize(name.replace(/^\/+/, "") || ".").replace(/\/+$/, "");
  if (normalized === ".." || normalized.startsWith("../")) return undefined;
  return normalized === "." ? "" : normalized;
}

/** The ancestors of a clean path, outermost first: "a/b/c" -> ["a", "a/b"]. */
export function ancestors(clean: string): string[] {
  const parts = clean.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

export type Whiteout = { kind: "opaque"; dir: string } | { kind: "file"; path: string };

/** Recognises AUFS-style whiteout names (".wh.NAME", ".wh..wh..opq"). */
export function whiteoutOf(clean: string): Whiteout | undefined {
  const slash = clean.lastIndexOf("/");
  const dir = slash < 0 ? "" : clean.slice(0, slash);
  const base = clean.slice(slash + 1);
  if (base === ".wh..wh..opq") return { kind: "opaque", dir };
  if (base.startsWith(".wh.") && base.length > 4) {
    const name = base.slice(4);
    if (name === "." || name === "..") return undefined;
    return { kind: "file", path: dir ? `${dir}/${name}` : name };
  }
  return undefined;
}
