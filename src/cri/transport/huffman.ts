// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B), decoding only:
// skiff's encoder sends every string as is. The code is canonical (codes of
// one length are consecutive, in the order of their symbols, and each length
// continues where the shorter ones ended), so the lengths alone define it; the
// unit test checks the codes made from them against Appendix B's.

/** The code length in bits of each symbol: octets 0-255, then EOS (256). */
const CODE_BITS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
const LONGEST = 30;

/** Per length: its first code, how many codes it has, and where its symbols start in BY_CODE. */
const FIRST = new Int32Array(LONGEST + 1);
const COUNT = new Int32Array(LONGEST + 1);
const OFFSET = new Int32Array(LONGEST + 1);
/** The symbols in the order of their codes. */
const BY_CODE = new Uint16Array(CODE_BITS.length);

{
  const order = [...CODE_BITS.keys()].sort((a, b) => CODE_BITS[a]! - CODE_BITS[b]! || a - b);
  order.forEach((sym, i) => (BY_CODE[i] = sym));
  for (const bits of CODE_BITS) COUNT[bits]!++;
  let code = 0;
  let offset = 0;
  for (let bits = 1; bits <= LONGEST; bits++) {
    FIRST[bits] = code;
    OFFSET[bits] = offset;
    code = (code + COUNT[bits]!) * 2;
    offset += COUNT[bits]!;
  }
}

/** Each symbol's code as the decoder's tables hold it (for the test against Appendix B). */
export function canonicalCodes(): number[] {
  const codes: number[] = [];
  for (let bits = 1; bits <= LONGEST; bits++) {
    for (let i = 0; i < COUNT[bits]!; i++) codes[BY_CODE[OFFSET[bits]! + i]!] = FIRST[bits]! + i;
  }
  return codes;
}

export class HuffmanError extends Error {}

let scratch = Buffer.allocUnsafe(4096);

/** Decodes the Huffman-coded octets of `input` from `start` to `end` into a latin1 string. */
export function decodeHuffman(input: Buffer, start: number, end: number): string {
  // No code is shorter than 5 bits.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (most > scratch.length) scratch = Buffer.allocUnsafe(Math.max(most, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let code = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const octet = input[i]!;
    for (let shift = 7; shift >= 0; shift--) {
      code = code * 2 + ((octet >> shift) & 1);
      bits++;
      const index = code - FIRST[bits]!;
      if (index < COUNT[bits]!) {
        const sym = BY_CODE[OFFSET[bits]! + index]!;
        if (sym === EOS) throw new HuffmanError("a Huffman-coded string contains EOS");
        out[n++] = sym;
        code = 0;
        bits = 0;
      } else if (bits === LONGEST) {
        throw new HuffmanError("a Huffman-coded string holds a code longer than any");
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the start of EOS).
  if (bits > 7 || code !== 2 ** bits - 1) throw new HuffmanError("a Huffman-coded string ends in bad padding");
  return out.toString("latin1", 0, n);
}
