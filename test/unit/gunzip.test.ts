// The layer gunzip (native zlib into one reused buffer) against Node's own.

import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Gunzip } from "../../src/image-service/unpack/gunzip.js";

/** Decompresses in pieces of `piece` bytes; copies each output view before the next call overwrites it. */
function gunzip(data: Buffer, piece: number): Buffer {
  const g = new Gunzip();
  const out: Buffer[] = [];
  const input = Buffer.alloc(piece);
  for (let off = 0; off < data.length; off += piece) {
    const n = data.copy(input, 0, off, off + piece);
    g.write(input.subarray(0, n), (b) => out.push(Buffer.from(b)));
  }
  try {
    g.end();
  } finally {
    g.close();
  }
  return Buffer.concat(out);
}

describe("Gunzip", () => {
  const text = Buffer.from("layer ".repeat(200_000)); // compresses ~1000:1: many full output buffers per input piece
  const noise = randomBytes(700_000);

  it("gives back what gzip took, whatever the input pieces", () => {
    for (const data of [text, noise, Buffer.alloc(0)]) {
      const gz = gzipSync(data);
      for (const piece of [1 << 20, 4096, 17]) expect(gunzip(gz, piece).equals(data)).toBe(true);
    }
  });

  it("reads gzip members one after another, and ignores what follows that is not one", () => {
    const two = Buffer.concat([gzipSync(text), gzipSync(noise), Buffer.from("trailing bytes")]);
    expect(gunzip(two, 65_536).equals(Buffer.concat([text, noise]))).toBe(true);
  });

  it("refuses a truncated or corrupt stream", () => {
    const gz = gzipSync(noise);
    expect(() => gunzip(gz.subarray(0, gz.length - 100), 4096)).toThrow(/truncated/);
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 8]! ^= 1; // the CRC-32
    expect(() => gunzip(corrupt, 4096)).toThrow(/gzip data is corrupt: incorrect data check/);
    expect(() => gunzip(Buffer.from("not gzip at all"), 4096)).toThrow(/gzip data is corrupt: incorrect header check/);
  });
});
