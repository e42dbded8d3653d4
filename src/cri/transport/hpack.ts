// HPACK (RFC 7541) for the CRI socket. Decoding follows the client's encoder,
// dynamic table and table-size updates included (hpack.js does the work).
// Encoding is the simplest valid form, every field a literal that is never
// added to the table (§6.2.2), so the client's decoder table stays empty and
// cannot drift from ours.

import hpack from "hpack.js";

export interface HeaderField {
  name: string;
  value: string;
}

/** SETTINGS_HEADER_TABLE_SIZE's default (RFC 9113 §6.5.2), which the server keeps. */
export const DEFAULT_TABLE_BYTES = 4096;

export class HpackError extends Error {}

export class HeaderBlockDecoder {
  private readonly inner = hpack.decompressor.create({ table: { maxSize: DEFAULT_TABLE_BYTES } });

  /** Decodes one whole header block. After a failure the connection's state is lost: close it. */
  decode(block: Buffer): HeaderField[] {
    let failure: Error | undefined;
    const onError = (err: Error) => (failure = err);
    this.inner.on("error", onError);
    try {
      this.inner.write(block);
      this.inner.execute();
    } finally {
      this.inner.off("error", onError);
    }
    if (failure) throw new HpackError(`undecodable header block: ${failure.message}`);
    const fields: HeaderField[] = [];
    for (let f = this.inner.read(); f; f = this.inner.read()) fields.push({ name: f.name, value: f.value });
    return fields;
  }
}

function encodeInteger(value: number, prefixBits: number, firstByte: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

function encodeString(s: string, out: number[]): Buffer {
  const bytes = Buffer.from(s, "latin1");
  encodeInteger(bytes.length, 7, 0x00, out); // H = 0: no Huffman
  return bytes;
}

/** Encodes fields as literals without indexing, new name. */
export function encodeLiteralBlock(fields: HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  for (const { name, value } of fields) {
    const head: number[] = [0x00];
    const nameBytes = encodeString(name, head);
    const lenOnly: number[] = [];
    const valueBytes = encodeString(value, lenOnly);
    parts.push(Buffer.from(head), nameBytes, Buffer.from(lenOnly), valueBytes);
  }
  return Buffer.concat(parts);
}
