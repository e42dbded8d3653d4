// The record journal's format (journal.ts does the file work). One line per
// entry: the CRC-32 of the JSON as 8 hex digits, a space, the JSON, "\n"; the
// JSON is {"put":<record>} or {"del":"<id>"}. JSON.stringify never writes a
// raw newline, so lines split cleanly, and the checksum tells a whole line
// from one that a crash cut short or left as zeros.

import zlib from "node:zlib";

export type JournalEntry<T> = { put: T } | { del: string };

/** An entry found in a journal, with where its line sits in the file. */
export interface Located<T> {
  entry: JournalEntry<T>;
  offset: number;
  length: number;
}

export interface ParsedJournal<T> {
  entries: Located<T>[];
  /** The end of the last whole line: what follows it is a torn tail, to be cut off. */
  end: number;
  /** Offsets of lines before `end` that fail their checksum (damaged in place, not torn). */
  damaged: number[];
}

const NEWLINE = 0x0a;
const HEAD = 9; // 8 hex digits and a space

let table: Uint32Array | undefined;

/** CRC-32 (IEEE) computed here, for a Node.js older than 20.15 (which has zlib.crc32). */
export function tableCrc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const crc32: (bytes: Uint8Array) => number = typeof zlib.crc32 === "function" ? (bytes) => zlib.crc32(bytes) : tableCrc32;

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** The line that stores `json` (an entry's JSON text). */
function line(json: string): Buffer {
  const body = Buffer.from(json, "utf8");
  const out = Buffer.allocUnsafe(HEAD + body.length + 1);
  out.write(hex8(crc32(body)), 0, "latin1");
  out[8] = 0x20;
  body.copy(out, HEAD);
  out[out.length - 1] = NEWLINE;
  return out;
}

/** A put entry's line, from the record's JSON text. */
export function putLine(recordJson: string): Buffer {
  return line(`{"put":${recordJson}}`);
}

export function deleteLine(id: string): Buffer {
  return line(JSON.stringify({ del: id }));
}

/** The entry a line holds, or undefined when the line is damaged. */
function parseLine<T>(bytes: Buffer, start: number, newline: number): JournalEntry<T> | undefined {
  if (newline - start < HEAD + 2 || bytes[start + 8] !== 0x20) return undefined;
  const head = bytes.toString("latin1", start, start + 8);
  const body = bytes.subarray(start + HEAD, newline);
  if (!/^[0-9a-f]{8}$/.test(head) || crc32(body) !== Number.parseInt(head, 16)) return undefined;
  try {
    const entry = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    if (entry && typeof entry === "object" && ("put" in entry ? typeof entry.put === "object" && entry.put !== null : typeof entry.del === "string")) return entry as JournalEntry<T>;
  } catch {
    /* a checksum that matches damaged JSON: treated as damage */
  }
  return undefined;
}

/**
 * Reads a journal's bytes. Appends are made durable one after another, so
 * only the last lines can be incomplete: everything after the last whole,
 * valid line is the torn tail. A bad line followed by good ones was damaged
 * after it was written; it is reported and skipped.
 */
export function parseJournal<T>(bytes: Buffer): ParsedJournal<T> {
  const entries: Located<T>[] = [];
  const bad: number[] = [];
  let end = 0;
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(NEWLINE, start);
    if (newline < 0) break;
    const entry = parseLine<T>(bytes, start, newline);
    if (entry) {
      entries.push({ entry, offset: start, length: newline + 1 - start });
      end = newline + 1;
    } else {
      bad.push(start);
    }
    start = newline + 1;
  }
  return { entries, end, damaged: bad.filter((offset) => offset < end) };
}
