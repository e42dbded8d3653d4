// The record stores on disk, through their journal: what a restart reads back
// (after a torn append, a damaged line, or from an earlier version's record
// files), the order of writes to one record, the journal's rewrite; the native
// file writes and their errors; the content store's writes and deletions, and
// the trash.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContentStore } from "../../src/image-service/content-store.js";
import type { ImageRecord } from "../../src/image-service/image-record.js";
import { ImageStore } from "../../src/image-service/image-store.js";
import { SnapshotStore } from "../../src/image-service/snapshots.js";
import type { Logger } from "../../src/log.js";
import { appendDurable, readSmallFiles, replaceFile } from "../../src/native/index.js";
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
  const journal = (dir: string) => path.join(dir, "records.journal");

  it("writes records that a new store reads back, removes temp files of interrupted writes, and keeps names unique", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const a = new RecordStore<Rec>(dir, "thing");
    await a.load();
    await a.create({ id: id("a"), name: "one", n: 1 });
    await a.put({ id: id("a"), name: "one", n: 2 });
    expect(() => a.create({ id: id("b"), name: "one", n: 0 })).toThrow(/name "one" is already used by thing a{64}/);
    await a.close();
    await writeFile(path.join(dir, `.${id("c")}.json.tmp-1-1`), "{half");
    await writeFile(path.join(dir, ".records.journal.compacting"), "half");
    const b = new RecordStore<Rec>(dir, "thing");
    await b.load();
    expect(b.all()).toEqual([{ id: id("a"), name: "one", n: 2 }]);
    expect(() => b.create({ id: id("b"), name: "one", n: 0 })).toThrow(/already used/);
    expect(await readdir(dir)).toEqual(["records.journal"]);
    expect((await stat(journal(dir))).mode & 0o777).toBe(0o600);
    await b.close();
  });

  it("lands writes to one record in the order they were made, and a removal after them", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing");
    await s.load();
    const writes = Array.from({ length: 20 }, (_, n) => s.put({ id: id("d"), name: "many", n }));
    await Promise.all(writes);
    expect(s.get(id("d"))!.n).toBe(19);
    const last = s.put({ id: id("e"), name: "gone", n: 1 });
    const removed = s.delete(id("e"));
    await Promise.all([last, removed]);
    await s.close();
    const again = new RecordStore<Rec>(dir, "thing");
    await again.load();
    expect(again.all()).toEqual([{ id: id("d"), name: "many", n: 19 }]);
    // The name of a removed record is free again after a restart.
    await again.create({ id: id("f"), name: "gone", n: 2 });
    await again.close();
  });

  it("cuts off an append that a crash left unfinished, and says so", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing");
    await s.load();
    await s.put({ id: id("a"), name: "kept", n: 1 });
    await s.close();
    const whole = (await stat(journal(dir))).size;
    // Half a line, then the zeros a file's end can hold after a power loss.
    await appendFile(journal(dir), Buffer.concat([Buffer.from('0badc0de {"put":{"id":"'), Buffer.alloc(300)]));
    const warnings: string[] = [];
    const t = new RecordStore<Rec>(dir, "thing", { warn: (m) => warnings.push(m) });
    await t.load();
    expect(t.all()).toEqual([{ id: id("a"), name: "kept", n: 1 }]);
    expect(warnings).toEqual([expect.stringMatching(/records\.journal: cut off 323 bytes of an append that a crash left unfinished/)]);
    expect((await stat(journal(dir))).size).toBe(whole);
    // Appends go on from the clean end.
    await t.put({ id: id("b"), name: "after", n: 2 });
    await t.close();
    const u = new RecordStore<Rec>(dir, "thing");
    await u.load();
    expect(u.all().map((r) => r.name).sort()).toEqual(["after", "kept"]);
    await u.close();
  });

  it("skips a line damaged in place, keeps the others, and says where", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing");
    await s.load();
    for (const c of ["a", "b", "c"]) await s.put({ id: id(c), name: c, n: 1 });
    await s.close();
    const bytes = await readFile(journal(dir));
    const second = bytes.indexOf(0x0a) + 1;
    bytes[second + 40]! ^= 0x01; // one bit of b's line
    await writeFile(journal(dir), bytes);
    const warnings: string[] = [];
    const t = new RecordStore<Rec>(dir, "thing", { warn: (m) => warnings.push(m) });
    await t.load();
    expect(t.all().map((r) => r.name).sort()).toEqual(["a", "c"]);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`the line at byte ${second} is damaged`))]);
    await t.close();
  });

  it("takes in the record files of earlier versions, which win over the journal, then removes them", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing");
    await s.load();
    await s.put({ id: id("a"), name: "a", n: 1 });
    await s.put({ id: id("b"), name: "b", n: 1 });
    await s.close();
    await writeFile(path.join(dir, `${id("a")}.json`), JSON.stringify({ id: id("a"), name: "a", n: 7 }));
    await writeFile(path.join(dir, `${id("c")}.json`), JSON.stringify({ id: id("c"), name: "c", n: 3 }));
    const t = new RecordStore<Rec>(dir, "thing");
    await t.load();
    const byName = (st: RecordStore<Rec>) => Object.fromEntries(st.all().map((r) => [r.name, r.n]));
    expect(byName(t)).toEqual({ a: 7, b: 1, c: 3 });
    expect(await readdir(dir)).toEqual(["records.journal"]);
    await t.close();
    const u = new RecordStore<Rec>(dir, "thing");
    await u.load();
    expect(byName(u)).toEqual({ a: 7, b: 1, c: 3 });
    await u.close();
    // A record file that is not JSON stops the load with its path.
    await writeFile(path.join(dir, `${id("d")}.json`), "{half");
    await expect(new RecordStore<Rec>(dir, "thing").load()).rejects.toThrow(new RegExp(`cannot read .*${id("d")}\\.json`));
  });

  it("rewrites the journal without old versions once it is mostly old versions", async () => {
    const dir = path.join(await fixtureDir("store"), "records");
    const s = new RecordStore<Rec>(dir, "thing", { compactAtBytes: 8192 });
    await s.load();
    let largest = 0;
    for (let n = 0; n < 300; n++) {
      await Promise.all([s.put({ id: id("a"), name: "a", n }), s.put({ id: id(String(n % 7)), name: `r${n % 7}`, n })]);
      if (n === 150) await s.delete(id("3"));
      largest = Math.max(largest, (await stat(journal(dir))).size);
    }
    await s.close();
    // ~7 live records of ~150 bytes: the file never grows far past the threshold.
    expect(largest).toBeLessThan(8192 + 1024);
    expect(await readdir(dir)).toEqual(["records.journal"]);
    const t = new RecordStore<Rec>(dir, "thing");
    await t.load();
    expect(Object.fromEntries(t.all().map((r) => [r.name, r.n]))).toEqual(Object.fromEntries(s.all().map((r) => [r.name, r.n])));
    expect(t.get(id("3"))?.n).toBe(297);
    await t.close();
  });
});

describe("image store", () => {
  const image = (c: string, tags: string[]): ImageRecord => ({
    id: `sha256:${c.repeat(64)}`, repoTags: tags, repoDigests: [], manifestDigest: `sha256:${"9".repeat(64)}`, extraBlobs: [], configDigest: `sha256:${c.repeat(64)}`, layers: [], size: 1, config: {}, pinned: false, createdAt: 1,
  });

  it("keeps its records in the journal, takes in the <hex>.json files of earlier versions, and moves a tag", async () => {
    const root = await fixtureDir("images");
    await mkdir(path.join(root, "images"));
    await writeFile(path.join(root, "images", `${"a".repeat(64)}.json`), JSON.stringify(image("a", ["127.0.0.1:5000/app:1"])));
    const s = new ImageStore(root);
    await s.load();
    expect(s.find("127.0.0.1:5000/app:1")?.id).toBe(image("a", []).id);
    expect(await readdir(path.join(root, "images"))).toEqual(["records.journal"]);
    await s.save(image("b", ["127.0.0.1:5000/app:1"]));
    await s.delete(image("c", []).id); // unknown: nothing to do, nothing fails
    const t = new ImageStore(root);
    await t.load();
    expect(t.all().map((r) => [r.id.slice(7, 8), r.repoTags])).toEqual([["a", []], ["b", ["127.0.0.1:5000/app:1"]]]);
    await t.delete(image("a", []).id);
    const u = new ImageStore(root);
    await u.load();
    expect(u.all().map((r) => r.id)).toEqual([image("b", []).id]);
  });
});

describe("snapshot store", () => {
  const chain = (c: string) => `sha256:${c.repeat(64)}`;
  const populate = (file: string) => async (fsDir: string) => {
    await writeFile(path.join(fsDir, file), file);
    return { usedBytes: 1, inodes: 1, pendingHardlinks: [] };
  };

  it("records a snapshot once its files are in place, and at start keeps exactly the recorded ones", async () => {
    const root = await fixtureDir("snapshots");
    const trash = new Trash(path.join(root, "trash"), { warn: () => undefined } as unknown as Logger);
    await trash.init();
    const s = new SnapshotStore(root, trash);
    await s.load();
    const a = await s.create(chain("a"), undefined, chain("a"), populate("a"));
    const b = await s.create(chain("b"), chain("a"), chain("b"), populate("b"));
    await s.create(chain("c"), undefined, chain("c"), populate("c"));
    await s.remove(chain("c"));
    // What crashes leave: a directory never recorded, and b's directory gone before its removal was recorded.
    await mkdir(path.join(root, "snapshots", "77", "fs"), { recursive: true });
    await rm(path.join(root, "snapshots", String(b.id)), { recursive: true });
    // An earlier version's snapshot: its record in <n>/snapshot.json; and one of those with its parent gone.
    const old = { id: 50, chainId: chain("d"), parent: chain("a"), diffId: chain("d"), usedBytes: 0, inodes: 0, createdAt: 0 };
    const orphan = { ...old, id: 51, chainId: chain("e"), parent: chain("f") };
    for (const rec of [old, orphan]) {
      await mkdir(path.join(root, "snapshots", String(rec.id), "fs"), { recursive: true });
      await writeFile(path.join(root, "snapshots", String(rec.id), "snapshot.json"), JSON.stringify(rec));
    }
    const t = new SnapshotStore(root, trash);
    await t.load();
    expect(t.all().map((x) => x.chainId).sort()).toEqual([chain("a"), chain("d")]);
    expect(await readFile(path.join(t.fsPath(t.get(chain("a"))!), "a"), "utf8")).toBe("a");
    expect((await readdir(path.join(root, "snapshots"))).sort()).toEqual([String(a.id), "50", "records.journal"]);
    expect(await readdir(path.join(root, "snapshots", "50"))).toEqual(["fs"]);
    // A new snapshot's directory number is past every one in use.
    expect((await t.create(chain("g"), undefined, chain("g"), populate("g"))).id).toBeGreaterThan(50);
    const u = new SnapshotStore(root, trash);
    await u.load();
    expect(u.all().map((x) => x.chainId).sort()).toEqual([chain("a"), chain("d"), chain("g")]);
  });
});

describe("appendDurable", () => {
  it("writes at the given offset, and fails with the errno's code, the file left as it was", async () => {
    const file = path.join(await fixtureDir("append"), "j");
    await writeFile(file, "head\n");
    const fd = openSync(file, "r+");
    try {
      await appendDurable(fd, Buffer.from("one\n"), 5);
      await appendDurable(fd, Buffer.from("two\n"), 9);
      expect(await readFile(file, "utf8")).toBe("head\none\ntwo\n");
    } finally {
      closeSync(fd);
    }
    const readOnly = openSync(file, "r");
    try {
      const err = (await appendDurable(readOnly, Buffer.from("three\n"), 13).catch((e: unknown) => e)) as NodeJS.ErrnoException;
      expect(err.code).toBe("EBADF");
      expect(err.message).toMatch(/^write the journal: /);
    } finally {
      closeSync(readOnly);
    }
    expect(await readFile(file, "utf8")).toBe("head\none\ntwo\n");
    expect(() => appendDurable(-1, Buffer.alloc(1), 0)).toThrow(TypeError);
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
