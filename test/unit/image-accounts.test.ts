// An image's users and groups, read once per image (src/runtime/image-accounts.ts).

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ImageAccounts } from "../../src/runtime/image-accounts.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("accounts");

/** A rootfs whose /etc/passwd names one user. */
function rootfsWith(user: string, uid: number): string {
  const root = tempDir();
  mkdirSync(path.join(root, "etc"));
  writeFileSync(path.join(root, "etc", "passwd"), `root:x:0:0::/root:/bin/sh\n${user}:x:${uid}:${uid}::/:/bin/sh\n`);
  writeFileSync(path.join(root, "etc", "group"), `root:x:0:\n${user}:x:${uid}:\nextra:x:4000:${user}\n`);
  return root;
}

describe("ImageAccounts", () => {
  it("reads an image's passwd and group files the first time, and answers from memory after", async () => {
    const cache = new ImageAccounts();
    const root = rootfsWith("alice", 1000);
    const first = await cache.of("sha256:a", root);
    expect(first.passwd.map((p) => [p.name, p.uid])).toEqual([["root", 0], ["alice", 1000]]);
    expect(first.groups.find((g) => g.name === "extra")!.members).toEqual(["alice"]);
    // Another container of the image: its rootfs is not read again.
    writeFileSync(path.join(root, "etc", "passwd"), "");
    expect(await cache.of("sha256:a", root)).toBe(first);
  });

  it("keeps images apart, and forgets the least recently used beyond its size", async () => {
    const cache = new ImageAccounts(2);
    const a = await cache.of("sha256:a", rootfsWith("alice", 1000));
    const b = await cache.of("sha256:b", rootfsWith("bob", 1001));
    expect(b.passwd[1]!.name).toBe("bob");
    expect(await cache.of("sha256:a", tempDir())).toBe(a); // a is now the most recent
    await cache.of("sha256:c", rootfsWith("carol", 1002)); // b goes
    expect(cache.size).toBe(2);
    expect((await cache.of("sha256:b", rootfsWith("bert", 1003))).passwd[1]!.name).toBe("bert");
    expect(await cache.of("sha256:c", tempDir())).not.toBe(a);
  });

  it("reads an image without the files as having no accounts", async () => {
    const cache = new ImageAccounts();
    expect(await cache.of("sha256:empty", tempDir())).toEqual({ passwd: [], groups: [] });
  });
});
