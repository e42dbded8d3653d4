// A layer's file system work as a queue of steps that run in batches on
// libuv's pool (native/layer_ops.c), in order. The unpacker decides each step,
// and its safety, when it reads the tar entry; the steps run a little later.
// While one batch runs the next fills up, so parsing and the system calls
// overlap, and one thread unpacks several layers at once.

import { native } from "../../native/index.js";

const enum Op {
  Mkdir = 1,
  Chmod,
  Lchown,
  Utimes,
  Lutimes,
  Create,
  Write,
  Fchown,
  Fchmod,
  Futimes,
  Close,
  Symlink,
  Link,
  Mknod,
  Lsetxattr,
  Remove,
}

/**
 * A batch goes to the pool once the one before it is done, and the reader
 * waits when the next one has this much. Each layer holds two buffers of a
 * batch and a read's worth of room: with several layers at once, every
 * kilobyte here counts in a pull's peak memory.
 */
export const BATCH_BYTES = 128 * 1024;
/** A batch's buffer: a full batch and what one read of an incompressible layer (64 KiB) adds to it, without growing. */
const BUFFER_BYTES = BATCH_BYTES + 80 * 1024;

export class LayerSteps {
  private buf: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** The buffer of the batch that ran last, for the next. */
  private spare: Buffer | undefined;
  private len = 0;
  private running: Promise<void> | undefined;
  private failure: Error | undefined;
  /** The file the last create opened, between batches; -1 if none. */
  private fd = -1;

  mkdir(path: string, mode: number): void {
    this.op(Op.Mkdir).str(path).u32(mode);
  }
  chmod(path: string, mode: number): void {
    this.op(Op.Chmod).str(path).u32(mode);
  }
  lchown(path: string, uid: number, gid: number): void {
    this.op(Op.Lchown).str(path).u32(uid).u32(gid);
  }
  /** atime and mtime, following a symlink (`link` false) or not. */
  utimes(path: string, seconds: number, link: boolean): void {
    this.op(link ? Op.Lutimes : Op.Utimes).str(path).f64(seconds);
  }
  /** Opens a new file (O_EXCL, O_NOFOLLOW, mode 0600): the next file steps are on it. */
  create(path: string): void {
    this.op(Op.Create).str(path);
  }
  write(bytes: Uint8Array): void {
    this.op(Op.Write).bytes(bytes);
  }
  fchown(uid: number, gid: number): void {
    this.op(Op.Fchown).u32(uid).u32(gid);
  }
  fchmod(mode: number): void {
    this.op(Op.Fchmod).u32(mode);
  }
  futimes(seconds: number): void {
    this.op(Op.Futimes).f64(seconds);
  }
  close(): void {
    this.op(Op.Close);
  }
  symlink(target: string, path: string): void {
    this.op(Op.Symlink).str(target).str(path);
  }
  link(existing: string, path: string): void {
    this.op(Op.Link).str(existing).str(path);
  }
  /** A device or fifo with exactly this mode (the daemon's umask does not apply). */
  mknod(path: string, type: "c" | "b" | "p", mode: number, major = 0, minor = 0): void {
    this.op(Op.Mknod).str(path).u32(type.charCodeAt(0)).u32(mode).u32(major).u32(minor);
  }
  lsetxattr(path: string, name: string, value: Buffer): void {
    this.op(Op.Lsetxattr).str(path).str(name).bytes(value);
  }
  /** Removes path and all below it (symlinks are not followed); absent is fine. */
  remove(path: string): void {
    this.op(Op.Remove).str(path);
  }

  /**
   * Starts the queued steps if no batch is running; waits for the running one
   * first if the queue is full. Throws what a batch before failed with.
   */
  async drain(): Promise<void> {
    if (this.running && this.len < BATCH_BYTES) return;
    await this.running;
    if (this.failure) throw this.failure;
    this.start();
  }

  /** Runs every queued step; throws the first failure. */
  async flush(): Promise<void> {
    await this.running;
    if (!this.failure) this.start();
    await this.running;
    if (this.failure) throw this.failure;
  }

  /** After a failure: waits for the running batch, drops the rest and closes the file left open. */
  async discard(): Promise<void> {
    await this.running;
    this.len = 0;
    if (this.fd >= 0) native().closeFd(this.fd);
    this.fd = -1;
  }

  private start(): void {
    if (this.len === 0) return;
    const buf = this.buf;
    const len = this.len;
    this.buf = this.spare ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.spare = undefined;
    this.len = 0;
    // Never rejects: a failure is kept for the next drain or flush to throw
    // (a rejection nobody awaited yet would end the thread).
    this.running = native()
      .applyLayerOps(buf, len, this.fd)
      .then(
        (fd) => {
          this.fd = fd;
          this.spare = buf;
        },
        (err: Error) => {
          this.fd = -1; // the failed batch closed it
          this.failure = err;
        },
      )
      .finally(() => (this.running = undefined));
  }

  private op(op: Op): this {
    this.reserve(1);
    this.buf[this.len++] = op;
    return this;
  }

  private u32(n: number): this {
    this.reserve(4);
    this.buf.writeUInt32LE(n >>> 0, this.len);
    this.len += 4;
    return this;
  }

  private f64(n: number): this {
    this.reserve(8);
    this.buf.writeDoubleLE(n, this.len);
    this.len += 8;
    return this;
  }

  /** Bytes as they are: their length, then them. */
  private bytes(b: Uint8Array): this {
    this.u32(b.length).reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  private str(s: string): this {
    const n = Buffer.byteLength(s);
    this.u32(n).reserve(n);
    this.len += this.buf.write(s, this.len);
    return this;
  }

  private reserve(n: number): this {
    if (this.len + n <= this.buf.length) return this;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
    return this;
  }
}
