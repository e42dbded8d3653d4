// Content-addressed blob store: <root>/content/blobs/sha256/<hex>. A blob is
// streamed to <root>/content/ingest/ while it is hashed, its size and digest are
// checked, and only then is it renamed into place: a reader of the store never
// sees a partial or corrupt blob (the ingest's own reader, an unpack, follows
// the download but sees its end only once it is verified), and a daemon killed
// mid-transfer leaves only ingest files, which the next start removes.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { failedPrecondition } from "../errors.js";
import { removeFile, writeFileAtomic } from "../store/atomic-file.js";
import { SingleFlight } from "../util/single-flight.js";
import { YoungCollector } from "../util/young-collection.js";
import { DIGEST } from "./reference.js";
import { BlobSink } from "./blob-sink.js";
import { WriteProgress } from "./unpack/write-progress.js";

export class DigestMismatchError extends Error {}

/** Downloads of all ingests together free their socket buffers every this many bytes (young-collection.ts): ~0.2 ms of the main thread per MiB. */
const downloads = new YoungCollector(1024 * 1024);

export interface IngestOptions {
  /** Called with the size of each chunk received. */
  onBytes?: (n: number) => void;
  /**
   * Reads the blob while it is downloaded and flushed to disk: a pull unpacks
   * a layer as it arrives instead of after the download and the fsync. The
   * reader follows the file through `progress`, which ends only once size and
   * digest are verified, and fails if they are not (the reader must then
   * discard what it made of it). It starts with the transfer, before the
   * response has come; the blob is moved into place once both the fsync and
   * the reader are done. A failure of the reader is the caller's to report
   * and does not stop the blob from being stored.
   */
  reader?: (blob: { path: string; progress: WriteProgress }) => Promise<unknown>;
  /** Runs the transfer itself (e.g. under a limit on concurrent downloads); the fsync and the reader are not part of it. */
  transfer?: (run: () => Promise<void>) => Promise<void>;
}

export class ContentStore {
  readonly blobsDir: string;
  private readonly ingestDir: string;
  private readonly flights = new SingleFlight<void>();
  /** Deletions in progress: a blob being deleted is not there for `has`. */
  private readonly deleting = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.blobsDir = path.join(root, "content", "blobs", "sha256");
    this.ingestDir = path.join(root, "content", "ingest");
  }

  /** Creates the dirs and drops ingests and temporary files left by a previous run. */
  async init(): Promise<void> {
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
    await mkdir(this.blobsDir, { recursive: true });
    for (const name of await readdir(this.blobsDir)) if (name.startsWith(".")) await rm(path.join(this.blobsDir, name), { force: true });
  }

  path(digest: string): string {
    if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.blobsDir, digest.slice("sha256:".length));
  }

  async has(digest: string): Promise<boolean> {
    await this.deleting.get(digest)?.catch(() => undefined);
    return stat(this.path(digest)).then(
      () => true,
      () => false,
    );
  }

  async size(digest: string): Promise<number | undefined> {
    return stat(this.path(digest)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  /** Stores bytes already in memory (manifests, configs) after checking them. */
  async write(digest: string, data: Buffer): Promise<void> {
    const actual = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    if (actual !== digest) throw new DigestMismatchError(`content has digest ${actual}, expected ${digest}`);
    if (await this.has(digest)) return;
    // A temp file beside the blob (removed by init if left), fsync, rename, fsync of the directory.
    await writeFileAtomic(this.path(digest), data, 0o644);
  }

  /**
   * Stores a blob from a stream opened by `openSource`, verifying size and digest.
   * Concurrent ingests of one digest share a single transfer; an existing blob
   * is not fetched again.
   */
  ingest(digest: string, expectedSize: number, openSource: () => Promise<Readable>, options: IngestOptions = {}): Promise<void> {
    const { onBytes, reader, transfer = (fn) => fn() } = options;
    return this.flights.run(digest, async () => {
      if (await this.has(digest)) return;
      const tmp = this.tempPath();
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > expectedSize) return cb(new DigestMismatchError(`blob ${digest} is larger than the ${expectedSize} bytes its descriptor declares`));
          downloads.add(chunk.length);
          onBytes?.(chunk.length);
          cb(null, chunk);
        },
      });
      const progress = new WriteProgress();
      let reading: Promise<unknown> | undefined;
      // One descriptor from the download to the fsync: two trips through the pool fewer than reopening.
      let fh: FileHandle | undefined;
      let sink: BlobSink | undefined;
      try {
        try {
          await transfer(async () => {
            // The request goes out while the temp file is made (a new inode: the slower of the two here),
            // and the reader (an unpack: its directory, its worker) gets ready while the response is awaited.
            const source = openSource();
            source.catch(() => undefined); // awaited below, or let go unread
            fh = await open(tmp, "w", 0o644).catch(async (err: unknown) => {
              (await source.catch(() => undefined))?.destroy();
              throw err;
            });
            sink = new BlobSink(fh.fd, (n) => progress.advance(n));
            reading = reader?.({ path: tmp, progress }).catch(() => undefined);
            await pipeline(await source, counter, sink);
          });
          if (size !== expectedSize) throw new DigestMismatchError(`blob ${digest} has ${size} bytes, its descriptor declares ${expectedSize}`);
          const actual = `sha256:${sink!.digest()}`;
          if (actual !== digest) throw new DigestMismatchError(`blob content has digest ${actual}, expected ${digest}`);
        } catch (err) {
          progress.fail(`the blob ${digest} was not stored: ${(err as Error).message}`);
          await Promise.all([sink?.idle(), reading]);
          await fh?.close();
          throw err;
        }
        progress.finish();
        const file = fh!;
        const synced = file.sync().finally(() => file.close());
        await Promise.all([synced, reading]);
        await rename(tmp, this.path(digest));
      } catch (err) {
        await rm(tmp, { force: true });
        if (err instanceof DigestMismatchError) throw failedPrecondition(`digest verification failed: ${err.message}; nothing was stored`);
        throw err;
      }
    });
  }

  /** A fresh scratch directory under ingest/ (removed at the next start if left behind). */
  async scratchDir(): Promise<string> {
    const dir = path.join(this.ingestDir, `scratch-${randomBytes(6).toString("hex")}`);
    await mkdir(dir);
    return dir;
  }

  /** Stores a local file as a blob, computing its digest. */
  async ingestFile(file: string): Promise<{ digest: string; size: number }> {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const digest = `sha256:${hash.digest("hex")}`;
    await this.ingest(digest, size, async () => createReadStream(file));
    return { digest, size };
  }

  /** Digests of all stored blobs. */
  async list(): Promise<string[]> {
    return (await readdir(this.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Deletes a blob; `has` answers false from the moment this is called. */
  delete(digest: string): Promise<void> {
    const deletion: Promise<void> = removeFile(this.path(digest)).finally(() => {
      if (this.deleting.get(digest) === deletion) this.deleting.delete(digest);
    });
    this.deleting.set(digest, deletion);
    return deletion;
  }

  private tempPath(): string {
    return path.join(this.ingestDir, randomBytes(8).toString("hex"));
  }
}
