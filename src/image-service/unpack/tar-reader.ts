// A push parser for tar streams (ustar, pax and GNU long names, as image
// layers use them). Bytes go in with push() in pieces of any size; entries
// come out synchronously to a sink, their contents as views of the very bytes
// pushed, so nothing of a layer is copied or kept but headers and metadata.
// Pure logic: it never touches the disk.

export type EntryType = "file" | "link" | "symlink" | "character-device" | "block-device" | "directory" | "fifo" | "contiguous-file" | "pax-global-header" | "unknown";

export interface TarHeader {
  name: string;
  type: EntryType;
  /** The typeflag as written, for messages about entries of unknown types. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (pax records may give fractions). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* pax records: name (without the prefix) to raw value. */
  xattrs: Map<string, Buffer>;
}

export interface TarSink {
  entry(header: TarHeader): void;
  /** A piece of the current entry's contents: a view valid only during the call. */
  data(bytes: Uint8Array): void;
  endEntry(): void;
}

export class TarFormatError extends Error {}

const BLOCK = 512;
/** Pax and GNU long-name records are held in memory: a bound keeps a hostile layer from filling it. */
const MAX_METADATA = 1024 * 1024;

const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "1": "link",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
  "7": "contiguous-file",
  g: "pax-global-header",
};

/** Metadata that the next real entry takes on (pax "x" records, GNU "L"/"K"). */
interface Pending {
  pax?: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

type State =
  | { kind: "header" }
  | { kind: "data"; left: number; pad: number }
  | { kind: "metadata"; typeflag: string; left: number; pad: number; parts: Buffer[] }
  | { kind: "skip"; left: number }
  | { kind: "ended" };

export class TarReader {
  private state: State = { kind: "header" };
  /** A header split across pushes is gathered here. */
  private readonly partial = Buffer.alloc(BLOCK);
  private partialLength = 0;
  private pending: Pending = {};

  constructor(private readonly sink: TarSink) {}

  push(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const state = this.state;
      switch (state.kind) {
        case "ended":
          return;
        case "header": {
          if (this.partialLength === 0 && bytes.length - off >= BLOCK) {
            this.header(bytes.subarray(off, off + BLOCK));
            off += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.partialLength, bytes.length - off);
            this.partial.set(bytes.subarray(off, off + n), this.partialLength);
            this.partialLength += n;
            off += n;
            if (this.partialLength === BLOCK) {
              this.partialLength = 0;
              this.header(this.partial);
            }
          }
          break;
        }
        case "data": {
          const n = Math.min(state.left, bytes.length - off);
          if (n > 0) this.sink.data(bytes.subarray(off, off + n));
          state.left -= n;
          off += n;
          if (state.left === 0) {
            this.sink.endEntry();
            this.state = state.pad ? { kind: "skip", left: state.pad } : { kind: "header" };
          }
          break;
        }
        case "metadata": {
          const n = Math.min(state.left, bytes.length - off);
          state.parts.push(Buffer.from(bytes.subarray(off, off + n)));
          state.left -= n;
          off += n;
          if (state.left === 0) {
            this.metadata(state.typeflag, Buffer.concat(state.parts));
            this.state = state.pad ? { kind: "skip", left: state.pad } : { kind: "header" };
          }
          break;
        }
        case "skip": {
          const n = Math.min(state.left, bytes.length - off);
          state.left -= n;
          off += n;
          if (state.left === 0) this.state = { kind: "header" };
          break;
        }
      }
    }
  }

  /** The input is over: throws if it stopped inside an entry. */
  finish(): void {
    const kind = this.state.kind;
    if (kind === "ended" || (kind === "header" && this.partialLength === 0)) return;
    throw new TarFormatError("the tar stream ends in the middle of an entry");
  }

  private header(block: Uint8Array): void {
    if (isZero(block)) {
      // The end-of-archive marker: what follows is padding, as Go's archive/tar takes it.
      this.state = { kind: "ended" };
      return;
    }
    const sum = checksum(block);
    const recorded = readNumber(block, 148, 8);
    if (recorded === undefined || sum !== recorded) throw new TarFormatError("invalid tar header (bad checksum): the layer is corrupt, or not a tar stream");
    const magic = latin1(block, 257, 6);
    const ustar = magic === "ustar\0";
    if (!ustar && magic !== "ustar ") throw new TarFormatError("invalid tar header: neither ustar nor GNU format");

    const typeflag = String.fromCharCode(block[156]!);
    const size = this.number(block, 124, 12, "size");
    const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === "x" || typeflag === "L" || typeflag === "K") {
      if (size > MAX_METADATA) throw new TarFormatError(`a tar metadata record of ${size} bytes is larger than the ${MAX_METADATA} allowed`);
      this.state = size ? { kind: "metadata", typeflag, left: size, pad: dataBlocks - size, parts: [] } : { kind: "header" };
      if (!size) this.metadata(typeflag, Buffer.alloc(0));
      return;
    }

    const pending = this.pending;
    this.pending = {};
    const pax = pending.pax;
    const paxText = (key: string) => pax?.get(key)?.toString("utf8");
    const paxNumber = (key: string) => {
      const v = paxText(key);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`pax record ${key}="${v}" is not a number`);
      return n;
    };

    let name = pending.longName ?? utf8(block, 0, 100);
    if (pending.longName === undefined && ustar && block[345] !== 0) name = `${utf8(block, 345, 155)}/${name}`;
    name = paxText("path") ?? name;
    let type: EntryType = TYPES[typeflag] ?? "unknown";
    if (type === "file" && name.endsWith("/")) type = "directory"; // pre-POSIX tars mark directories so
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax ?? []) if (key.startsWith("SCHILY.xattr.")) xattrs.set(key.slice("SCHILY.xattr.".length), value);

    const header: TarHeader = {
      name,
      type,
      typeflag,
      mode: this.number(block, 100, 8, "mode"),
      uid: paxNumber("uid") ?? this.number(block, 108, 8, "uid"),
      gid: paxNumber("gid") ?? this.number(block, 116, 8, "gid"),
      size: paxNumber("size") ?? size,
      mtime: paxNumber("mtime") ?? this.number(block, 136, 12, "mtime"),
      linkname: paxText("linkpath") ?? pending.longLink ?? utf8(block, 157, 100),
      devmajor: this.number(block, 329, 8, "devmajor"),
      devminor: this.number(block, 337, 8, "devminor"),
      xattrs,
    };
    if (!Number.isSafeInteger(header.size)) throw new TarFormatError(`entry "${name}" has a size of ${header.size}`);
    const padded = Math.ceil(header.size / BLOCK) * BLOCK;
    this.sink.entry(header);
    if (header.size === 0) {
      this.sink.endEntry();
      this.state = padded ? { kind: "skip", left: padded } : { kind: "header" };
    } else {
      this.state = { kind: "data", left: header.size, pad: padded - header.size };
    }
  }

  private metadata(typeflag: string, bytes: Buffer): void {
    if (typeflag === "L") this.pending.longName = cString(bytes);
    else if (typeflag === "K") this.pending.longLink = cString(bytes);
    else this.pending.pax = new Map([...(this.pending.pax ?? []), ...parsePax(bytes)]);
  }

  private number(block: Uint8Array, offset: number, length: number, field: string): number {
    const n = readNumber(block, offset, length);
    if (n === undefined) throw new TarFormatError(`invalid tar header: the ${field} field is not a number`);
    return n;
  }
}

/** Pax extended header records: "<length> <key>=<value>\n", values kept as bytes (xattrs are binary). */
export function parsePax(bytes: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < bytes.length) {
    const space = bytes.indexOf(0x20, off);
    if (space < 0) break;
    const length = Number(bytes.toString("latin1", off, space));
    if (!Number.isSafeInteger(length) || length <= space - off || off + length > bytes.length) throw new TarFormatError("invalid pax record length");
    const record = bytes.subarray(space + 1, off + length - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError("invalid pax record: no '='");
    out.set(record.toString("utf8", 0, eq), Buffer.from(record.subarray(eq + 1)));
    off += length;
  }
  return out;
}

/**
 * A numeric header field: octal digits (with leading spaces or NULs, ended by a
 * space or NUL), or GNU's base-256 form (high bit set) for large values.
 * undefined if it is neither, or negative.
 */
export function readNumber(block: Uint8Array, offset: number, length: number): number | undefined {
  const first = block[offset]!;
  if (first & 0x80) {
    if (first !== 0x80) return undefined; // 0xff: negative
    let n = 0;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + block[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  let i = offset;
  const end = offset + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let n = 0;
  for (; i < end && block[i] !== 0 && block[i] !== 0x20; i++) {
    const d = block[i]! - 0x30;
    if (d < 0 || d > 7) return undefined;
    n = n * 8 + d;
  }
  return n;
}

/** The header's unsigned byte sum with the checksum field read as spaces. */
function checksum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function fieldEnd(block: Uint8Array, offset: number, length: number): number {
  const nul = block.indexOf(0, offset);
  return nul < 0 || nul > offset + length ? offset + length : nul;
}

function utf8(block: Uint8Array, offset: number, length: number): string {
  return Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString("utf8", offset, fieldEnd(block, offset, length));
}

function latin1(block: Uint8Array, offset: number, length: number): string {
  return Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString("latin1", offset, offset + length);
}

function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString("utf8", 0, nul < 0 ? bytes.length : nul);
}
