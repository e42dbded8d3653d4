// Where an unpack reads its layer from: a blob in the content store, or one
// still being downloaded, read as it grows and ended only once it is verified.
// Reads go into a buffer the caller reuses (see extract.ts).

import fs from "node:fs";
import type { WriteProgress } from "./write-progress.js";

export interface LayerBlob {
  path: string;
  /** Set while the blob is still being written: the reader follows it. */
  progress?: WriteProgress;
}

export interface ByteSource {
  /** Fills the start of `into`; 0 at the end. */
  read(into: Buffer): Promise<number>;
  close(): void;
}

export function blobSource(blob: LayerBlob): ByteSource {
  return blob.progress ? followFile(blob.path, blob.progress) : fileSource(blob.path);
}

/**
 * A whole file. Reads are synchronous: the unpacker runs in a worker thread,
 * where blocking costs nothing and saves the hop to libuv's thread pool.
 */
export function fileSource(file: string): ByteSource {
  const fd = fs.openSync(file, "r");
  let closed = false;
  return {
    read: async (into) => fs.readSync(fd, into, 0, into.length, null),
    close: () => {
      if (!closed) fs.closeSync(fd);
      closed = true;
    },
  };
}

/**
 * Reads a file while it is written, up to what the writer has reported, and
 * sees its end only once the writer has verified the whole of it.
 */
export function followFile(file: string, progress: WriteProgress): ByteSource {
  let fd: number | undefined;
  let pos = 0;
  return {
    async read(into) {
      const s = await progress.beyond(pos);
      if (s.error !== undefined) throw new Error(s.error);
      if (pos >= s.written) return 0; // ended, all read
      fd ??= fs.openSync(file, "r");
      const n = fs.readSync(fd, into, 0, Math.min(into.length, s.written - pos), pos);
      if (n === 0) throw new Error(`${file} has fewer bytes than the ${s.written} written to it`);
      pos += n;
      return n;
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}
