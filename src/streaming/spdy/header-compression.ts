// SPDY/3 compresses every header block of one direction of a connection with
// one continuing zlib stream (preset dictionary, a sync flush after each
// block). Node's zlib streams are asynchronous, so each direction is a queue:
// blocks come out in the order they went in, which the shared state needs.

import zlib from "node:zlib";
import { SPDY3_DICTIONARY } from "./dictionary.js";

class ZlibChannel {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly stream: zlib.Deflate | zlib.Inflate) {
    // An error fails the pending call (below); without a listener it would crash the daemon.
    stream.on("error", () => undefined);
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.tail.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const out: Buffer[] = [];
          const onData = (d: Buffer) => out.push(d);
          const onError = (err: Error) => {
            this.stream.off("data", onData);
            reject(new Error(`header block (de)compression failed: ${err.message}`));
          };
          this.stream.on("data", onData);
          this.stream.once("error", onError);
          this.stream.write(input);
          this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.stream.off("data", onData);
            this.stream.off("error", onError);
            resolve(Buffer.concat(out));
          });
        }),
    );
    this.tail = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.stream.destroy();
  }
}

export class HeaderCompression {
  private readonly deflater = new ZlibChannel(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly inflater = new ZlibChannel(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));

  compress(block: Buffer): Promise<Buffer> {
    return this.deflater.run(block);
  }

  decompress(block: Buffer): Promise<Buffer> {
    return this.inflater.run(block);
  }

  close(): void {
    this.deflater.close();
    this.inflater.close();
  }
}
