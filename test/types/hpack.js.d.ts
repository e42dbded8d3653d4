// The parts of hpack.js (an RFC 7541 implementation, no types of its own) that
// skiff's HPACK tests check the decoder against.
declare module "hpack.js" {
  interface HeaderField {
    name: string;
    value: string;
    huffman?: boolean;
    neverIndex?: boolean;
  }
  interface Compressor {
    write(fields: HeaderField[]): boolean;
    read(): Buffer | null;
  }
  const hpack: {
    compressor: { create(options: { table: { size: number } }): Compressor };
  };
  export default hpack;
}

declare module "hpack.js/lib/hpack/huffman.js" {
  /** Per symbol (0-255, EOS): [bits, code]. */
  export const encode: [number, number][];
}

declare module "hpack.js/lib/hpack/static-table.js" {
  export const table: { name: string; value: string }[];
}
