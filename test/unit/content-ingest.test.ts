import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ContentStore, type IngestOptions } from "../../src/image-service/content-store.js";
import { followFile } from "../../src/image-service/unpack/blob-source.js";
import { Limit } from "../../src/util/limit.js";
import { readAll } from "../support/byte-source.js";
import { useTempDirs } from "../support/temp-dirs.js";

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const tempDir = useTempDirs("content");

async function store(): Promise<ContentStore> {
  const s = new ContentStore(tempDir());
  await s.init();
  return s;
}

describe("ContentStore.ingest", () => {
  it("lets a reader follow the blob as it downloads, ends its input only once the blob is verified, and stores it once the reader is done", async () => {
    const s = await store();
    const data = randomBytes(3_000_000);
    const digest = digestOf(data);
    let seen: Buffer | undefined;
    let storedWhileReading: boolean | undefined;
    let startedBeforeTheEnd: boolean | undefined;
    async function* slowly() {
      for (let off = 0; off < data.length; off += 500_000) {
        yield data.subarray(off, off + 500_000);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await s.ingest(digest, data.length, async () => Readable.from(slowly()), {
      reader: async (blob) => {
        startedBeforeTheEnd = !blob.progress.current.end;
        seen = await readAll(followFile(blob.path, blob.progress));
        storedWhileReading = existsSync(s.path(digest));
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    expect(startedBeforeTheEnd).toBe(true);
    expect(seen?.equals(data)).toBe(true);
    expect(storedWhileReading).toBe(false);
    expect(readFileSync(s.path(digest)).equals(data)).toBe(true);
  });

  it("writes a download whose chunks are larger, smaller and of every size against its staging buffers, in order, and reports every byte", async () => {
    const s = await store();
    const data = randomBytes(9_000_000);
    const digest = digestOf(data);
    // One 3 MB chunk fills both staging buffers and waits for a write; the small ones batch up behind writes.
    const sizes = [3_000_000, 1, 17, 65_536, 262_144, 262_145, 700_000];
    function* pieces() {
      for (let off = 0, i = 0; off < data.length; i++) {
        const n = sizes[i % sizes.length]!;
        yield data.subarray(off, off + n);
        off += n;
      }
    }
    let reported = 0;
    await s.ingest(digest, data.length, async () => Readable.from(pieces()), {
      reader: async (blob) => {
        const stop = blob.progress.subscribe((p) => (reported = p.written));
        await readAll(followFile(blob.path, blob.progress));
        stop();
      },
    });
    expect(reported).toBe(data.length);
    expect(readFileSync(s.path(digest)).equals(data)).toBe(true);
  });

  it("gives the reader of a blob that fails verification an error, never the end of its input, and stores nothing", async () => {
    const s = await store();
    const data = randomBytes(1000);
    const wrong = digestOf(Buffer.from("something else"));
    let readerSaw: unknown;
    await expect(
      s.ingest(wrong, data.length, async () => Readable.from([data]), {
        reader: async (blob) => {
          readerSaw = await readAll(followFile(blob.path, blob.progress)).catch((err: Error) => err);
        },
      }),
    ).rejects.toThrow(/digest verification failed/);
    expect(readerSaw).toBeInstanceOf(Error);
    expect((readerSaw as Error).message).toMatch(/was not stored: blob content has digest/);
    expect(existsSync(s.path(wrong))).toBe(false);
    expect(readdirSync(path.join(path.dirname(path.dirname(s.blobsDir)), "ingest"))).toEqual([]);
  });

  it("gives the reader an error when the download breaks off", async () => {
    const s = await store();
    const data = randomBytes(10_000);
    let readerSaw: unknown;
    async function* cut() {
      yield data.subarray(0, 4000);
      throw new Error("connection reset");
    }
    await expect(
      s.ingest(digestOf(data), data.length, async () => Readable.from(cut()), {
        reader: async (blob) => {
          readerSaw = await readAll(followFile(blob.path, blob.progress)).catch((err: Error) => err);
        },
      }),
    ).rejects.toThrow(/connection reset/);
    expect((readerSaw as Error).message).toMatch(/connection reset/);
    expect(existsSync(s.path(digestOf(data)))).toBe(false);
  });

  it("has its reader under way before the response comes; a request that fails leaves no file and fails the reader", async () => {
    const s = await store();
    const data = randomBytes(1000);
    let refuse!: (err: Error) => void;
    const response = new Promise<Readable>((_, reject) => (refuse = reject));
    let readerStarted!: () => void;
    const started = new Promise<void>((r) => (readerStarted = r));
    let readerSaw: unknown;
    const reader: IngestOptions["reader"] = async (blob) => {
      readerStarted();
      readerSaw = await readAll(followFile(blob.path, blob.progress)).catch((err: Error) => err);
    };
    const refused = s.ingest(digestOf(data), data.length, () => response, { reader });
    await started; // while the response is still to come
    refuse(new Error("registry unreachable"));
    await expect(refused).rejects.toThrow(/registry unreachable/);
    expect((readerSaw as Error).message).toMatch(/registry unreachable/);
    expect(existsSync(s.path(digestOf(data)))).toBe(false);
    expect(readdirSync(path.join(path.dirname(path.dirname(s.blobsDir)), "ingest"))).toEqual([]);

    // A response that comes late: read in full, and stored.
    let read: Buffer | undefined;
    const late = () => new Promise<Readable>((r) => setTimeout(() => r(Readable.from([data])), 50));
    await s.ingest(digestOf(data), data.length, late, { reader: async (blob) => void (read = await readAll(followFile(blob.path, blob.progress))) });
    expect(read?.equals(data)).toBe(true);
    expect(readFileSync(s.path(digestOf(data))).equals(data)).toBe(true);
  });

  it("stores the blob even when its reader fails (the reader's caller reports that)", async () => {
    const s = await store();
    const data = randomBytes(1000);
    const digest = digestOf(data);
    await s.ingest(digest, data.length, async () => Readable.from([data]), { reader: async () => Promise.reject(new Error("bad layer")) });
    expect(readFileSync(s.path(digest)).equals(data)).toBe(true);
  });

  it("holds its transfer slot only for the transfer: the next download starts while the first blob is still being read", async () => {
    const s = await store();
    const downloads = new Limit(1);
    const [a, b] = [randomBytes(5000), randomBytes(5000)];
    let releaseReader!: () => void;
    const readerBlocked = new Promise<void>((r) => (releaseReader = r));
    let secondOpened = false;
    const first = s.ingest(digestOf(a), a.length, async () => Readable.from([a]), { transfer: (run) => downloads.run(run), reader: () => readerBlocked });
    const second = s.ingest(digestOf(b), b.length, async () => ((secondOpened = true), Readable.from([b])), { transfer: (run) => downloads.run(run) });
    await second;
    expect(secondOpened).toBe(true);
    expect(existsSync(s.path(digestOf(a)))).toBe(false); // still being read
    releaseReader();
    await first;
    expect(existsSync(s.path(digestOf(a)))).toBe(true);
  });
});
