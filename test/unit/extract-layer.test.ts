// extractLayer on its own (in this thread, as the daemon's unpack worker runs it):
// a layer written by GNU tar in pax format comes back as it went in, binary
// xattrs included; a cut or hostile layer fails without leaving files open.

import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileSource } from "../../src/image-service/unpack/blob-source.js";
import { extractLayer, UnsafeLayerError } from "../../src/image-service/unpack/extract.js";
import { sha256, tarOf } from "../support/oci-image.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("extract");

const openFds = () => readdirSync("/proc/self/fd").length;
const xattrHex = (file: string, name: string) => execFileSync("getfattr", ["-h", "--only-values", "-n", name, file]).toString("hex");

describe("extractLayer", () => {
  it("unpacks GNU tar's pax output: contents, modes, owners, times, links, long names and binary xattrs", async () => {
    const src = tempDir();
    const long = path.join("a".repeat(60), "b".repeat(60), "c".repeat(30));
    mkdirSync(path.join(src, long), { recursive: true });
    writeFileSync(path.join(src, long, "f"), "deep");
    const big = Buffer.alloc(3_000_000, "xyz");
    writeFileSync(path.join(src, "big"), big, { mode: 0o751 });
    execFileSync("chown", ["123:456", path.join(src, "big")]);
    linkSync(path.join(src, "big"), path.join(src, "big-hard"));
    symlinkSync("/etc/nowhere", path.join(src, "dangling"));
    writeFileSync(path.join(src, "cap"), "");
    execFileSync("setfattr", ["-n", "user.bin", "-v", "0x0100ff80fe", path.join(src, "cap")]);
    utimesSync(path.join(src, "cap"), 1_600_000_000, 1_600_000_000);
    execFileSync("mkfifo", [path.join(src, "pipe")]);
    const layer = path.join(tempDir(), "layer.tar.gz");
    execFileSync("tar", ["--xattrs", "--xattrs-include=user.*", "--format=posix", "-czf", layer, "-C", src, "."]);

    const dest = tempDir();
    const before = openFds();
    const r = await extractLayer(fileSource(layer), "gzip", dest);
    expect(openFds()).toBe(before);
    expect(r.refused).toEqual([]);
    expect(r.diffId).toBe(sha256(execFileSync("gzip", ["-dc", layer], { maxBuffer: 1 << 26 })));
    expect(readFileSync(path.join(dest, long, "f"), "utf8")).toBe("deep");
    expect(readFileSync(path.join(dest, "big")).equals(big)).toBe(true);
    const st = statSync(path.join(dest, "big"));
    expect([st.mode & 0o7777, st.uid, st.gid, st.nlink]).toEqual([0o751, 123, 456, 2]);
    expect(statSync(path.join(dest, "big-hard")).ino).toBe(st.ino);
    expect(readlinkSync(path.join(dest, "dangling"))).toBe("/etc/nowhere");
    expect(xattrHex(path.join(dest, "cap"), "user.bin")).toBe("0100ff80fe");
    expect(statSync(path.join(dest, "cap")).mtimeMs).toBe(1_600_000_000_000);
    expect(lstatSync(path.join(dest, "pipe")).isFIFO()).toBe(true);
  });

  it("fails on a truncated gzip layer and on one that writes through its own symlink, closing what it opened", async () => {
    const body = Buffer.alloc(2_000_000, 7);
    const gz = gzipSync(await tarOf([{ type: "file", path: "/big", content: body }]));
    const cut = path.join(tempDir(), "cut.tar.gz");
    writeFileSync(cut, gz.subarray(0, gz.length >> 1));
    const before = openFds();
    await expect(extractLayer(fileSource(cut), "gzip", tempDir())).rejects.toThrow(/truncated|ends in the middle/);
    expect(openFds()).toBe(before);

    const hostile = path.join(tempDir(), "hostile.tar");
    writeFileSync(hostile, await tarOf([{ type: "symlink", path: "/etc", target: "/etc" }, { type: "file", path: "/etc/passwd", content: "pwned" }]));
    const dest = tempDir();
    await expect(extractLayer(fileSource(hostile), "none", dest)).rejects.toBeInstanceOf(UnsafeLayerError);
    expect(openFds()).toBe(before);
    // Refused while reading its first chunk: the steps queued before it (the symlink) never ran.
    expect(readdirSync(dest)).toEqual([]);
  });
});
