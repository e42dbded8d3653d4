// LayerSteps with the native addon: steps run in order across batches, the
// open file carries from one batch to the next, devices get their exact mode,
// removal does not follow symlinks, and the first failing step stops the rest,
// says what failed and leaves nothing open.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BATCH_BYTES, LayerSteps } from "../../src/image-service/unpack/layer-steps.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("steps");
const openFds = () => readdirSync("/proc/self/fd").length;

describe("LayerSteps", () => {
  it("writes a file over several batches, then its owner, mode and time", async () => {
    const dir = tempDir();
    const body = randomBytes(BATCH_BYTES * 3 + 12345);
    const steps = new LayerSteps();
    steps.mkdir(path.join(dir, "d"), 0o777);
    steps.chmod(path.join(dir, "d"), 0o750);
    steps.create(path.join(dir, "d/f"));
    for (let off = 0; off < body.length; off += 50_000) {
      steps.write(body.subarray(off, off + 50_000));
      await steps.drain(); // a batch runs while the next fills: the file stays open between them
    }
    steps.fchown(123, 456);
    steps.fchmod(0o4751);
    steps.futimes(1_600_000_000.25);
    steps.close();
    steps.symlink("f", path.join(dir, "d/l"));
    steps.utimes(path.join(dir, "d/l"), 1_500_000_000, true);
    await steps.flush();
    expect(readFileSync(path.join(dir, "d/f")).equals(body)).toBe(true);
    const st = statSync(path.join(dir, "d/f"));
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o4751, 123, 456, 1_600_000_000_250]);
    expect(statSync(path.join(dir, "d")).mode & 0o7777).toBe(0o750);
    expect(lstatSync(path.join(dir, "d/l")).mtimeMs).toBe(1_500_000_000_000);
  });

  it("makes devices and fifos with their exact mode, and sets xattrs on the entry itself", async () => {
    const dir = tempDir();
    const old = process.umask(0o077);
    try {
      const steps = new LayerSteps();
      steps.mknod(path.join(dir, "null"), "c", 0o666, 1, 3);
      steps.mknod(path.join(dir, "pipe"), "p", 0o644);
      steps.mknod(path.join(dir, ".wh"), "c", 0o600, 0, 0);
      steps.symlink("/nowhere", path.join(dir, "link"));
      steps.mkdir(path.join(dir, "opaque"), 0o755);
      steps.lsetxattr(path.join(dir, "opaque"), "trusted.overlay.opaque", Buffer.from("y"));
      steps.lsetxattr(path.join(dir, "link"), "trusted.skiff-test", Buffer.from([0, 1, 255])); // the link, not /nowhere
      await steps.flush();
    } finally {
      process.umask(old);
    }
    const dev = statSync(path.join(dir, "null"));
    expect([dev.isCharacterDevice(), dev.mode & 0o7777, dev.rdev]).toEqual([true, 0o666, statSync("/dev/null").rdev]);
    expect([statSync(path.join(dir, "pipe")).isFIFO(), statSync(path.join(dir, "pipe")).mode & 0o7777]).toEqual([true, 0o644]);
    expect([statSync(path.join(dir, ".wh")).isCharacterDevice(), statSync(path.join(dir, ".wh")).rdev]).toEqual([true, 0]);
    const xattr = (file: string, name: string) => execFileSync("getfattr", ["-h", "--only-values", "-n", name, path.join(dir, file)], { stdio: "pipe" }).toString("hex");
    expect(xattr("opaque", "trusted.overlay.opaque")).toBe(Buffer.from("y").toString("hex"));
    expect(xattr("link", "trusted.skiff-test")).toBe("0001ff");
  });

  it("removes a tree without following the symlinks in it", async () => {
    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(path.join(outside, "keep"), "x");
    mkdirSync(path.join(dir, "t/a/b"), { recursive: true });
    writeFileSync(path.join(dir, "t/a/b/f"), "y");
    symlinkSync(outside, path.join(dir, "t/a/out"));
    writeFileSync(path.join(dir, "plain"), "z");
    const steps = new LayerSteps();
    steps.remove(path.join(dir, "t"));
    steps.remove(path.join(dir, "plain"));
    steps.remove(path.join(dir, "absent"));
    await steps.flush();
    expect(readdirSync(dir)).toEqual([]);
    expect(readFileSync(path.join(outside, "keep"), "utf8")).toBe("x");
  });

  it("stops at the first failing step, names it, and closes the file it had open", async () => {
    const dir = tempDir();
    const before = openFds();
    const steps = new LayerSteps();
    steps.create(path.join(dir, "f"));
    steps.write(Buffer.from("partial"));
    steps.mkdir(path.join(dir, "f"), 0o755); // exists: EEXIST
    steps.mkdir(path.join(dir, "never"), 0o755);
    const err = await steps.flush().then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("EEXIST");
    expect(err?.message).toContain(`mkdir ${path.join(dir, "f")}`);
    expect(existsSync(path.join(dir, "never"))).toBe(false);
    expect(openFds()).toBe(before);
    // Later calls report the same failure rather than run more steps.
    steps.mkdir(path.join(dir, "later"), 0o755);
    await expect(steps.drain()).rejects.toThrow(/EEXIST|exists/);
    await steps.discard();
    expect(existsSync(path.join(dir, "later"))).toBe(false);
  });

  it("fails a step whose path is too long with ENAMETOOLONG, naming the path's start", async () => {
    const dir = tempDir();
    const steps = new LayerSteps();
    steps.mkdir(path.join(dir, "x".repeat(5000)), 0o755);
    const err = await steps.flush().then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("ENAMETOOLONG");
    expect(err?.message).toContain(`mkdir ${path.join(dir, "xxxx")}`);
  });

  it("refuses a malformed batch rather than guess", async () => {
    const { native } = await import("../../src/native/index.js");
    const bad = Buffer.from([1, 200, 0, 0, 0]); // mkdir with a path longer than the batch
    await expect(native().applyLayerOps(bad, bad.length, -1)).rejects.toThrow(/malformed layer step/);
    expect(() => native().applyLayerOps(bad, bad.length + 1, -1)).toThrow(TypeError);
  });
});
