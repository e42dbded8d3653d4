import { randomBytes } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { followFile } from "../../src/image-service/unpack/blob-source.js";
import { WriteProgress } from "../../src/image-service/unpack/write-progress.js";
import { readAll } from "../support/byte-source.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("follow");
function emptyFile(): string {
  const file = path.join(tempDir(), "blob");
  writeFileSync(file, "");
  return file;
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("followFile", () => {
  it("reads a file as it is written and ends only when the writer finishes, not when it catches up", async () => {
    const file = emptyFile();
    const progress = new WriteProgress();
    const got: Buffer[] = [];
    let ended = false;
    const all = readAll(followFile(file, progress), (c) => got.push(c)).then((b) => ((ended = true), b));
    const data = randomBytes(2_500_000);
    for (let off = 0; off < data.length; off += 700_000) {
      const part = data.subarray(off, off + 700_000);
      appendFileSync(file, part);
      progress.advance(part.length);
      await tick();
    }
    await tick();
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(ended).toBe(false); // every byte read, but the writer has not vouched for the file yet
    progress.finish();
    expect((await all).equals(data)).toBe(true);
    expect(ended).toBe(true);
  });

  it("fails with the writer's reason, even when every written byte was read", async () => {
    const file = emptyFile();
    const progress = new WriteProgress();
    appendFileSync(file, "abc");
    progress.advance(3);
    const failure = readAll(followFile(file, progress)).then(
      () => new Error("no failure"),
      (err: Error) => err,
    );
    await tick();
    progress.fail("digest verification failed");
    expect((await failure).message).toBe("digest verification failed");
  });

  it("does not read past what the writer reported, and refuses a file shorter than reported", async () => {
    const file = emptyFile();
    appendFileSync(file, "0123456789");
    const progress = new WriteProgress();
    progress.advance(4); // the rest is not vouched for yet
    const got: Buffer[] = [];
    const failure = readAll(followFile(file, progress), (c) => got.push(c)).then(
      () => new Error("no failure"),
      (err: Error) => err,
    );
    await tick();
    expect(Buffer.concat(got).toString()).toBe("0123");
    progress.advance(20); // more than the file holds
    expect((await failure).message).toMatch(/fewer bytes than the 24 written/);
  });
});

describe("WriteProgress", () => {
  it("ignores whatever comes after it ended or failed", () => {
    const p = new WriteProgress();
    p.advance(5);
    p.fail("cut off");
    p.advance(5);
    p.finish();
    p.update({ written: 100, end: true });
    expect(p.current).toEqual({ written: 5, end: false, error: "cut off" });
  });
});
