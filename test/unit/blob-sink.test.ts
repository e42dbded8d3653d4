// The download sink: bytes land in the file in order and the digest is
// OpenSSL's SHA-256 of exactly them, computed on the pool with each write.

import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { BlobSink } from "../../src/image-service/blob-sink.js";
import { native } from "../../src/native/index.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("sink");
const tempFile = () => path.join(tempDir(), "blob");

describe("BlobSink", () => {
  it("writes every byte in order and hashes exactly what it wrote", async () => {
    const file = tempFile();
    const fd = openSync(file, "w");
    const data = randomBytes(5_000_000);
    let reported = 0;
    const sink = new BlobSink(fd, (n) => (reported += n));
    const pieces = [1, 70_000, 2_000_000, 3, 524_288, 524_289];
    function* chunks() {
      for (let off = 0, i = 0; off < data.length; i++) {
        const n = pieces[i % pieces.length]!;
        yield data.subarray(off, off + n);
        off += n;
      }
    }
    await pipeline(Readable.from(chunks()), sink);
    closeSync(fd);
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(reported).toBe(data.length);
    expect(sink.digest()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(() => sink.digest()).toThrow(/already taken/);
  });

  it("fails the stream with the write's error, and the native call refuses overlapping writes", async () => {
    const file = tempFile();
    closeSync(openSync(file, "w"));
    const fd = openSync(file, "r"); // not open for writing: EBADF
    const sink = new BlobSink(fd, () => undefined);
    await expect(pipeline(Readable.from([randomBytes(2_000_000)]), sink)).rejects.toThrow(/write the blob: .*EBADF|bad file descriptor/i);
    await sink.idle();
    closeSync(fd);

    const state = native().sha256Create();
    const out = openSync(tempFile(), "w");
    const first = native().writeHashed(state, out, Buffer.alloc(1000));
    expect(() => native().writeHashed(state, out, Buffer.alloc(10))).toThrow(/has not settled/);
    await first;
    expect(native().sha256Hex(state)).toBe(createHash("sha256").update(Buffer.alloc(1000)).digest("hex"));
    closeSync(out);
  });
});
