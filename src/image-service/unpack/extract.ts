// Unpacks one layer tarball into an empty directory, in overlayfs form:
// whiteouts become 0/0 character devices, opaque markers become the
// trusted.overlay.opaque=y xattr. Ownership, modes, mtimes, xattrs, devices,
// fifos, symlinks and hardlinks are kept.
//
// Safety: every name is cleaned (entry-path.ts), and every entry this layer
// creates is tracked, so no write can go through a symlink (a symlinked parent
// is refused; an existing final component is removed first, and files are
// opened with O_EXCL), and no name can leave the directory.
//
// File system calls are synchronous on purpose: the daemon runs this in a
// worker thread (pool.ts), where blocking costs nothing and saves the
// per-call hop to libuv's thread pool that dominates with many small files.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Transform, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract, type Header as Headers } from "tar-stream";
import type { Compression } from "../media-types.js";
import { ancestors, cleanEntryPath, whiteoutOf } from "./entry-path.js";

export interface ExtractResult {
  /** sha256 of the uncompressed tar: must equal the config's diff_id. */
  diffId: string;
  /** Disk usage of what was written (file sizes rounded to 4 KiB blocks). */
  usedBytes: number;
  inodes: number;
  /** Hardlinks whose target is in a lower layer, resolved by the caller. */
  pendingHardlinks: { path: string; target: string }[];
  /** Entries refused as unsafe, with why. */
  refused: string[];
}

type Kind = "dir" | "file" | "symlink" | "other";

export class UnsafeLayerError extends Error {}

interface Decompressor {
  input: Writable;
  output: Readable;
  /** Settles when the decompressor itself has finished (or failed). */
  done: Promise<void>;
}

/**
 * Chunk size of the gzip decompressor's output. zlib's default (16 KiB) makes
 * a 100 MB layer 6,400 trips through the stream pipeline, each a write of its
 * own: 256 KiB unpacks such a layer 2.5-3x faster.
 */
const GUNZIP_CHUNK = 256 * 1024;
/** The set-group-ID mode bit (not in Node's fs.constants). */
const S_ISGID = 0o2000;

function decompressor(compression: Compression): Decompressor {
  if (compression !== "zstd") {
    const stream = compression === "gzip" ? createGunzip({ chunkSize: GUNZIP_CHUNK }) : new PassThrough();
    return { input: stream, output: stream, done: Promise.resolve() };
  }
  // Node 20's zlib has no zstd: the zstd tool (Debian package zstd) does it in a child process.
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (err) => reject(new Error(`cannot run zstd to decompress the layer: ${err.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`zstd failed to decompress the layer (exit ${code}): ${stderr.trim()}`))));
  });
  return { input: child.stdin, output: child.stdout, done };
}

function setXattr(file: string, name: string, value: Buffer): void {
  // Node has no setxattr(2); setfattr (package attr) takes a base64 value with the 0s prefix.
  const r = spawnSync("setfattr", ["-h", "-n", name, "-v", `0s${value.toString("base64")}`, file]);
  if (r.status !== 0) throw new Error(`cannot set xattr ${name} on ${file}: ${r.stderr?.toString().trim() || r.error?.message}`);
}

function mknod(file: string, type: "c" | "b" | "p", mode: number, major = 0, minor = 0): void {
  const args = ["-m", (mode & 0o7777).toString(8), file, type, ...(type === "p" ? [] : [String(major), String(minor)])];
  const r = spawnSync("mknod", args);
  if (r.status !== 0) throw new Error(`cannot create device ${file}: ${r.stderr?.toString().trim() || r.error?.message}`);
}

export async function extractLayer(source: Readable, compression: Compression, dest: string): Promise<ExtractResult> {
  const tracked = new Map<string, Kind>();
  const dirTimes: { abs: string; mtime: Date }[] = [];
  const result: ExtractResult = { diffId: "", usedBytes: 0, inodes: 0, pendingHardlinks: [], refused: [] };
  const abs = (rel: string) => path.join(dest, rel);

  const removeExisting = (rel: string) => {
    if (!tracked.has(rel)) return;
    fs.rmSync(abs(rel), { recursive: true, force: true });
    for (const key of [...tracked.keys()]) if (key === rel || key.startsWith(`${rel}/`)) tracked.delete(key);
  };

  /** Makes every ancestor a real directory of this layer; refuses a path through a symlink. */
  const prepareParents = (rel: string) => {
    for (const dir of ancestors(rel)) {
      const kind = tracked.get(dir);
      if (kind === "dir") continue;
      if (kind === "symlink") throw new UnsafeLayerError(`"${rel}" would be written through the symlink "${dir}"`);
      if (kind) removeExisting(dir);
      fs.mkdirSync(abs(dir), { mode: 0o755 });
      tracked.set(dir, "dir");
      result.inodes++;
    }
  };

  // A root daemon creates everything as 0:0 unless a set-group-ID directory
  // passes its group on, so root's entries (most of them) need no chown: one
  // system call fewer per entry, of 25,000 in a layer of small files.
  const createsAsRoot = process.geteuid?.() === 0 && process.getegid?.() === 0;
  let setgidDirSeen = (fs.statSync(dest).mode & S_ISGID) !== 0;
  const ownerDiffers = (h: Headers) => !createsAsRoot || setgidDirSeen || (h.uid ?? 0) !== 0 || (h.gid ?? 0) !== 0;

  const setOwnerAndTimes = (file: string, h: Headers, isLink: boolean) => {
    if (ownerDiffers(h)) fs.lchownSync(file, h.uid ?? 0, h.gid ?? 0);
    const mtime = h.mtime ?? new Date(0);
    if (isLink) fs.lutimesSync(file, mtime, mtime);
    else fs.utimesSync(file, mtime, mtime);
  };

  const applyXattrs = (file: string, h: Headers) => {
    const pax = (h as Headers & { pax?: Record<string, string> }).pax;
    if (!pax) return;
    for (const [key, value] of Object.entries(pax)) {
      if (!key.startsWith("SCHILY.xattr.")) continue;
      const name = key.slice("SCHILY.xattr.".length);
      // Overlay's own xattrs from an image could fake whiteouts or redirects.
      if (name.startsWith("trusted.overlay.")) continue;
      setXattr(file, name, Buffer.from(String(value), "latin1"));
    }
  };

  const handleEntry = async (h: Headers, body: Readable): Promise<void> => {
    const rel = cleanEntryPath(h.name);
    if (rel === undefined) throw new UnsafeLayerError(`entry "${h.name}" points outside the layer`);
    if (rel === "") return void (await drain(body)); // the layer root itself
    prepareParents(rel);

    const wh = whiteoutOf(rel);
    if (wh) {
      await drain(body);
      if (wh.kind === "opaque") {
        if (wh.dir === "") return; // the root cannot be opaque in overlayfs; nothing below exists anyway
        if (tracked.get(wh.dir) !== "dir") prepareParents(`${wh.dir}/x`);
        setXattr(abs(wh.dir), "trusted.overlay.opaque", Buffer.from("y"));
      } else {
        removeExisting(wh.path);
        mknod(abs(wh.path), "c", 0o600, 0, 0);
        tracked.set(wh.path, "other");
        result.inodes++;
      }
      return;
    }

    const file = abs(rel);
    const mode = (h.mode ?? 0o644) & 0o7777;
    switch (h.type) {
      case "directory": {
        await drain(body);
        if (tracked.get(rel) !== "dir") {
          removeExisting(rel);
          fs.mkdirSync(file);
          tracked.set(rel, "dir");
          result.inodes++;
        }
        fs.chmodSync(file, mode);
        if (mode & S_ISGID) setgidDirSeen = true;
        setOwnerAndTimes(file, h, false);
        applyXattrs(file, h);
        dirTimes.push({ abs: file, mtime: h.mtime ?? new Date(0) });
        return;
      }
      case "file":
      case "contiguous-file": {
        removeExisting(rel);
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        let size = 0;
        try {
          for await (const chunk of body) {
            fs.writeSync(fd, chunk as Buffer);
            size += (chunk as Buffer).length;
          }
          if (ownerDiffers(h)) fs.fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
          fs.fchmodSync(fd, mode); // after chown, which clears setuid bits
          const mtime = h.mtime ?? new Date(0);
          fs.futimesSync(fd, mtime, mtime);
        } finally {
          fs.closeSync(fd);
        }
        tracked.set(rel, "file");
        applyXattrs(file, h);
        result.usedBytes += Math.ceil(size / 4096) * 4096;
        result.inodes++;
        return;
      }
      case "symlink": {
        await drain(body);
        removeExisting(rel);
        fs.symlinkSync(h.linkname ?? "", file);
        tracked.set(rel, "symlink");
        setOwnerAndTimes(file, h, true);
        result.inodes++;
        return;
      }
      case "link": {
        await drain(body);
        const target = cleanEntryPath(h.linkname ?? "");
        if (!target) throw new UnsafeLayerError(`hardlink "${h.name}" points outside the layer ("${h.linkname}")`);
        for (const dir of ancestors(target)) {
          if (tracked.get(dir) === "symlink") throw new UnsafeLayerError(`hardlink "${h.name}" goes through the symlink "${dir}"`);
        }
        removeExisting(rel);
        if (tracked.has(target)) {
          fs.linkSync(abs(target), file);
          tracked.set(rel, tracked.get(target)!);
        } else {
          result.pendingHardlinks.push({ path: rel, target });
        }
        return;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        await drain(body);
        removeExisting(rel);
        mknod(file, h.type === "fifo" ? "p" : h.type === "character-device" ? "c" : "b", mode, h.devmajor ?? 0, h.devminor ?? 0);
        tracked.set(rel, "other");
        setOwnerAndTimes(file, h, false);
        result.inodes++;
        return;
      }
      default:
        // pax global headers and other metadata-only entries carry no file.
        await drain(body);
        if (h.type !== "pax-global-header") result.refused.push(`"${h.name}": unsupported entry type ${h.type}`);
    }
  };

  const hash = createHash("sha256");
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const tar = extract();
  tar.on("entry", (header, stream, next) => {
    handleEntry(header, stream as unknown as Readable).then(
      () => next(),
      (err: Error) => {
        stream.resume();
        next(err);
      },
    );
  });
  const d = decompressor(compression);
  if ((d.input as unknown) === d.output) await pipeline(source, d.input as Transform, hasher, tar);
  else await Promise.all([pipeline(source, d.input), pipeline(d.output, hasher, tar), d.done]);
  // Directory mtimes last: writing their children changed them.
  for (const d of dirTimes.reverse()) fs.utimesSync(d.abs, d.mtime, d.mtime);
  result.diffId = `sha256:${hash.digest("hex")}`;
  return result;
}

async function drain(body: Readable): Promise<void> {
  for await (const _ of body) {
    /* discard */
  }
}
