// The sealed copy a runtime binary runs from (src/runtime/sealed-binary.ts),
// with the real memfd of the native addon: what it runs, that nobody can
// change it, and that it follows the file on disk.

import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, readlinkSync, renameSync, rmSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { reexecsItself, SealedBinary } from "../../src/runtime/sealed-binary.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("sealed");
const opened: SealedBinary[] = [];
afterEach(() => {
  for (const b of opened.splice(0)) b.close();
});

/** A sealed copy of the shell (under another name), to run as `<copy> -c <script>`. */
function sealedShell(): { bin: string; sealed: SealedBinary; dir: string } {
  const dir = tempDir();
  const bin = path.join(dir, "prog");
  copyFileSync("/bin/sh", bin);
  const sealed = SealedBinary.create(bin, path.join(dir, "sealed"));
  opened.push(sealed);
  return { bin, sealed, dir };
}

const run = (program: string, script: string) => execFileSync(program, ["-c", script], { encoding: "utf8" }).trim();

describe("reexecsItself", () => {
  it("is crun's trait, by the binary's name", () => {
    expect(reexecsItself("crun")).toBe(true);
    expect(reexecsItself("/usr/local/bin/crun")).toBe(true);
    expect(reexecsItself("runc")).toBe(false);
    expect(reexecsItself("/opt/crun/bin/runc")).toBe(false);
  });
});

describe("SealedBinary", () => {
  it("runs the copy through a link named like the binary, under /proc of this process", () => {
    const { sealed } = sealedShell();
    expect(path.basename(sealed.program())).toBe("prog");
    expect(readlinkSync(sealed.link)).toMatch(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    expect(run(sealed.program(), "echo from the copy")).toBe("from the copy");
  });

  it("cannot be written, truncated or grown, by root either", () => {
    const { sealed } = sealedShell();
    expect(() => appendFileSync(sealed.link, "x")).toThrow(/EPERM/);
    expect(() => writeFileSync(sealed.link, "x")).toThrow(/EPERM/);
    expect(run(sealed.program(), "echo intact")).toBe("intact");
  });

  it("copies the binary again once the file on disk is replaced, and drops the old copy", () => {
    const { bin, sealed } = sealedShell();
    const before = readlinkSync(sealed.program());
    // Another program under the same name, renamed over it as package managers do.
    copyFileSync("/bin/echo", `${bin}.new`);
    renameSync(`${bin}.new`, bin);
    expect(run(sealed.program(), "ignored")).toBe("-c ignored");
    expect(readlinkSync(sealed.link)).not.toBe(before);
    // Its descriptor is closed (the number may since name something else, never a copy).
    let old = "";
    try {
      old = readlinkSync(before);
    } catch {
      /* closed */
    }
    expect(old).not.toMatch(/sealed copy/);
  });

  it("puts the link back when something removed it", () => {
    const { sealed } = sealedShell();
    rmSync(sealed.link);
    expect(run(sealed.program(), "echo back")).toBe("back");
  });

  it("hands out the path on disk when the binary is gone, so that the call fails as it would without a copy", () => {
    const { bin, sealed } = sealedShell();
    rmSync(bin);
    expect(sealed.program()).toBe(bin);
  });

  it("refuses what is not there, and close removes the link", () => {
    const dir = tempDir();
    expect(() => SealedBinary.create(path.join(dir, "missing"), dir)).toThrow(/ENOENT/);
    const { sealed } = sealedShell();
    sealed.close();
    expect(existsSync(sealed.link)).toBe(false);
  });
});
