// Where an unpack reads its layer from: a blob in the content store, or one
// still being downloaded, read as it grows and ended only once it is verified.

import fs from "node:fs";
import { Readable } from "node:stream";
import type { WriteProgress } from "./write-progress.js";

/** How much of a blob is read at a time. */
const BLOB_READ_CHUNK = 1024 * 1024;

export interface LayerBlob {
  path: string;
  /** Set while the blob is still being written: the reader follows it. */
  progress?: WriteProgress;
}

export function blobSource(blob: LayerBlob): Readable {
  return blob.progress ? followFile(blob.path, blob.progress) : fs.createReadStream(blob.path, { highWaterMark: BLOB_READ_CHUNK });
}

/**
 * Reads a file while it is written. Reads are synchronous: the unpacker runs in
 * a worker thread, and the bytes were just written (they are in the page cache).
 */
export function followFile(file: string, progress: WriteProgress): Readable {
  let fd: number | undefined;
  let pos = 0;
  return new Readable({
    highWaterMark: BLOB_READ_CHUNK,
    read() {
      (async () => {
        const s = await progress.beyond(pos);
        if (s.error !== undefined) throw new Error(s.error);
        if (pos >= s.written) return void this.push(null); // ended, all read
        fd ??= fs.openSync(file, "r");
        const buf = Buffer.allocUnsafe(Math.min(BLOB_READ_CHUNK, s.written - pos));
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) throw new Error(`${file} has fewer bytes than the ${s.written} written to it`);
        pos += n;
        this.push(n < buf.length ? buf.subarray(0, n) : buf);
      })().catch((err: Error) => this.destroy(err));
    },
    destroy(err, done) {
      if (fd !== undefined) fs.closeSync(fd);
      done(err);
    },
  });
}
