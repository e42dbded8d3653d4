import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ContentStore } from "../../src/image-service/content-store.js";
import { Limit } from "../../src/util/limit.js";

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const roots: string[] = [];

async function store(): Promise<ContentStore> {
  const root = mkdtempSync(path.join(tmpdir(), "skiff-content-"));
  roots.push(root);
  const s = new ContentStore(root);
  await s.init();
  return s;
}

afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe("ContentStore.ingest", () => {
  it("lets a reader have the verified blob before it is moved into place, and stores it once the reader is done", async () => {
    const s = await store();
    const data = randomBytes(300_000);
    const digest = digestOf(data);
    let seen: Buffer | undefined;
    let storedWhileReading: boolean | undefined;
    await s.ingest(digest, data.length, async () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {
      whileSyncing: async (p) => {
        seen = readFileSync(p);
        storedWhileReading = existsSync(s.path(digest));
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    expect(seen?.equals(data)).toBe(true);
    expect(storedWhileReading).toBe(false);
    expect(readFileSync(s.path(digest)).equals(data)).toBe(true);
  });

  it("never hands a reader a blob that fails verification, and stores nothing", async () => {
    const s = await store();
    const data = randomBytes(1000);
    let called = false;
    const wrong = digestOf(Buffer.from("something else"));
    await expect(
      s.ingest(wrong, data.length, async () => Readable.from([data]), { whileSyncing: async () => void (called = true) }),
    ).rejects.toThrow(/digest verification failed/);
    expect(called).toBe(false);
    expect(existsSync(s.path(wrong))).toBe(false);
    expect(readdirSync(path.join(path.dirname(path.dirname(s.blobsDir)), "ingest"))).toEqual([]);
  });

  it("stores the blob even when its reader fails (the reader's caller reports that)", async () => {
    const s = await store();
    const data = randomBytes(1000);
    const digest = digestOf(data);
    await s.ingest(digest, data.length, async () => Readable.from([data]), { whileSyncing: async () => Promise.reject(new Error("bad layer")) });
    expect(readFileSync(s.path(digest)).equals(data)).toBe(true);
  });

  it("holds its transfer slot only for the transfer: the next download starts while the first blob is still being read", async () => {
    const s = await store();
    const downloads = new Limit(1);
    const [a, b] = [randomBytes(5000), randomBytes(5000)];
    let releaseReader!: () => void;
    const readerBlocked = new Promise<void>((r) => (releaseReader = r));
    let secondOpened = false;
    const first = s.ingest(digestOf(a), a.length, async () => Readable.from([a]), { transfer: (run) => downloads.run(run), whileSyncing: () => readerBlocked });
    const second = s.ingest(digestOf(b), b.length, async () => ((secondOpened = true), Readable.from([b])), { transfer: (run) => downloads.run(run) });
    await second;
    expect(secondOpened).toBe(true);
    expect(existsSync(s.path(digestOf(a)))).toBe(false); // still being read
    releaseReader();
    await first;
    expect(existsSync(s.path(digestOf(a)))).toBe(true);
  });
});
