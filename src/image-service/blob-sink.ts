// Where a download goes: its temp file, written and hashed in one job on
// libuv's pool per batch (native/hashed_write.c), so the event loop neither
// hashes the blob nor waits on its writes.
//
// Each chunk is copied into one of two staging buffers and let go at once:
// one buffer is written while the other fills, a download's 64 KiB socket
// chunks cost one trip through the pool per batch, and none of them waits in
// a queue long enough to outlive a young collection.

import { Writable } from "node:stream";
import { native } from "../native/index.js";

/** Size of each of the two staging buffers. */
const STAGE_BYTES = 256 * 1024;

export class BlobSink extends Writable {
  private readonly sha = native().sha256Create();
  private readonly stages = [Buffer.allocUnsafe(STAGE_BYTES), Buffer.allocUnsafe(STAGE_BYTES)];
  private filling = 0;
  private filled = 0;
  private flight: Promise<void> | undefined;
  private failure: Error | undefined;

  /** `fd` is written from its current offset on; `onWritten` hears of each batch once it is in the file. */
  constructor(
    private readonly fd: number,
    private readonly onWritten: (n: number) => void,
  ) {
    super();
  }

  /** The SHA-256 (hex) of everything written; once, after the stream has finished. */
  digest(): string {
    return native().sha256Hex(this.sha);
  }

  /** Settles once no write is under way: the file may be closed then (a pool thread may still be writing to it before). */
  async idle(): Promise<void> {
    while (this.flight) await this.flight;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let off = 0;
    const copy = (): void => {
      if (this.failure) return cb(this.failure);
      while (off < chunk.length) {
        const stage = this.stages[this.filling]!;
        const n = chunk.copy(stage, this.filled, off);
        this.filled += n;
        off += n;
        if (this.filled === stage.length) {
          if (this.flight) return void this.flight.then(copy); // both buffers full: wait for the write
          this.flush();
        }
      }
      if (!this.flight) this.flush();
      cb();
    };
    copy();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const drain = async () => {
      while (!this.failure && (this.flight || this.filled)) {
        if (this.flight) await this.flight;
        else this.flush();
      }
      if (this.failure) throw this.failure;
    };
    drain().then(() => cb(), cb);
  }

  /** Writes the filling buffer out and turns to the other one. */
  private flush(): void {
    if (this.filled === 0) return;
    const bytes = this.stages[this.filling]!.subarray(0, this.filled);
    this.filling ^= 1;
    this.filled = 0;
    this.flight = native()
      .writeHashed(this.sha, this.fd, bytes)
      .then(
        () => {
          this.flight = undefined;
          this.onWritten(bytes.length);
          if (this.filled) this.flush(); // what came in meanwhile
        },
        (err: Error) => {
          this.flight = undefined;
          this.failure = err;
        },
      );
  }
}
