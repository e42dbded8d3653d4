// The HPACK decoder against RFC 7541's examples, against hpack.js (an
// independent implementation) as the encoder, and against broken blocks.

import hpack from "hpack.js";
import { encode as appendixB } from "hpack.js/lib/hpack/huffman.js";
import { table as appendixA } from "hpack.js/lib/hpack/static-table.js";
import { describe, expect, it } from "vitest";
import { HeaderBlockDecoder, HpackError, STATIC_TABLE, encodeLiteralBlock, type HeaderField } from "../../src/cri/transport/hpack.js";
import { canonicalCodes, decodeHuffman } from "../../src/cri/transport/huffman.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const pairs = (fields: readonly HeaderField[]) => fields.map((f) => [f.name, f.value]);

describe("Huffman code", () => {
  it("has Appendix B's code for every symbol", () => {
    const codes = canonicalCodes();
    expect(codes).toHaveLength(257);
    for (const [sym, [, code]] of appendixB.entries()) expect(codes[sym], `symbol ${sym}`).toBe(code);
  });

  it("decodes RFC 7541 C.4.1's www.example.com and every octet", () => {
    const data = hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff");
    expect(decodeHuffman(data, 0, data.length)).toBe("www.example.com");
    // Every octet once, coded with Appendix B's table and padded with ones.
    let bits = "";
    for (let sym = 0; sym < 256; sym++) bits += appendixB[sym]![1].toString(2).padStart(appendixB[sym]![0], "0");
    bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, "1");
    const coded = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
    expect(Buffer.from(decodeHuffman(coded, 0, coded.length), "latin1")).toEqual(Buffer.from([...Array(256).keys()]));
  });

  it("refuses EOS, padding that is not ones and padding of a whole octet", () => {
    const eos = Buffer.from([0xff, 0xff, 0xff, 0xfc]); // 30 ones, then two zero bits
    expect(() => decodeHuffman(eos, 0, eos.length)).toThrow(/EOS|padding/);
    const zeros = Buffer.from([0x00]); // '0' (00000), then 000 as padding
    expect(() => decodeHuffman(zeros, 0, 1)).toThrow(/padding/);
    const long = Buffer.from([0x07, 0xff]); // '0', then 11 ones
    expect(() => decodeHuffman(long, 0, 2)).toThrow(/padding/);
  });
});

describe("HeaderBlockDecoder", () => {
  it("has Appendix A's static table", () => {
    expect(pairs(STATIC_TABLE)).toEqual(appendixA.map((f) => [f.name, f.value]));
  });

  it("decodes RFC 7541 C.4's three requests, keeping the dynamic table between them", () => {
    const d = new HeaderBlockDecoder();
    expect(pairs(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")))).toEqual([
      [":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"],
    ]);
    expect(pairs(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf")))).toEqual([
      [":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"],
    ]);
    expect(pairs(d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")))).toEqual([
      [":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"],
    ]);
  });

  it("follows hpack.js's encoder through many blocks, evicting as it does", () => {
    const enc = hpack.compressor.create({ table: { size: 4096 } });
    const d = new HeaderBlockDecoder();
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + rand(95))).join("");
    for (let block = 0; block < 300; block++) {
      const fields = [
        { name: ":method", value: "POST" },
        { name: ":path", value: `/runtime.v1.RuntimeService/M${rand(20)}` },
        { name: "grpc-timeout", value: `${rand(1e6)}u` },
        // Names and values that repeat (indexed), that change, long enough to evict.
        ...Array.from({ length: rand(6) }, () => ({ name: `x-${rand(8)}`, value: rand(2) ? `v${rand(4)}` : text(rand(700)) })),
      ].map((f) => ({ ...f, huffman: rand(2) === 1 }));
      enc.write(fields);
      const bytes = enc.read()!;
      expect(pairs(d.decode(bytes)), `block ${block}`).toEqual(pairs(fields));
    }
  });

  it("reads skiff's own literal blocks", () => {
    const fields = [{ name: ":status", value: "200" }, { name: "grpc-message", value: "x".repeat(300) }];
    expect(pairs(new HeaderBlockDecoder().decode(encodeLiteralBlock(fields)))).toEqual(pairs(fields));
  });

  it("takes a smaller table size at the start of a block and evicts to it", () => {
    const d = new HeaderBlockDecoder();
    d.decode(hex("4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")); // custom-key: custom-value, indexed as 62
    expect(pairs(d.decode(hex("be")))).toEqual([["custom-key", "custom-value"]]);
    expect(() => d.decode(hex("20 be"))).toThrow(/not in the table/); // size 0 empties the table
  });

  it.each([
    ["index 0", "80"],
    ["an index past the tables", "c0"],
    ["a table size above 4096", "3fe21f"],
    ["a table size update after a field", "82 20"],
    ["an integer cut short", "ff"],
    ["an integer too large", "ff ff ff ff ff 7f"],
    ["a string past the block's end", "40 05 61"],
    ["a literal without its string", "40"],
    ["a Huffman-coded name padded with zeros", "00 81 00"],
  ])("refuses %s with an HpackError", (_, bytes) => {
    expect(() => new HeaderBlockDecoder().decode(hex(bytes))).toThrow(HpackError);
  });
});
