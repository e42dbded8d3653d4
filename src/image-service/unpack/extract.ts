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
// The reading, gunzip, hashing and tar parsing run on the calling thread (the
// daemon's unpack worker, pool.ts); the file system work is queued as steps
// that run in batches on libuv's pool (layer-steps.ts), so one thread unpacks
// several layers at once. The layer's bytes go through two buffers reused
// from start to end (the read, gunzip's output); file contents are copied
// from them into the batch.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Compression } from "../media-types.js";
import type { ByteSource } from "./blob-source.js";
import { ancestors, cleanEntryPath, whiteoutOf } from "./entry-path.js";
import { Gunzip } from "./gunzip.js";
import { LayerSteps } from "./layer-steps.js";
import { TarReader, type TarHeader, type TarSink } from "./tar-reader.js";

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

/**
 * How much of the (compressed) layer is read at a time: the steps it makes
 * are handed on (or waited for) after each read, so this bounds how far the
 * queue runs ahead of the file system.
 */
const READ_CHUNK = 64 * 1024;
/** The set-group-ID mode bit (not in Node's fs.constants). */
const S_ISGID = 0o2000;

export async function extractLayer(source: ByteSource, compression: Compression, dest: string): Promise<ExtractResult> {
  const writer = new LayerWriter(dest);
  const tar = new TarReader(writer);
  const hash = createHash("sha256");
  try {
    await decompress(
      source,
      compression,
      (bytes) => {
        hash.update(bytes);
        tar.push(bytes);
      },
      () => writer.steps.drain(),
    );
    tar.finish();
    writer.finishDirectories();
    await writer.steps.flush();
  } catch (err) {
    await writer.steps.discard();
    throw err;
  } finally {
    source.close();
  }
  return { ...writer.result, diffId: `sha256:${hash.digest("hex")}` };
}

/**
 * Reads the whole source and hands its uncompressed bytes, in order, to
 * `onBytes` (views valid during the call), waiting for `between` after each read.
 */
async function decompress(source: ByteSource, compression: Compression, onBytes: (bytes: Buffer) => void, between: () => Promise<void>): Promise<void> {
  const input = Buffer.allocUnsafe(READ_CHUNK);
  if (compression === "zstd") return zstdDecompress(source, input, onBytes, between);
  const gunzip = compression === "gzip" ? new Gunzip() : undefined;
  try {
    for (let n = await source.read(input); n > 0; n = await source.read(input)) {
      if (gunzip) gunzip.write(input.subarray(0, n), onBytes);
      else onBytes(input.subarray(0, n));
      await between();
    }
    gunzip?.end();
  } finally {
    gunzip?.close();
  }
}

/** Node 20's zlib has no zstd: the zstd tool (Debian package zstd) does it in a child process. */
async function zstdDecompress(source: ByteSource, input: Buffer, onBytes: (bytes: Buffer) => void, between: () => Promise<void>): Promise<void> {
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let failure: Error | undefined;
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const fail = (err: Error) => {
    failure ??= err;
    child.kill();
    child.stdout.resume(); // what is left is dropped, so that the pipe can close
  };
  child.stdout.on("data", (d: Buffer) => {
    if (failure) return;
    try {
      onBytes(d);
    } catch (err) {
      return fail(err as Error);
    }
    child.stdout.pause();
    between().then(() => child.stdout.resume(), fail);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (err) => reject(new Error(`cannot run zstd to decompress the layer: ${err.message}`)));
    child.on("close", (code) => (code === 0 || failure ? resolve() : reject(new Error(`zstd failed to decompress the layer (exit ${code}): ${stderr.trim()}`))));
  });
  child.stdin.on("error", () => undefined); // zstd gone: its exit says why
  try {
    for (let n = await source.read(input); n > 0 && !failure; n = await source.read(input)) {
      // The buffer is reused for the next read: wait until the pipe has taken it.
      await new Promise<void>((resolve) => child.stdin.write(input.subarray(0, n), () => resolve()));
    }
  } catch (err) {
    child.kill();
    await exited.catch(() => undefined);
    throw err;
  }
  child.stdin.end();
  await exited;
  if (failure) throw failure;
}

/** What is being written: the file entry whose contents are arriving. */
interface OpenFile {
  rel: string;
  header: TarHeader;
  size: number;
}

/** Turns tar entries into steps that make files under `dest`, safely (see the top of this file). */
class LayerWriter implements TarSink {
  readonly result: Omit<ExtractResult, "diffId"> = { usedBytes: 0, inodes: 0, pendingHardlinks: [], refused: [] };
  readonly steps = new LayerSteps();
  private readonly tracked = new Map<string, Kind>();
  private readonly dirTimes: { abs: string; mtime: number }[] = [];
  private open: OpenFile | undefined;
  // A root daemon creates everything as 0:0 unless a set-group-ID directory
  // passes its group on, so root's entries (most of them) need no chown: one
  // system call fewer per entry, of 25,000 in a layer of small files.
  private readonly createsAsRoot = process.geteuid?.() === 0 && process.getegid?.() === 0;
  private setgidDirSeen: boolean;

  constructor(private readonly dest: string) {
    this.setgidDirSeen = (fs.statSync(dest).mode & S_ISGID) !== 0;
  }

  entry(h: TarHeader): void {
    const rel = cleanEntryPath(h.name);
    if (rel === undefined) throw new UnsafeLayerError(`entry "${h.name}" points outside the layer`);
    if (rel === "") return; // the layer root itself
    this.prepareParents(rel);

    const wh = whiteoutOf(rel);
    if (wh) {
      if (wh.kind === "opaque") {
        if (wh.dir === "") return; // the root cannot be opaque in overlayfs; nothing below exists anyway
        if (this.tracked.get(wh.dir) !== "dir") this.prepareParents(`${wh.dir}/x`);
        this.steps.lsetxattr(this.abs(wh.dir), "trusted.overlay.opaque", Buffer.from("y"));
      } else {
        this.removeExisting(wh.path);
        this.steps.mknod(this.abs(wh.path), "c", 0o600, 0, 0);
        this.tracked.set(wh.path, "other");
        this.result.inodes++;
      }
      return;
    }

    const file = this.abs(rel);
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case "directory": {
        if (this.tracked.get(rel) !== "dir") {
          this.removeExisting(rel);
          this.steps.mkdir(file, 0o777);
          this.tracked.set(rel, "dir");
          this.result.inodes++;
        }
        this.steps.chmod(file, mode);
        if (mode & S_ISGID) this.setgidDirSeen = true;
        this.setOwnerAndTimes(file, h, false);
        this.applyXattrs(file, h);
        this.dirTimes.push({ abs: file, mtime: h.mtime });
        return;
      }
      case "file":
      case "contiguous-file": {
        this.removeExisting(rel);
        this.steps.create(file);
        this.open = { rel, header: h, size: 0 };
        return; // contents and metadata follow (data, endEntry)
      }
      case "symlink": {
        this.removeExisting(rel);
        this.steps.symlink(h.linkname, file);
        this.tracked.set(rel, "symlink");
        this.setOwnerAndTimes(file, h, true);
        this.result.inodes++;
        return;
      }
      case "link": {
        const target = cleanEntryPath(h.linkname);
        if (!target) throw new UnsafeLayerError(`hardlink "${h.name}" points outside the layer ("${h.linkname}")`);
        for (const dir of ancestors(target)) {
          if (this.tracked.get(dir) === "symlink") throw new UnsafeLayerError(`hardlink "${h.name}" goes through the symlink "${dir}"`);
        }
        this.removeExisting(rel);
        if (this.tracked.has(target)) {
          this.steps.link(this.abs(target), file);
          this.tracked.set(rel, this.tracked.get(target)!);
        } else {
          this.result.pendingHardlinks.push({ path: rel, target });
        }
        return;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        this.removeExisting(rel);
        this.steps.mknod(file, h.type === "fifo" ? "p" : h.type === "character-device" ? "c" : "b", mode, h.devmajor, h.devminor);
        this.tracked.set(rel, "other");
        this.setOwnerAndTimes(file, h, false);
        this.result.inodes++;
        return;
      }
      case "pax-global-header":
        return; // metadata only, no file
      default:
        this.result.refused.push(`"${h.name}": unsupported entry type '${h.typeflag}'`);
    }
  }

  data(bytes: Uint8Array): void {
    const f = this.open;
    if (!f) return; // the contents of an entry that is not a file
    this.steps.write(bytes);
    f.size += bytes.length;
  }

  endEntry(): void {
    const f = this.open;
    if (!f) return;
    this.open = undefined;
    const h = f.header;
    if (this.ownerDiffers(h)) this.steps.fchown(h.uid, h.gid);
    this.steps.fchmod(h.mode & 0o7777); // after chown, which clears setuid bits
    this.steps.futimes(h.mtime);
    this.steps.close();
    this.tracked.set(f.rel, "file");
    this.applyXattrs(this.abs(f.rel), h);
    this.result.usedBytes += Math.ceil(f.size / 4096) * 4096;
    this.result.inodes++;
  }

  /** Directory mtimes last: writing their children changed them. */
  finishDirectories(): void {
    for (const d of this.dirTimes.reverse()) this.steps.utimes(d.abs, d.mtime, false);
  }

  private abs(rel: string): string {
    return path.join(this.dest, rel);
  }

  private removeExisting(rel: string): void {
    if (!this.tracked.has(rel)) return;
    this.steps.remove(this.abs(rel));
    for (const key of [...this.tracked.keys()]) if (key === rel || key.startsWith(`${rel}/`)) this.tracked.delete(key);
  }

  /** Makes every ancestor a real directory of this layer; refuses a path through a symlink. */
  private prepareParents(rel: string): void {
    for (const dir of ancestors(rel)) {
      const kind = this.tracked.get(dir);
      if (kind === "dir") continue;
      if (kind === "symlink") throw new UnsafeLayerError(`"${rel}" would be written through the symlink "${dir}"`);
      if (kind) this.removeExisting(dir);
      this.steps.mkdir(this.abs(dir), 0o755);
      this.tracked.set(dir, "dir");
      this.result.inodes++;
    }
  }

  private ownerDiffers(h: TarHeader): boolean {
    return !this.createsAsRoot || this.setgidDirSeen || h.uid !== 0 || h.gid !== 0;
  }

  private setOwnerAndTimes(file: string, h: TarHeader, isLink: boolean): void {
    if (this.ownerDiffers(h)) this.steps.lchown(file, h.uid, h.gid);
    this.steps.utimes(file, h.mtime, isLink);
  }

  private applyXattrs(file: string, h: TarHeader): void {
    for (const [name, value] of h.xattrs) {
      // Overlay's own xattrs from an image could fake whiteouts or redirects.
      if (name.startsWith("trusted.overlay.")) continue;
      this.steps.lsetxattr(file, name, value);
    }
  }
}
