// HPACK (RFC 7541) for the CRI socket. Decoding follows the client's encoder:
// the static table, a dynamic table of up to 4096 octets (the default skiff
// keeps), table-size updates, and Huffman-coded strings. Encoding is the
// simplest valid form, every field a literal that is never added to the table
// (§6.2.2), so the client's decoder table stays empty and cannot drift from ours.
// Names and values are octets, read and written as latin1.

import { decodeHuffman, HuffmanError } from "./huffman.js";

export interface HeaderField {
  name: string;
  value: string;
}

/** SETTINGS_HEADER_TABLE_SIZE's default (RFC 9113 §6.5.2), which the server keeps. */
export const DEFAULT_TABLE_BYTES = 4096;

export class HpackError extends Error {}

/** RFC 7541 Appendix A, indexes 1 to 61. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""], ["etag", ""],
  ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""], ["if-modified-since", ""],
  ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""],
  ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
].map(([name, value]) => ({ name: name!, value: value! }));

/** An entry's size in the dynamic table (§4.1): its octets and 32. */
const entrySize = (f: HeaderField) => f.name.length + f.value.length + 32;

/** Integers larger than this are refused: nothing in a header block needs more. */
const MAX_INTEGER = 2 ** 28;

/** The decoding side of one connection: its dynamic table lives as long as the connection. */
export class HeaderBlockDecoder {
  /** The dynamic table, oldest entry first. */
  private readonly dynamic: HeaderField[] = [];
  private dynamicBytes = 0;
  private maxBytes = DEFAULT_TABLE_BYTES;
  private block!: Buffer;
  private at = 0;

  /** Decodes one whole header block. After a failure the connection's state is lost: close it. */
  decode(block: Buffer): HeaderField[] {
    this.block = block;
    this.at = 0;
    const fields: HeaderField[] = [];
    try {
      while (this.at < block.length) {
        const first = block[this.at]!;
        if (first & 0x80) {
          // Indexed field (§6.1).
          fields.push(this.entry(this.integer(7)));
        } else if (first & 0x40) {
          // Literal field, added to the dynamic table (§6.2.1).
          const field = this.literal(6);
          this.add(field);
          fields.push(field);
        } else if (first & 0x20) {
          // Dynamic table size update (§6.3): only before the block's first field (§4.2).
          if (fields.length) throw new HpackError("a dynamic table size update after a header field");
          const size = this.integer(5);
          if (size > DEFAULT_TABLE_BYTES) throw new HpackError(`a dynamic table size of ${size} octets, more than the ${DEFAULT_TABLE_BYTES} allowed`);
          this.maxBytes = size;
          this.evict(0);
        } else {
          // Literal field, not indexed or never indexed (§6.2.2, §6.2.3).
          fields.push(this.literal(4));
        }
      }
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(`undecodable header block: ${err.message}`);
      throw err;
    } finally {
      this.block = EMPTY;
    }
    return fields;
  }

  /** A literal field whose name is an index (in `prefixBits`) or, if that is 0, a string that follows. */
  private literal(prefixBits: number): HeaderField {
    const index = this.integer(prefixBits);
    const name = index === 0 ? this.string() : this.entry(index).name;
    return { name, value: this.string() };
  }

  private entry(index: number): HeaderField {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const fromNewest = index - STATIC_TABLE.length - 1;
    const field = this.dynamic[this.dynamic.length - 1 - fromNewest];
    if (index === 0 || !field) throw new HpackError(`header index ${index} is not in the table`);
    return field;
  }

  private add(field: HeaderField): void {
    const size = entrySize(field);
    this.evict(size);
    // An entry larger than the whole table empties it and is not added (§4.4).
    if (size > this.maxBytes) return;
    this.dynamic.push(field);
    this.dynamicBytes += size;
  }

  /** Removes the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    let drop = 0;
    while (drop < this.dynamic.length && this.dynamicBytes + room > this.maxBytes) this.dynamicBytes -= entrySize(this.dynamic[drop++]!);
    if (drop) this.dynamic.splice(0, drop);
  }

  /** An integer with an N-bit prefix (§5.1). */
  private integer(prefixBits: number): number {
    const block = this.block;
    const max = (1 << prefixBits) - 1;
    let value = block[this.at++]! & max;
    if (value < max) return value;
    for (let weight = 1; ; weight *= 128) {
      if (this.at >= block.length) throw new HpackError("the header block ends inside an integer");
      const octet = block[this.at++]!;
      value += (octet & 0x7f) * weight;
      if (value > MAX_INTEGER) throw new HpackError("an integer in the header block is too large");
      if (!(octet & 0x80)) return value;
    }
  }

  /** A string literal (§5.2): raw or Huffman-coded octets. */
  private string(): string {
    if (this.at >= this.block.length) throw new HpackError("the header block ends before a string");
    const huffman = (this.block[this.at]! & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.at;
    const end = start + length;
    if (end > this.block.length) throw new HpackError("a string runs past the end of the header block");
    this.at = end;
    return huffman ? decodeHuffman(this.block, start, end) : this.block.toString("latin1", start, end);
  }
}

const EMPTY = Buffer.alloc(0);

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
