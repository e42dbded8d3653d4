// Gunzip into one buffer that is reused for the whole layer (native/inflate.c):
// each piece of output is handed on synchronously and overwritten after, so a
// layer's uncompressed bytes never pile up as buffers waiting for collection.

import { native } from "../../native/index.js";

/**
 * Output piece size: a 100 MB layer is 1,600 trips through the tar reader,
 * and a pull unpacking several layers at once holds one of these for each.
 */
const OUTPUT_CHUNK = 64 * 1024;

export class Gunzip {
  private readonly handle = native().inflaterCreate();
  private readonly output = Buffer.allocUnsafe(OUTPUT_CHUNK);
  /** Between gzip members, or after the last one. */
  private atMemberEnd = false;
  private trailing = false;

  /** Decompresses `input`; `onOutput` gets views of the reused output buffer, valid only during the call. */
  write(input: Buffer, onOutput: (bytes: Buffer) => void): void {
    let off = 0;
    while (!this.trailing) {
      if (this.atMemberEnd) {
        if (off >= input.length) return;
        // Another gzip member may follow (a concatenation of gzip files is a gzip file);
        // anything else after the end is ignored, as Node's gunzip and zcat do.
        if (input[off] !== 0x1f) return void (this.trailing = true);
        native().inflaterReset(this.handle);
        this.atMemberEnd = false;
      }
      const [consumed, produced, end] = native().inflaterRun(this.handle, input, off, this.output);
      off += consumed;
      if (produced) onOutput(this.output.subarray(0, produced));
      if (end) this.atMemberEnd = true;
      // Done with this input once it is all taken and the output had room to spare.
      else if (off >= input.length && produced < this.output.length) return;
      else if (!consumed && !produced) throw new Error("gzip data is corrupt: the decompressor made no progress");
    }
  }

  /** The input is over: throws if the gzip stream was cut short. */
  end(): void {
    if (!this.atMemberEnd && !this.trailing) throw new Error("gzip data is truncated: the stream ends before its last member does");
  }

  /** Frees zlib's state now rather than at collection. */
  close(): void {
    native().inflaterClose(this.handle);
  }
}
