// The layer tar parser: every entry and byte that tar-stream's packer (and
// GNU tar's formats) put in must come out, however the stream is cut.

import { randomBytes } from "node:crypto";
import { pack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { parsePax, readNumber, TarFormatError, TarReader, type TarHeader, type TarSink } from "../../src/image-service/unpack/tar-reader.js";

interface Seen {
  header: TarHeader;
  body: Buffer;
}

/** A sink that records what it got, copying the views as the real one writes them out. */
function recorder(): TarSink & { entries: Seen[] } {
  const entries: Seen[] = [];
  let parts: Buffer[] | undefined;
  return {
    entries,
    entry(header) {
      expect(parts).toBeUndefined(); // the previous entry was ended
      entries.push({ header, body: Buffer.alloc(0) });
      parts = [];
    },
    data(bytes) {
      parts!.push(Buffer.from(bytes));
    },
    endEntry() {
      entries.at(-1)!.body = Buffer.concat(parts!);
      parts = undefined;
    },
  };
}

/** Feeds `bytes` in pieces of the given sizes (cycled), through one reused buffer, as the unpacker does. */
function parse(bytes: Buffer, sizes: number[]): Seen[] {
  const sink = recorder();
  const reader = new TarReader(sink);
  const scratch = Buffer.alloc(Math.max(...sizes));
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, bytes.length - off);
    bytes.copy(scratch, 0, off, off + n);
    reader.push(scratch.subarray(0, n));
    scratch.fill(0xaa); // anything the reader kept a view of is now garbage
    off += n;
  }
  reader.finish();
  return sink.entries;
}

type PackHeader = Parameters<ReturnType<typeof pack>["entry"]>[0];

async function packed(entries: [PackHeader, Buffer?][]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const [h, body] of entries) await new Promise<void>((resolve, reject) => p.entry(h, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** One raw 512-byte header, ustar or GNU, with a correct checksum. */
function rawHeader(fields: { name: string; typeflag: string; size: number; gnu?: boolean; uid?: Buffer }): Buffer {
  const b = Buffer.alloc(512);
  b.write(fields.name, 0, 100, "utf8");
  b.write("0000644\0", 100);
  if (fields.uid) fields.uid.copy(b, 108);
  else b.write("0001750\0", 108);
  b.write("0001750\0", 116);
  b.write(`${fields.size.toString(8).padStart(11, "0")}\0`, 124);
  b.write("14200000000\0", 136);
  b.write(fields.typeflag, 156);
  b.write(fields.gnu ? "ustar  \0" : "ustar\u000000", 257, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return b;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const end = Buffer.alloc(1024);

describe("TarReader", () => {
  it("gives back every entry and byte tar-stream packed, whatever the pieces' sizes", async () => {
    const files = [0, 1, 511, 512, 513, 4096, 300_000].map((size, i) => ({ name: `d/file-${i}`, body: randomBytes(size) }));
    const longName = `${"deep/".repeat(40)}name-longer-than-a-ustar-header-holds`;
    const tar = await packed([
      [{ name: "d/", type: "directory", mode: 0o2755, uid: 1000, gid: 1001, mtime: new Date(1_700_000_000_000) }],
      ...files.map((f) => [{ name: f.name, size: f.body.length, mode: 0o640, uid: 7, gid: 8 }, f.body] as [PackHeader, Buffer]),
      [{ name: "d/link", type: "symlink", linkname: "../etc/target" }],
      [{ name: "d/hard", type: "link", linkname: "d/file-1" }],
      [{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3 }],
      [{ name: longName, size: 3 }, Buffer.from("abc")],
    ]);
    const expected = ["d/", ...files.map((f) => f.name), "d/link", "d/hard", "dev/null", longName];
    for (const sizes of [[tar.length], [1], [7, 512, 1000, 3], [512], [65_536, 1]]) {
      const seen = parse(tar, sizes);
      expect(seen.map((s) => s.header.name)).toEqual(expected);
      expect(seen.map((s) => s.header.type)).toEqual(["directory", ...files.map(() => "file"), "symlink", "link", "character-device", "file"]);
      for (const [i, f] of files.entries()) expect(seen[i + 1]!.body.equals(f.body)).toBe(true);
      expect(seen[0]!.header).toMatchObject({ mode: 0o2755, uid: 1000, gid: 1001, mtime: 1_700_000_000 });
      expect(seen[1]!.header).toMatchObject({ mode: 0o640, uid: 7, gid: 8, size: 0 });
      expect(seen.at(-4)!.header.linkname).toBe("../etc/target");
      expect(seen.at(-3)!.header.linkname).toBe("d/file-1");
      expect(seen.at(-2)!.header).toMatchObject({ devmajor: 1, devminor: 3 });
      expect(seen.at(-1)!.body.toString()).toBe("abc");
    }
  });

  it("applies pax records (path, linkpath, size, ids, mtime) and keeps xattr values as raw bytes", () => {
    const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x80, 0x00]);
    const rec = (key: string, value: Buffer) => {
      const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len++;
      return Buffer.concat([Buffer.from(String(len)), body]);
    };
    const pax = Buffer.concat([
      rec("path", Buffer.from("pax/näme")),
      rec("uid", Buffer.from("3000000000")),
      rec("mtime", Buffer.from("1700000000.5")),
      rec("SCHILY.xattr.security.capability", capability),
      rec("SCHILY.xattr.user.empty", Buffer.alloc(0)),
    ]);
    const tar = Buffer.concat([rawHeader({ name: "PaxHeaders/x", typeflag: "x", size: pax.length }), pad(pax), rawHeader({ name: "short", typeflag: "0", size: 2 }), pad(Buffer.from("hi")), end]);
    const [seen] = parse(tar, [100]);
    expect(seen!.header).toMatchObject({ name: "pax/näme", uid: 3_000_000_000, mtime: 1_700_000_000.5 });
    expect(seen!.header.xattrs.get("security.capability")!.equals(capability)).toBe(true);
    expect(seen!.header.xattrs.get("user.empty")!.length).toBe(0);
    expect(seen!.body.toString()).toBe("hi");
  });

  it("takes GNU long names and links, base-256 numbers, and ignores what follows the end-of-archive block", () => {
    const name = `${"n".repeat(150)}/file`;
    const link = `${"l".repeat(200)}`;
    const uid = Buffer.from([0x80, 0, 0, 0, 0, 0, 0x01, 0x00]);
    const tar = Buffer.concat([
      rawHeader({ name: "././@LongLink", typeflag: "L", size: name.length + 1, gnu: true }),
      pad(Buffer.from(`${name}\0`)),
      rawHeader({ name: "././@LongLink", typeflag: "K", size: link.length, gnu: true }),
      pad(Buffer.from(link)),
      rawHeader({ name: "truncated-name", typeflag: "2", size: 0, gnu: true, uid }),
      end,
      Buffer.from("junk that is not a header at all"),
    ]);
    const seen = parse(tar, [333]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.header).toMatchObject({ name, linkname: link, type: "symlink", uid: 256 });
  });

  it("refuses corrupt headers, oversized metadata and a stream cut inside an entry", () => {
    const good = rawHeader({ name: "f", typeflag: "0", size: 600 });
    const corrupt = Buffer.from(good);
    corrupt[0] = 0x67;
    expect(() => parse(Buffer.concat([corrupt, Buffer.alloc(1024), end]), [512])).toThrow(/bad checksum/);
    expect(() => parse(Buffer.concat([good, Buffer.alloc(100)]), [512])).toThrow(/ends in the middle of an entry/);
    expect(() => parse(good.subarray(0, 300), [512])).toThrow(TarFormatError);
    expect(() => parse(Buffer.concat([rawHeader({ name: "x", typeflag: "x", size: 2 * 1024 * 1024 }), end]), [512])).toThrow(/larger than the 1048576 allowed/);
    const notTar = Buffer.alloc(512, 0x41);
    expect(() => parse(notTar, [512])).toThrow(/bad checksum/);
    expect(parse(Buffer.concat([good, Buffer.alloc(1024), end]), [512])).toHaveLength(1);
  });

  it("reads octal fields with spaces and NULs, and refuses negative or non-octal ones", () => {
    const field = (s: string | number[]) => Buffer.from(typeof s === "string" ? Buffer.from(s, "latin1") : s);
    expect(readNumber(field("  0755 \0"), 0, 8)).toBe(0o755);
    expect(readNumber(field("\0\0\0\0\0\0\0\0"), 0, 8)).toBe(0);
    expect(readNumber(field("0000009\0"), 0, 8)).toBeUndefined();
    expect(readNumber(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 8)).toBeUndefined();
    expect(() => parsePax(Buffer.from("99 path=x\n"))).toThrow(/invalid pax record length/);
  });
});
