// Checkpoint archives, in the layout CRI-O writes: the CRIU images under
// checkpoint/, the container's record (config.dump) and OCI spec (spec.dump),
// and its writable layer's changes as an OCI layer (rootfs-diff.tar: overlayfs
// whiteouts become .wh. entries, opaque directories a .wh..wh..opq entry).
// Reading one back goes through the image layer extractor, whose checks keep
// an untrusted archive inside its directory.

import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { extract, pack, type Header, type Pack } from "tar-stream";
import { fileSource } from "../../image-service/unpack/blob-source.js";
import { extractLayer } from "../../image-service/unpack/extract.js";
import { ROOTFS_DIFF } from "./checkpoint-archive.js";

const run = promisify(execFile);

/** What skiff sets of a tar header; tar-stream fills in the rest. */
type Headers = Partial<Header> & { name: string };

/** Linux's dev_t split (glibc's major()/minor()). Pure. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/** Directories under `dir` that overlayfs marks opaque (trusted.overlay.opaque=y), relative. */
async function opaqueDirs(dir: string): Promise<Set<string>> {
  const r = await run("getfattr", ["--absolute-names", "-R", "-h", "-m", "^trusted\\.overlay\\.opaque$", "-d", dir], { maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const out = new Set<string>();
  let file = "";
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("# file: ")) file = line.slice(8);
    else if (line === 'trusted.overlay.opaque="y"') out.add(path.relative(dir, file));
  }
  return out;
}

function add(p: Pack, header: Headers, body?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = p.entry(header as Header, (err) => (err ? reject(err) : resolve()));
    if (body) body.on("error", reject).pipe(entry);
    else entry.end(undefined);
  });
}

/**
 * Writes `dir` as a tar to `out`. With `overlay`, `dir` is an overlayfs upper
 * directory and its whiteouts and opaque markers are written as an OCI layer
 * has them. Top-level entries named in `first` come before the others (small
 * records a reader wants without going through the rest). Sockets are left
 * out (they cannot be archived).
 */
export async function packDirectory(dir: string, out: NodeJS.WritableStream, overlay: boolean, first: string[] = []): Promise<void> {
  const p = pack();
  const done = pipeline(p, out);
  const opaque = overlay ? await opaqueDirs(dir) : new Set<string>();
  const links = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const rank = (name: string) => (rel === "" && first.includes(name) ? first.indexOf(name) : first.length);
    for (const name of (await readdir(path.join(dir, rel))).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))) {
      const relPath = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, relPath);
      const st = await lstat(abs);
      const base: Headers = { name: relPath, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        await add(p, { ...base, name: `${relPath}/`, type: "directory" });
        if (opaque.has(relPath)) await add(p, { ...base, name: `${relPath}/.wh..wh..opq`, type: "file", size: 0 });
        await walk(relPath);
      } else if (overlay && st.isCharacterDevice() && st.rdev === 0) {
        await add(p, { ...base, name: path.posix.join(rel, `.wh.${name}`), type: "file", size: 0 });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          await add(p, { ...base, type: "link", linkname: first, size: 0 });
        } else {
          if (st.nlink > 1) links.set(key, relPath);
          await add(p, { ...base, type: "file", size: st.size }, createReadStream(abs));
        }
      } else if (st.isSymbolicLink()) {
        await add(p, { ...base, type: "symlink", linkname: await readlink(abs) });
      } else if (st.isFIFO()) {
        await add(p, { ...base, type: "fifo" });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = deviceNumbers(st.rdev);
        await add(p, { ...base, type: st.isCharacterDevice() ? "character-device" : "block-device", devmajor: major, devminor: minor });
      }
    }
  };
  try {
    await walk("");
    p.finalize();
  } catch (err) {
    p.destroy(err as Error);
  }
  await done;
}

/** packDirectory to a file. */
export async function packDirectoryTo(dir: string, file: string, overlay: boolean, first: string[] = []): Promise<void> {
  await packDirectory(dir, createWriteStream(file, { mode: 0o600 }), overlay, first);
}

/**
 * Unpacks a tar (an archive, or a rootfs diff) into an empty directory, in
 * overlayfs form, refusing any entry that would leave it.
 */
export async function unpackInto(file: string, dest: string): Promise<void> {
  const r = await extractLayer(fileSource(file), "none", dest);
  if (r.refused.length) throw new Error(`${file} has entries that cannot be unpacked safely: ${r.refused.slice(0, 3).join("; ")}`);
}

/**
 * The text of one small member of a tar (at most `maxBytes`), or undefined when
 * it has none by that name. Reading stops at the member: skiff's checkpoint
 * archives put it first, ahead of CRIU's images (as large as the process's memory).
 */
export async function readMember(file: string, member: string, maxBytes = 1024 * 1024): Promise<string | undefined> {
  const ex = extract();
  let found: string | undefined;
  ex.on("entry", (header, stream, next) => {
    const name = header.name.replace(/^(\.\/)+/, "");
    if (name !== member || header.type !== "file" || header.size > maxBytes) {
      stream.on("end", next).resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c) => chunks.push(c as Buffer));
    stream.on("end", () => {
      found = Buffer.concat(chunks).toString("utf8");
      ex.destroy(); // the rest is not read
    });
  });
  await pipeline(createReadStream(file), ex).catch((err: Error) => {
    if (found === undefined) throw err;
  });
  return found;
}

/**
 * Unpacks a checkpoint archive into <containerDir>/checkpoint and its
 * writable layer's changes into <containerDir>/upper (made here, empty).
 */
export async function unpackCheckpoint(archive: string, containerDir: string): Promise<void> {
  const into = path.join(containerDir, "checkpoint");
  const upper = path.join(containerDir, "upper");
  await mkdir(containerDir, { recursive: true, mode: 0o711 });
  await mkdir(into, { mode: 0o700 });
  await mkdir(upper, { mode: 0o755 });
  await unpackInto(archive, into);
  const diff = path.join(into, ROOTFS_DIFF);
  if (await stat(diff).then((s) => s.isFile(), () => false)) await unpackInto(diff, upper);
}
