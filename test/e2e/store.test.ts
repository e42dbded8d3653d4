// The record store on disk, through the native file replacement: what a restart
// reads back, the order of writes to one record, and errors that say where;
// the content store's writes and deletions, and the trash.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContentStore } from "../../src/image-service/content-store.js";
import type { Logger } from "../../src/log.js";
import { readSmallFiles, replaceFile } from "../../src/native/index.js";
import { Trash } from "../../src/store/trash.js";
import { RecordStore } from "../../src/store/record-store.js";
import { fixtureDir } from "./harness/run-dir.js";

interface Rec {
  id: string;
  name: string;
  n: number;
}

const id = (c: string) => c.repeat(64);

describe("record store", () => {
  it("writes records that a new store reads back, removes temp files of interrupted writes, and keeps names unique", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const a = new RecordStore<Rec>(dir, "thing");
    await a.load();
    await a.create({ id: id("a"), name: "one", n: 1 });
    await a.put({ id: id("a"), name: "one", n: 2 });
    expect(() => a.create({ id: id("b"), name: "one", n: 0 })).toThrow(/name "one" is already used by thing a{64}/);
    await writeFile(path.join(dir, `.${id("c")}.json.tmp-1-1`), "{half");
    const b = new RecordStore<Rec>(dir, "thing");
    await b.load();
    expect(b.all()).toEqual([{ id: id("a"), name: "one", n: 2 }]);
    expect(await readdir(dir)).toEqual([`${id("a")}.json`]);
    expect((await stat(path.join(dir, `${id("a")}.json`))).mode & 0o777).toBe(0o600);
  });

  it("lands writes to one record in the order they were made, and a removal after them", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing");
    await s.load();
    const writes = Array.from({ length: 20 }, (_, n) => s.put({ id: id("d"), name: "many", n }));
    await Promise.all(writes);
    expect(JSON.parse(await readFile(path.join(dir, `${id("d")}.json`), "utf8")).n).toBe(19);
    expect(s.get(id("d"))!.n).toBe(19);
    const last = s.put({ id: id("e"), name: "gone", n: 1 });
    const removed = s.delete(id("e"));
    await Promise.all([last, removed]);
    expect(await readdir(dir)).toEqual([`${id("d")}.json`]);
  });
});

describe("replaceFile", () => {
  it("replaces a file with the given mode and leaves no temp file", async () => {
    const dir = await fixtureDir("durable");
    await replaceFile(dir, "f.json", "old", { mode: 0o644, durable: true });
    await replaceFile(dir, "f.json", "new ünïcode", { mode: 0o640, durable: true });
    expect(await readFile(path.join(dir, "f.json"), "utf8")).toBe("new ünïcode");
    expect((await stat(path.join(dir, "f.json"))).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(["f.json"]);
    // Not durable: the same atomic replacement, without the fsyncs.
    await replaceFile(dir, "f.json", "fast", { mode: 0o644, durable: false });
    expect(await readFile(path.join(dir, "f.json"), "utf8")).toBe("fast");
    expect(await readdir(dir)).toEqual(["f.json"]);
  });

  it("writes a Buffer's bytes as they are, including bytes that are not UTF-8", async () => {
    const dir = await fixtureDir("durable");
    const bytes = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x0a, 0xe2, 0x82]);
    await replaceFile(dir, "blob", bytes, { mode: 0o644, durable: true });
    expect((await readFile(path.join(dir, "blob"))).equals(bytes)).toBe(true);
    await replaceFile(dir, "empty", Buffer.alloc(0), { mode: 0o644, durable: false });
    expect((await stat(path.join(dir, "empty"))).size).toBe(0);
  });

  it("fails with the errno's code and the path, and refuses names that are paths", async () => {
    const dir = await fixtureDir("durable");
    const err = (await replaceFile(path.join(dir, "missing"), "f.json", "x", { mode: 0o600, durable: true }).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe("ENOENT");
    expect(err.message).toContain(path.join(dir, "missing", "f.json"));
    await mkdir(path.join(dir, "sub"));
    expect(() => replaceFile(dir, "sub/f.json", "x", { mode: 0o600, durable: true })).toThrow(TypeError);
    // a directory in the way of the rename
    await mkdir(path.join(dir, "taken"));
    const busy = (await replaceFile(dir, "taken", "x", { mode: 0o600, durable: false }).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(busy.code).toBe("EISDIR");
    expect((await readdir(dir)).sort()).toEqual(["sub", "taken"]);
  });
});

describe("readSmallFiles", () => {
  it("reads each file whole, in order, with undefined for one that cannot be read", async () => {
    const dir = await fixtureDir("small-reads");
    // Longer than the first read's buffer, to show it grows; and a file the kernel makes as it is read, reporting size 0.
    const long = "x".repeat(10_000) + "ü";
    await writeFile(path.join(dir, "long"), long);
    await writeFile(path.join(dir, "empty"), "");
    await mkdir(path.join(dir, "a-directory"));
    const got = await readSmallFiles([path.join(dir, "long"), path.join(dir, "missing"), path.join(dir, "empty"), path.join(dir, "a-directory"), "/proc/self/status"]);
    expect(got.slice(0, 4)).toEqual([long, undefined, "", undefined]);
    expect(got[4]).toMatch(/^Name:/);
    expect(await readSmallFiles([])).toEqual([]);
    expect(() => readSmallFiles(Array.from({ length: 65 }, () => "/x"))).toThrow(TypeError);
    expect(() => readSmallFiles("nope" as unknown as string[])).toThrow(TypeError);
  });
});

describe("content store", () => {
  const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

  it("has no blob from the moment its deletion starts; a write after it stores the blob again", async () => {
    const s = new ContentStore(await fixtureDir("content"));
    await s.init();
    for (let i = 0; i < 20; i++) {
      const data = Buffer.from([0x00, 0xff, i, 0xc3, 0x28]);
      const digest = digestOf(data);
      await s.write(digest, data);
      expect(await s.has(digest)).toBe(true);
      const deleted = s.delete(digest);
      // The stat may reach the pool before the unlink: it must still answer false.
      expect(await s.has(digest)).toBe(false);
      await deleted;
      await s.write(digest, data);
      expect((await s.read(digest)).equals(data), `round ${i}`).toBe(true);
    }
    expect(await s.list()).toHaveLength(20);
  });

  it("removes at start the temp files of writes a crash cut short, and no blob", async () => {
    const root = await fixtureDir("content");
    const s = new ContentStore(root);
    await s.init();
    const data = Buffer.from("kept");
    await s.write(digestOf(data), data);
    const temp = path.join(s.blobsDir, `.${"a".repeat(64)}.tmp-1-1`);
    await writeFile(temp, "partial");
    await new ContentStore(root).init();
    expect(await readdir(s.blobsDir)).toEqual([digestOf(data).slice("sha256:".length)]);
  });
});

describe("trash", () => {
  it("takes a tree away at once, removes it after, and empties what a previous run left", async () => {
    const root = await fixtureDir("trash");
    const log = { warn: () => undefined } as unknown as Logger;
    const trash = new Trash(path.join(root, "trash"), log);
    await trash.init();
    const tree = path.join(root, "tree");
    await mkdir(path.join(tree, "a", "b"), { recursive: true });
    await writeFile(path.join(tree, "a", "b", "f"), "x");
    await trash.discard(tree);
    expect(existsSync(tree)).toBe(false);
    await trash.drain();
    expect(await readdir(path.join(root, "trash"))).toEqual([]);
    await trash.discard(path.join(root, "never-was")); // not an error
    // Left by a crash: removed by the next start.
    await mkdir(path.join(root, "trash", "left", "deep"), { recursive: true });
    const next = new Trash(path.join(root, "trash"), log);
    await next.init();
    await next.drain();
    expect(await readdir(path.join(root, "trash"))).toEqual([]);
  });
});
