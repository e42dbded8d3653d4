// The part of hpack.js (an RFC 7541 implementation, no types of its own) that skiff uses.
declare module "hpack.js" {
  import type { EventEmitter } from "node:events";

  interface HeaderField {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  interface Decompressor extends EventEmitter {
    write(chunk: Buffer): boolean;
    /** Decodes what was written; without a callback, failures are emitted as 'error'. */
    execute(): void;
    read(): HeaderField | null;
  }
  const hpack: {
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
  };
  export default hpack;
}
