// The record journal's line format (src/store/journal-format.ts): what a restart reads back from whole, torn and damaged files.

import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { deleteLine, parseJournal, putLine, tableCrc32 } from "../../src/store/journal-format.js";

const rec = (id: string, n: number) => ({ id, name: `name-${id}`, n, text: "ünï\ncode \"quoted\"" });

describe("record journal format", () => {
  it("reads back what it wrote, with each line's place", () => {
    const lines = [putLine(JSON.stringify(rec("a", 1))), putLine(JSON.stringify(rec("b", 1))), deleteLine("a"), putLine(JSON.stringify(rec("b", 2)))];
    const bytes = Buffer.concat(lines);
    const parsed = parseJournal<ReturnType<typeof rec>>(bytes);
    expect(parsed.entries.map((e) => e.entry)).toEqual([{ put: rec("a", 1) }, { put: rec("b", 1) }, { del: "a" }, { put: rec("b", 2) }]);
    expect(parsed.entries.map((e) => [e.offset, e.length])).toEqual(lines.map((l, i) => [lines.slice(0, i).reduce((n, x) => n + x.length, 0), l.length]));
    expect(parsed.end).toBe(bytes.length);
    expect(parsed.damaged).toEqual([]);
    // One line each: JSON escapes the record's own newline.
    expect(bytes.toString().split("\n")).toHaveLength(5);
  });

  it("ends at the last whole line: a cut line, zeros or a line without its newline are the torn tail", () => {
    const whole = Buffer.concat([putLine(JSON.stringify(rec("a", 1))), putLine(JSON.stringify(rec("b", 1)))]);
    const next = putLine(JSON.stringify(rec("c", 1)));
    for (const tail of [next.subarray(0, 20), next.subarray(0, next.length - 1), Buffer.alloc(512), Buffer.concat([next.subarray(0, 30), Buffer.alloc(64), Buffer.from("\n")])]) {
      const parsed = parseJournal(Buffer.concat([whole, tail]));
      expect(parsed.entries).toHaveLength(2);
      expect(parsed.end).toBe(whole.length);
      expect(parsed.damaged).toEqual([]);
    }
  });

  it("reports a line damaged in place (checksum, or not an entry) and keeps the lines after it", () => {
    const a = putLine(JSON.stringify(rec("a", 1)));
    const b = Buffer.from(putLine(JSON.stringify(rec("b", 1))));
    b[20] = b[20]! ^ 0x02;
    const notEntry = Buffer.from(`${zlib.crc32('{"neither":1}').toString(16).padStart(8, "0")} {"neither":1}\n`);
    const c = putLine(JSON.stringify(rec("c", 1)));
    const parsed = parseJournal<ReturnType<typeof rec>>(Buffer.concat([a, b, notEntry, c]));
    expect(parsed.entries.map((e) => e.entry)).toEqual([{ put: rec("a", 1) }, { put: rec("c", 1) }]);
    expect(parsed.damaged).toEqual([a.length, a.length + b.length]);
  });

  it("computes CRC-32 as zlib does where Node.js has no zlib.crc32", () => {
    expect(tableCrc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    const bytes = Buffer.from(JSON.stringify(rec("x", 42)));
    expect(tableCrc32(bytes)).toBe(zlib.crc32(bytes));
    expect(tableCrc32(Buffer.alloc(0))).toBe(0);
  });
});
