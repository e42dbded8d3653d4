// ImageService against a real registry: pulls of every manifest and layer
// format, the merged view of whiteouts, auth, verification, hostile layers,
// shared transfers, interrupted pulls, removal and garbage collection.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { deleteLine } from "../../src/store/journal-format.js";
import { JOURNAL_FILE } from "../../src/store/journal.js";
import { buildImage, buildIndex, tarOf, type LayerEntry } from "../support/oci-image.js";
import { grpc, grpcError } from "./harness/cri-client.js";
import { TestDaemon } from "./harness/daemon.js";
import { TestProxy } from "./harness/proxy.js";
import { TestRegistry } from "./harness/registry.js";
import { waitFor } from "./harness/processes.js";
import { storedRecords } from "./harness/records.js";
import { fixtureDir } from "./harness/run-dir.js";
import { dirEntries, mountChain, snapshotDirs } from "./harness/snapshots.js";

const chainOf = (diffIds: string[]) => {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : `sha256:${createHash("sha256").update(`${out.at(-1)} ${d}`).digest("hex")}`);
  return out;
};

describe("image service", () => {
  let reg: TestRegistry;
  let d: TestDaemon;
  beforeAll(async () => {
    reg = await TestRegistry.start();
    d = await TestDaemon.start();
  });
  afterAll(async () => {
    await d?.cleanup();
    await reg?.stop();
  });

  it("pulls an OCI image by tag and finds it by tag, id, id prefix and digest", async () => {
    const img = await buildImage({ users: ["app:x:1000:1000::/:/bin/sh"], config: { User: "1000", Cmd: ["sh"] } });
    const ref = await reg.push("lib/app", "v1", img);
    const pulled = await d.client.image.PullImage({ image: { image: ref } });
    expect(pulled.image_ref).toBe(img.config.digest);

    const repoDigest = `${reg.host}/lib/app@${img.manifest.digest}`;
    for (const query of [ref, img.config.digest, img.config.digest.slice(7, 19), repoDigest]) {
      const s = await d.client.image.ImageStatus({ image: { image: query } });
      expect(s.image, query).toMatchObject({
        id: img.config.digest,
        repo_tags: [ref],
        repo_digests: [repoDigest],
        uid: { value: "1000" },
        username: "",
      });
      expect(Number(s.image!.size)).toBe(img.layers.reduce((n, l) => n + l.size, img.config.size));
    }
    const list = await d.client.image.ListImages({});
    expect(list.images.map((i) => i.id)).toContain(img.config.digest);
    const filtered = await d.client.image.ListImages({ filter: { image: { image: ref } } });
    expect(filtered.images.map((i) => i.id)).toEqual([img.config.digest]);
  });

  it("pulls by digest, Docker schema2 with uncompressed layers, and zstd layers", async () => {
    const docker = await buildImage({ format: "docker", compression: "none", config: { User: "nobody" } });
    await reg.push("lib/docker", "v1", docker);
    const byDigest = `${reg.host}/lib/docker@${docker.manifest.digest}`;
    expect((await d.client.image.PullImage({ image: { image: byDigest } })).image_ref).toBe(docker.config.digest);
    const s = await d.client.image.ImageStatus({ image: { image: byDigest } });
    expect(s.image).toMatchObject({ repo_tags: [], repo_digests: [byDigest], username: "nobody", uid: null });

    const zstd = await buildImage({ compression: "zstd", layers: [[{ type: "file", path: "/z.txt", content: "zstd layer" }]] });
    const zref = await reg.push("lib/zstd", "v1", zstd);
    expect((await d.client.image.PullImage({ image: { image: zref } })).image_ref).toBe(zstd.config.digest);
    const dirs = await snapshotDirs(d.root);
    const top = dirs.get(chainOf(zstd.diffIds).at(-1)!)!;
    expect(await readFile(path.join(top, "z.txt"), "utf8")).toBe("zstd layer");
  });

  it("picks linux/amd64 from a multi-platform index", async () => {
    const amd = await buildImage({ layers: [[{ type: "file", path: "/arch", content: "amd64" }]] });
    const arm = await buildImage({ architecture: "arm64", variant: "v8", layers: [[{ type: "file", path: "/arch", content: "arm64" }]] });
    const index = buildIndex([arm, amd]);
    const ref = await reg.pushIndex("lib/multi", "v1", index, [arm, amd]);
    const pulled = await d.client.image.PullImage({ image: { image: ref } });
    expect(pulled.image_ref).toBe(amd.config.digest);
    const s = await d.client.image.ImageStatus({ image: { image: ref }, verbose: true });
    // the repo digest is the index's: pulling it again by digest gives the same image
    expect(s.image!.repo_digests).toEqual([`${reg.host}/lib/multi@${index.digest}`]);
    const info = JSON.parse(s.info.info!);
    expect(info.manifestDigest).toBe(amd.manifest.digest);
    expect(info.imageSpec.architecture).toBe("amd64");
  });

  it("unpacks whiteouts and opaque dirs into a correct merged overlay view", async () => {
    const img = await buildImage({
      layers: [
        [
          { type: "dir", path: "/data" },
          { type: "file", path: "/data/a", content: "a" },
          { type: "file", path: "/data/b", content: "b" },
          { type: "file", path: "/etc/motd", content: "hello" },
          { type: "file", path: "/keep/x", content: "x", mode: 0o4755, uid: 1000, gid: 1000 },
          { type: "hardlink", path: "/keep/x-link", target: "/keep/x" },
          { type: "symlink", path: "/keep/rel", target: "x" },
          // A set-group-ID directory: what is created in it takes its group unless given its own.
          { type: "dir", path: "/shared", mode: 0o2775, uid: 0, gid: 1000 },
          { type: "file", path: "/shared/root-owned", content: "r" },
        ],
        [
          { type: "whiteout", path: "/etc/motd" },
          { type: "opaque", path: "/data" },
          { type: "file", path: "/data/c", content: "c" },
          { type: "hardlink", path: "/keep/lower-link", target: "/keep/x" },
        ],
      ],
    });
    const ref = await reg.push("lib/whiteout", "v1", img);
    await d.client.image.PullImage({ image: { image: ref } });
    const work = await fixtureDir("ovl");
    const { merged, unmount } = await mountChain(d.root, chainOf(img.diffIds), work);
    try {
      expect(existsSync(path.join(merged, "etc/motd"))).toBe(false);
      expect(existsSync(path.join(merged, "etc/passwd"))).toBe(true);
      expect(await dirEntries(path.join(merged, "data"))).toEqual(["c"]);
      expect(await dirEntries(path.join(merged, "keep"))).toEqual(["lower-link", "rel", "x", "x-link"]);
      const x = await stat(path.join(merged, "keep/x"));
      expect(x.mode & 0o7777).toBe(0o4755);
      expect([x.uid, x.gid]).toEqual([1000, 1000]);
      const shared = await stat(path.join(merged, "shared"));
      expect([shared.mode & 0o7777, shared.uid, shared.gid]).toEqual([0o2775, 0, 1000]);
      const rootOwned = await stat(path.join(merged, "shared/root-owned"));
      expect([rootOwned.uid, rootOwned.gid]).toEqual([0, 0]);
      const plain = await stat(path.join(merged, "data/c"));
      expect([plain.uid, plain.gid]).toEqual([0, 0]);
      expect(x.nlink).toBeGreaterThanOrEqual(2);
      expect(await readFile(path.join(merged, "keep/lower-link"), "utf8")).toBe("x");
      expect(await readFile(path.join(merged, "keep/rel"), "utf8")).toBe("x");
      expect((await stat(path.join(merged, "bin/busybox"))).mode & 0o111).toBeTruthy();
    } finally {
      unmount();
    }
  });

  it("gives clear errors for bad and unknown references", async () => {
    let err = await grpcError(d.client.image.PullImage({ image: { image: "Not/Valid:ref" } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('invalid image reference "Not/Valid:ref"');
    err = await grpcError(d.client.image.PullImage({ image: { image: `${reg.host}/lib/nothing:here` } }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain(`${reg.host}/lib/nothing`);
    err = await grpcError(d.client.image.PullImage({ image: { image: "" } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    // a missing image is an empty status, not an error
    expect((await d.client.image.ImageStatus({ image: { image: `${reg.host}/lib/nothing:here` } })).image).toBeNull();
  });

  it("refuses hostile layers and writes nothing outside the store", async () => {
    const outside = await fixtureDir("outside");
    const cases = [
      { name: "dotdot", entries: [{ type: "file", path: "../../../../../../escape-dotdot", content: "x" }], error: /points outside the layer/ },
      {
        name: "symlink",
        entries: [
          { type: "symlink", path: "/evil", target: outside },
          { type: "file", path: "/evil/pwned", content: "x" },
        ],
        error: /through the symlink "evil"/,
      },
      { name: "hardlink", entries: [{ type: "hardlink", path: "/h", target: "../../../../etc/passwd" }], error: /points outside the layer/ },
      {
        name: "lowerlink",
        entries: [{ type: "symlink", path: "/up", target: "/" }],
        next: [{ type: "hardlink", path: "/shadow", target: "/up/etc/passwd" }],
        error: /no layer below provides/,
      },
    ] as const;
    for (const c of cases) {
      const layers: LayerEntry[][] = [[...c.entries]];
      if ("next" in c) layers.push([...c.next]);
      const img = await buildImage({ base: false, layers });
      const ref = await reg.push(`evil/${c.name}`, "v1", img);
      const err = await grpcError(d.client.image.PullImage({ image: { image: ref } }));
      expect(err.code, c.name).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details, c.name).toMatch(c.error);
      expect((await d.client.image.ImageStatus({ image: { image: ref } })).image).toBeNull();
    }
    expect(await readdir(outside)).toEqual([]);
    expect(existsSync("/escape-dotdot")).toBe(false);
    // no unfinished snapshot dirs are left behind: each one left is recorded
    const recorded = (await storedRecords<{ id: number; chainId: string }>(path.join(d.root, "snapshots"), (s) => s.chainId)).map((s) => String(s.id));
    expect((await readdir(path.join(d.root, "snapshots"))).filter((n) => n !== "records.journal").sort()).toEqual(recorded.sort());

    // An absolute name is taken relative to the layer root, as tar does.
    const abs = await buildImage({ base: false, layers: [[{ type: "file", path: "/abs-name-test", content: "inside" }]] });
    const absRef = await reg.push("evil/abs", "v1", abs);
    await d.client.image.PullImage({ image: { image: absRef } });
    expect(existsSync("/abs-name-test")).toBe(false);
    const dirs = await snapshotDirs(d.root);
    expect(await readFile(path.join(dirs.get(abs.diffIds[0]!)!, "abs-name-test"), "utf8")).toBe("inside");
  });

  it("removes at start what a crash left: the trash, a snapshot whose parent is gone, temp files of blobs", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/crash-left", content: "kept" }]] });
    const ref = await reg.push("lib/crash-left", "v1", img);
    await d.client.image.PullImage({ image: { image: ref } });
    await d.kill();
    // A collection cut short: a tree moved to the trash, and the child of a removed parent.
    await mkdir(path.join(d.root, "trash", "0123456789abcdef", "fs", "deep"), { recursive: true });
    await writeFile(path.join(d.root, "trash", "0123456789abcdef", "fs", "deep", "file"), "x");
    const orphan = { id: 9999, chainId: `sha256:${"e".repeat(64)}`, parent: `sha256:${"f".repeat(64)}`, diffId: `sha256:${"e".repeat(64)}`, usedBytes: 0, inodes: 0, createdAt: 0 };
    await mkdir(path.join(d.root, "snapshots", "9999", "fs"), { recursive: true });
    await writeFile(path.join(d.root, "snapshots", "9999", "snapshot.json"), JSON.stringify(orphan));
    // A blob write cut short before its rename.
    const temp = path.join(d.root, "content/blobs/sha256", `.${"a".repeat(64)}.tmp-1-1`);
    await writeFile(temp, "partial");
    await d.start();
    expect(existsSync(path.join(d.root, "snapshots", "9999"))).toBe(false);
    expect(existsSync(temp)).toBe(false);
    await waitFor("the trash to be emptied", async () => ((await readdir(path.join(d.root, "trash"))).length === 0 ? true : undefined), 10_000);
    // The image's own snapshots are whole and mount.
    const dirs = await snapshotDirs(d.root);
    expect(await readFile(path.join(dirs.get(chainOf(img.diffIds).at(-1)!)!, "crash-left"), "utf8")).toBe("kept");
    await d.client.image.RemoveImage({ image: { image: ref } });
  });

  it("removes one tag of several by untagging, and the image by id with all its tags", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/tags", content: "two" }]] });
    const a = await reg.push("lib/tags", "a", img);
    const b = await reg.push("lib/tags", "b", img);
    await d.client.image.PullImage({ image: { image: a } });
    await d.client.image.PullImage({ image: { image: b } });
    expect((await d.client.image.ImageStatus({ image: { image: a } })).image!.repo_tags.sort()).toEqual([a, b].sort());

    await d.client.image.RemoveImage({ image: { image: a } });
    expect((await d.client.image.ImageStatus({ image: { image: a } })).image).toBeNull();
    expect((await d.client.image.ImageStatus({ image: { image: b } })).image!.repo_tags).toEqual([b]);

    await d.client.image.PullImage({ image: { image: a } });
    await d.client.image.RemoveImage({ image: { image: img.config.digest } });
    for (const q of [a, b, img.config.digest]) expect((await d.client.image.ImageStatus({ image: { image: q } })).image).toBeNull();
    expect((await d.client.image.ListImages({})).images.map((i) => i.id)).not.toContain(img.config.digest);
    // removing again, or something never pulled, is not an error
    await d.client.image.RemoveImage({ image: { image: img.config.digest } });
    await d.client.image.RemoveImage({ image: { image: "never/pulled:at-all" } });
  });

  it("keeps records across a daemon kill -9, and garbage-collects everything once all images are removed", async () => {
    const before = (await d.client.image.ListImages({})).images.map((i) => i.id).sort();
    expect(before.length).toBeGreaterThan(3);
    const fsBefore = await d.client.image.ImageFsInfo({});
    expect(Number(fsBefore.image_filesystems[0]!.used_bytes!.value)).toBeGreaterThan(1_000_000);
    expect(fsBefore.image_filesystems[0]!.fs_id!.mountpoint).toBe(path.join(d.root, "snapshots"));
    // Containers' writable layers on the same filesystem: no split (KEP-4191), the image filesystem again.
    expect(fsBefore.container_filesystems).toEqual(fsBefore.image_filesystems);

    await d.restart();
    expect((await d.client.image.ListImages({})).images.map((i) => i.id).sort()).toEqual(before);

    for (const id of before) await d.client.image.RemoveImage({ image: { image: id } });
    expect((await d.client.image.ListImages({})).images).toEqual([]);
    // Snapshots and blobs go right after each call; ImageFsInfo answers once that collection is done.
    const fsAfter = await d.client.image.ImageFsInfo({});
    expect(fsAfter.image_filesystems[0]!.used_bytes!.value).toBe("0");
    expect(await readdir(path.join(d.root, "snapshots"))).toEqual(["records.journal"]);
    expect(await storedRecords(path.join(d.root, "snapshots"), (s: { chainId: string }) => s.chainId)).toEqual([]);
    expect(await readdir(path.join(d.root, "content/blobs/sha256"))).toEqual([]);
    // The snapshots' files went to the trash and are removed after the collection.
    await waitFor("the trash to be emptied", async () => ((await readdir(path.join(d.root, "trash"))).length === 0 ? true : undefined), 10_000);
  });

  it("collects at start what a removal left to collect when the daemon was killed", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/removed-then-killed", content: "gone" }]] });
    const ref = await reg.push("lib/removed-then-killed", "v1", img);
    await d.client.image.PullImage({ image: { image: ref } });
    const blobs = path.join(d.root, "content/blobs/sha256");
    const own = [img.manifest.digest, img.config.digest, img.layers.at(-1)!.digest].map((digest) => path.join(blobs, digest.slice("sha256:".length)));
    const ownLayer = (await snapshotDirs(d.root)).get(chainOf(img.diffIds).at(-1)!)!;
    for (const file of [...own, ownLayer]) expect(existsSync(file), file).toBe(true);
    await d.kill();
    // RemoveImage's durable part (the record's removal) done, its collection not begun.
    await appendFile(path.join(d.root, "images", JOURNAL_FILE), deleteLine(img.config.digest));
    await d.start();
    expect((await d.client.image.ImageStatus({ image: { image: ref } })).image).toBeNull();
    await waitFor("the removed image's blobs to be collected", async () => (own.every((file) => !existsSync(file)) ? true : undefined), 10_000);
    await d.client.image.ImageFsInfo({}); // answers once the collection has ended
    expect(existsSync(ownLayer)).toBe(false);
    expect([...(await snapshotDirs(d.root)).values()]).not.toContain(ownLayer);
  });
});

describe("image pulls through a proxy", () => {
  let reg: TestRegistry;
  let proxy: TestProxy;
  let d: TestDaemon;
  beforeAll(async () => {
    reg = await TestRegistry.start();
    proxy = await TestProxy.start(reg.host);
    d = await TestDaemon.start();
  });
  afterAll(async () => {
    await d?.cleanup();
    await proxy?.stop();
    await reg?.stop();
  });

  it("transfers each blob once for concurrent pulls of one image under two tags", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/big", content: randomBytes(2_000_000) }]] });
    await reg.push("lib/shared", "one", img);
    await reg.push("lib/shared", "two", img);
    proxy.options = { throttle: { bytes: 256 * 1024, everyMs: 20 } }; // long enough for the pulls to overlap
    const refs = [`${proxy.host}/lib/shared:one`, `${proxy.host}/lib/shared:two`, `${proxy.host}/lib/shared:one`];
    const results = await Promise.all(refs.map((r) => d.client.image.PullImage({ image: { image: r } })));
    proxy.options = {};
    expect(results.map((r) => r.image_ref)).toEqual([img.config.digest, img.config.digest, img.config.digest]);
    for (const layer of img.layers) expect(proxy.blobGets(layer.digest), layer.digest).toBe(1);
    expect(proxy.blobGets(img.config.digest)).toBeLessThanOrEqual(2);
  });

  it("downloads a layer no image has while the config is fetched, and not one an image here has", async () => {
    const base: LayerEntry[] = [{ type: "file", path: "/base-file", content: "base" }];
    const first = await buildImage({ base: false, layers: [base, [{ type: "file", path: "/first", content: "1" }]] });
    const second = await buildImage({ base: false, layers: [base, [{ type: "file", path: "/second", content: randomBytes(300_000) }]] });
    await reg.push("lib/early", "first", first);
    await reg.push("lib/early", "second", second);
    await d.client.image.PullImage({ image: { image: `${proxy.host}/lib/early:first` } });
    const baseGets = proxy.blobGets(first.layers[0]!.digest);
    // The config is answered only once the new layer has been asked for (or after 5 s, and the check below fails).
    const newLayer = second.layers[1]!.digest;
    let layerAsked = false;
    proxy.options = {
      hold: (p) => {
        if (!p.endsWith(`/blobs/${second.config.digest}`)) return undefined;
        return waitFor("the new layer's download to start", async () => (proxy.blobGets(newLayer) > 0 ? (layerAsked = true) : undefined), 5000).catch(() => undefined);
      },
    };
    try {
      await d.client.image.PullImage({ image: { image: `${proxy.host}/lib/early:second` } });
    } finally {
      proxy.options = {};
    }
    expect(layerAsked).toBe(true);
    expect(proxy.blobGets(first.layers[0]!.digest)).toBe(baseGets);
    const dirs = await snapshotDirs(d.root);
    expect((await readFile(path.join(dirs.get(chainOf(second.diffIds)[1]!)!, "second"))).length).toBe(300_000);
  });

  it("stores a layer downloaded early without unpacking it when the config turns out bad", async () => {
    const img = await buildImage({ base: false, layers: [[{ type: "file", path: "/early-bad", content: "x" }]] });
    await reg.push("lib/early-bad", "v1", img);
    const snapshotsBefore = (await snapshotDirs(d.root)).size;
    proxy.options = { tamper: (p) => (p.endsWith(`/blobs/${img.config.digest}`) ? Buffer.from("{}") : undefined) };
    try {
      const err = await grpcError(d.client.image.PullImage({ image: { image: `${proxy.host}/lib/early-bad:v1` } }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toMatch(/digest verification failed for the image config/);
    } finally {
      proxy.options = {};
    }
    expect(proxy.blobGets(img.layers[0]!.digest)).toBe(1);
    expect((await snapshotDirs(d.root)).size).toBe(snapshotsBefore);
    expect((await d.client.image.ImageStatus({ image: { image: `${proxy.host}/lib/early-bad:v1` } })).image).toBeNull();
    expect(await readdir(path.join(d.root, "content/ingest"))).toEqual([]);
    // The next pull finds the stored blob and only unpacks it.
    await d.client.image.PullImage({ image: { image: `${proxy.host}/lib/early-bad:v1` } });
    expect(proxy.blobGets(img.layers[0]!.digest)).toBe(1);
  });

  it("rejects a blob whose content does not match its digest and stores nothing", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/tampered", content: "original" }]] });
    await reg.push("lib/tampered", "v1", img);
    const victim = img.layers[1]!;
    proxy.options = { tamper: (p) => (p.endsWith(victim.digest) ? Buffer.alloc(victim.size, 1) : undefined) };
    try {
      const err = await grpcError(d.client.image.PullImage({ image: { image: `${proxy.host}/lib/tampered:v1` } }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain(`digest verification failed: blob content has digest`);
      expect(err.details).toContain(`expected ${victim.digest}`);
    } finally {
      proxy.options = {};
    }
    expect(existsSync(path.join(d.root, "content/blobs", victim.digest.replace(":", "/")))).toBe(false);
    expect(await readdir(path.join(d.root, "content/ingest"))).toEqual([]);
    expect((await d.client.image.ImageStatus({ image: { image: `${proxy.host}/lib/tampered:v1` } })).image).toBeNull();
  });

  it("unpacks a layer while it downloads", async () => {
    const content = randomBytes(3_000_000);
    const img = await buildImage({ base: false, compression: "none", layers: [[{ type: "file", path: "/streamed", content }]] });
    await reg.push("lib/streamed", "v1", img);
    proxy.options = { throttle: { bytes: 64 * 1024, everyMs: 50 } }; // ~1.3 MB/s: about 2 s for the layer
    let pulled = false;
    try {
      const pull = d.client.image.PullImage({ image: { image: `${proxy.host}/lib/streamed:v1` } }).finally(() => (pulled = true));
      // Part of the file is unpacked, in a snapshot not yet committed, while the blob is still downloading.
      const partial = await waitFor("part of the layer unpacked while it downloads", async () => {
        const recorded = new Set((await snapshotDirs(d.root)).values());
        for (const name of await readdir(path.join(d.root, "snapshots"))) {
          const fs = path.join(d.root, "snapshots", name, "fs");
          const size = await stat(path.join(fs, "streamed")).then((st) => st.size, () => 0);
          if (size > 0 && !recorded.has(fs)) return size;
        }
        return undefined;
      }, 10_000);
      expect(pulled).toBe(false);
      expect(partial).toBeLessThan(content.length);
      expect(existsSync(path.join(d.root, "content/blobs", img.layers[0]!.digest.replace(":", "/")))).toBe(false);
      await pull;
    } finally {
      proxy.options = {};
    }
    const dirs = await snapshotDirs(d.root);
    expect((await readFile(path.join(dirs.get(img.diffIds[0]!)!, "streamed"))).equals(content)).toBe(true);
  });

  it("unpacks more downloading layers than it may at once: the others follow once one is done", async () => {
    // One unpack at a time and four layers downloading at once: the small first layer is done while the
    // second still downloads (the pool hands it over mid-way and forwards the rest), and the last two
    // wait until their downloads have ended; each unpack starts from the file's first byte.
    const one = await TestDaemon.start({ config: { image: { max_concurrent_unpacks: 1, max_concurrent_downloads: 4 } } });
    try {
      const contents = [100_000, 1_500_000, 1_500_000, 1_500_000].map((n) => randomBytes(n));
      const img = await buildImage({ base: false, layers: contents.map((content, i) => [{ type: "file", path: `/layer${i}`, content }]) });
      await reg.push("lib/queued", "v1", img);
      proxy.options = { throttle: { bytes: 256 * 1024, everyMs: 20 } }; // ~12 MB/s each: the downloads overlap
      try {
        expect((await one.client.image.PullImage({ image: { image: `${proxy.host}/lib/queued:v1` } })).image_ref).toBe(img.config.digest);
      } finally {
        proxy.options = {};
      }
      const dirs = await snapshotDirs(one.root);
      const chains = chainOf(img.diffIds);
      for (const [i, content] of contents.entries()) {
        expect((await readFile(path.join(dirs.get(chains[i]!)!, `layer${i}`))).equals(content), `layer ${i}`).toBe(true);
      }
      expect(await readdir(path.join(one.root, "content/ingest"))).toEqual([]);
    } finally {
      await one.cleanup();
    }
  });

  it("throws away what it unpacked from a blob that turns out not to match its digest", async () => {
    const entry = (content: Buffer): LayerEntry[] => [{ type: "file", path: "/swapped", content }];
    const img = await buildImage({ base: false, compression: "none", layers: [entry(randomBytes(500_000))] });
    await reg.push("lib/swapped", "v1", img);
    // A well-formed layer of the very same size, but not the one the manifest names.
    const impostor = await tarOf(entry(randomBytes(500_000)));
    expect(impostor.length).toBe(img.layers[0]!.size);
    const snapshotsBefore = await dirEntries(path.join(d.root, "snapshots"));
    proxy.options = { tamper: (p) => (p.endsWith(img.layers[0]!.digest) ? impostor : undefined) };
    try {
      const err = await grpcError(d.client.image.PullImage({ image: { image: `${proxy.host}/lib/swapped:v1` } }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain("digest verification failed: blob content has digest");
    } finally {
      proxy.options = {};
    }
    expect(await dirEntries(path.join(d.root, "snapshots"))).toEqual(snapshotsBefore);
    expect(await readdir(path.join(d.root, "content/ingest"))).toEqual([]);
    expect((await d.client.image.ImageStatus({ image: { image: `${proxy.host}/lib/swapped:v1` } })).image).toBeNull();
  });

  it("recovers from a daemon killed mid-pull: no partial image, and the next pull succeeds", async () => {
    const img = await buildImage({ layers: [[{ type: "file", path: "/slow", content: randomBytes(3_000_000) }]] });
    await reg.push("lib/slow", "v1", img);
    const ref = `${proxy.host}/lib/slow:v1`;
    proxy.options = { throttle: { bytes: 64 * 1024, everyMs: 50 } }; // ~1.3 MB/s: about 2 s for the big layer
    const pull = d.client.image.PullImage({ image: { image: ref } }).catch((e: Error) => e);
    const big = img.layers[1]!.digest;
    const deadline = Date.now() + 10_000;
    while (proxy.blobGets(big) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // part of the blob is on disk
    expect(await readdir(path.join(d.root, "content/ingest"))).not.toEqual([]);
    await d.kill();
    expect(await pull).toBeInstanceOf(Error);
    proxy.options = {};

    await d.start();
    expect((await d.client.image.ImageStatus({ image: { image: ref } })).image).toBeNull();
    expect(await readdir(path.join(d.root, "content/ingest"))).toEqual([]);
    expect(existsSync(path.join(d.root, "content/blobs", big.replace(":", "/")))).toBe(false);
    expect((await d.client.image.PullImage({ image: { image: ref } })).image_ref).toBe(img.config.digest);
  });
});

describe("registries that need credentials", () => {
  let reg: TestRegistry;
  let d: TestDaemon;
  let ref: string;
  beforeAll(async () => {
    reg = await TestRegistry.start({ htpasswd: `puller:${bcrypt.hashSync("s3cret", 8)}\n` });
    reg.pushAuth = { username: "puller", password: "s3cret" };
    ref = await reg.push("private/app", "v1", await buildImage({ layers: [[{ type: "file", path: "/secret", content: "s" }]] }));
    d = await TestDaemon.start();
  });
  afterAll(async () => {
    await d?.cleanup();
    await reg?.stop();
  });

  it("fails with a clear error without credentials or with wrong ones", async () => {
    let err = await grpcError(d.client.image.PullImage({ image: { image: ref } }));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain("requires authentication");
    err = await grpcError(d.client.image.PullImage({ image: { image: ref }, auth: { username: "puller", password: "wrong" } }));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain("refused the credentials");
  });

  it("pulls with a username and password, or with docker's base64 auth field, and never logs them", async () => {
    await d.client.image.PullImage({ image: { image: ref }, auth: { username: "puller", password: "s3cret" } });
    await d.client.image.RemoveImage({ image: { image: ref } });
    const auth = Buffer.from("puller:s3cret").toString("base64");
    const r = await d.client.image.PullImage({ image: { image: ref }, auth: { auth } });
    expect(r.image_ref).toMatch(/^sha256:/);
    const log = await readFile(d.logFile, "utf8");
    expect(log).not.toContain("s3cret");
    expect(log).not.toContain(auth);
  });
});

describe("registry mirrors", () => {
  it("tries mirrors in order, skipping a dead one, before the registry itself", async () => {
    const reg = await TestRegistry.start();
    const mirror = await TestProxy.start(reg.host);
    const upstream = await TestProxy.start(reg.host);
    const d = await TestDaemon.start({ config: { registries: { [upstream.host]: { mirrors: ["127.0.0.1:1", mirror.host] } } } });
    try {
      const img = await buildImage({ layers: [[{ type: "file", path: "/m", content: "mirrored" }]] });
      await reg.push("lib/mirrored", "v1", img);
      const r = await d.client.image.PullImage({ image: { image: `${upstream.host}/lib/mirrored:v1` } });
      expect(r.image_ref).toBe(img.config.digest);
      expect(mirror.requests.some((q) => q.path === "/v2/lib/mirrored/manifests/v1")).toBe(true);
      for (const l of img.layers) expect(mirror.blobGets(l.digest)).toBe(1);
      expect(upstream.requests).toEqual([]);
      const s = await d.client.image.ImageStatus({ image: { image: `${upstream.host}/lib/mirrored:v1` } });
      expect(s.image?.repo_tags).toEqual([`${upstream.host}/lib/mirrored:v1`]);
    } finally {
      await d.cleanup();
      await mirror.stop();
      await upstream.stop();
      await reg.stop();
    }
  });
});
