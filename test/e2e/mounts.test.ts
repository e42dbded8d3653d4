// The mount helpers over the native addon's mount(2)/umount2(2): a pod's shm
// tmpfs, the overlay rootfs, and unmountAll (stacked, busy, absent, symlink).
// Real mounts, as root, under the run directory (teardown flags leftovers).

import { open, mkdir, symlink, writeFile, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mountRootfs, unmountRootfs } from "../../src/runtime/rootfs.js";
import { mount, MS } from "../../src/native/index.js";
import { isMountPoint, mountTmpfs, readMountInfo, unmountAll } from "../../src/util/mounts.js";
import { fixtureDir } from "./harness/run-dir.js";

const mounted: string[] = [];

afterEach(async () => {
  for (const m of mounted.splice(0)) await unmountAll(m).catch(() => {});
});

describe("mountTmpfs", () => {
  it("mounts a nosuid,nodev,noexec tmpfs with the given mode and size", async () => {
    const dir = await fixtureDir("mnt");
    const target = path.join(dir, "shm");
    await mkdir(target);
    await mountTmpfs(target, { mode: 0o1777, sizeBytes: 8 * 1024 * 1024 });
    mounted.push(target);
    const entry = (await readMountInfo()).find((e) => e.mountPoint === target);
    expect(entry).toBeDefined();
    const line = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === target)!;
    expect(line).toMatch(/ tmpfs tmpfs /);
    for (const opt of ["nosuid", "nodev", "noexec"]) expect(line.split(" ")[5]!.split(",")).toContain(opt);
    expect(line).toContain("size=8192k");
    expect((await stat(target)).mode & 0o7777).toBe(0o1777);
  });

  it("reports a failure with the errno and the path", async () => {
    const dir = await fixtureDir("mnt");
    await expect(mountTmpfs(path.join(dir, "missing"), { mode: 0o755, sizeBytes: 1024 * 1024 })).rejects.toThrow(/cannot mount a tmpfs: mount .*missing: No such file or directory/);
  });
});

describe("unmountAll", () => {
  it("unmounts every mount stacked on the path", async () => {
    const target = path.join(await fixtureDir("mnt"), "stack");
    await mkdir(target);
    mounted.push(target);
    for (let i = 0; i < 3; i++) await mountTmpfs(target, { mode: 0o755, sizeBytes: 1024 * 1024 });
    expect((await readMountInfo()).filter((e) => e.mountPoint === target)).toHaveLength(3);
    await unmountAll(target);
    expect(await isMountPoint(target)).toBe(false);
  });

  it("is a no-op for a directory that is not mounted and for a missing path", async () => {
    const dir = await fixtureDir("mnt");
    await expect(unmountAll(dir)).resolves.toBeUndefined();
    await expect(unmountAll(path.join(dir, "nope"))).resolves.toBeUndefined();
  });

  it("detaches a busy mount so that the path is free", async () => {
    const target = path.join(await fixtureDir("mnt"), "busy");
    await mkdir(target);
    mounted.push(target);
    await mountTmpfs(target, { mode: 0o755, sizeBytes: 1024 * 1024 });
    await writeFile(path.join(target, "held"), "x");
    // An open file keeps a plain unmount EBUSY.
    const held = await open(path.join(target, "held"), "r");
    try {
      await unmountAll(target);
      expect(await isMountPoint(target)).toBe(false);
      expect((await held.readFile("utf8"))).toBe("x"); // the detached mount lives on for its users
    } finally {
      await held.close();
    }
  });

  it("does not follow a symlink to somewhere else's mount", async () => {
    const dir = await fixtureDir("mnt");
    const real = path.join(dir, "real");
    await mkdir(real);
    await mountTmpfs(real, { mode: 0o755, sizeBytes: 1024 * 1024 });
    mounted.push(real);
    const link = path.join(dir, "link");
    await symlink(real, link);
    await unmountAll(link);
    expect(await isMountPoint(real)).toBe(true);
  });
});

describe("overlay mounts", () => {
  it("mounts lower layers with a writable upper, and unmounts", async () => {
    const dir = await fixtureDir("ovl");
    const snapshots = path.join(dir, "snapshots");
    const [low1, low2] = [path.join(snapshots, "1", "fs"), path.join(snapshots, "2", "fs")];
    await mkdir(low1, { recursive: true });
    await mkdir(low2, { recursive: true });
    await writeFile(path.join(low1, "bottom"), "from layer 1");
    await writeFile(path.join(low2, "top"), "from layer 2");
    const container = path.join(dir, "c1");
    const rootfs = await mountRootfs(snapshots, [low2, low1], container);
    mounted.push(rootfs);
    expect(await readFile(path.join(rootfs, "bottom"), "utf8")).toBe("from layer 1");
    expect(await readFile(path.join(rootfs, "top"), "utf8")).toBe("from layer 2");
    await writeFile(path.join(rootfs, "new"), "written");
    expect(await readFile(path.join(container, "upper", "new"), "utf8")).toBe("written");
    const line = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === rootfs)!;
    expect(line).toContain(`lowerdir=${low2}:${low1}`); // absolute while they fit in a page
    await unmountRootfs(rootfs);
    expect(await isMountPoint(rootfs)).toBe(false);
  });

  it("gives lower layers relative to their directory when absolute paths would not fit the option page", async () => {
    const dir = await fixtureDir("ovl");
    const snapshots = path.join(dir, "s".repeat(120), "snapshots");
    const layers = Array.from({ length: 40 }, (_, i) => path.join(snapshots, String(i).padStart(3, "0"), "fs"));
    for (const [i, l] of layers.entries()) {
      await mkdir(l, { recursive: true });
      await writeFile(path.join(l, `f${i}`), `layer ${i}`);
    }
    const rootfs = await mountRootfs(snapshots, [...layers].reverse(), path.join(dir, "many"));
    mounted.push(rootfs);
    expect(await readFile(path.join(rootfs, "f0"), "utf8")).toBe("layer 0");
    expect(await readFile(path.join(rootfs, "f39"), "utf8")).toBe("layer 39");
    const line = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === rootfs)!;
    expect(line).toContain("lowerdir=039/fs:038/fs:");
  });

  it("names the mount point and the errno when a lower layer or the layers' directory is missing", async () => {
    const dir = await fixtureDir("ovl");
    const snapshots = path.join(dir, "snapshots");
    const many = Array.from({ length: 40 }, (_, i) => path.join(snapshots, `${"x".repeat(60)}${i}`, "fs"));
    await expect(mountRootfs(snapshots, many, path.join(dir, "c2"))).rejects.toThrow(/cannot mount an overlay: chdir to .*snapshots to mount .*c2\/rootfs: No such file or directory/);
    await mkdir(snapshots);
    await expect(mountRootfs(snapshots, [path.join(snapshots, "gone", "fs")], path.join(dir, "c3"))).rejects.toThrow(/cannot mount an overlay: mount .*c3\/rootfs: No such file or directory/);
    // The container's directories are made in the same job, under an existing parent.
    await expect(mountRootfs(snapshots, [path.join(snapshots, "gone", "fs")], path.join(dir, "no-parent", "c4"))).rejects.toThrow(
      /cannot mount an overlay: make the directory .*no-parent\/c4 to mount .*c4\/rootfs: No such file or directory/,
    );
  });

  it("rejects bad arguments before any mount", async () => {
    // @ts-expect-error a number where a path belongs
    expect(() => mount("tmpfs", 42, "tmpfs", MS.NOSUID, null)).toThrow(/mount\(source, target, fstype, flags/);
  });
});
