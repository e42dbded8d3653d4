// Offline import through the `skiff images` command line against a running daemon.

import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveOf, buildImage, dockerSaveArchive, ociLayoutArchive } from "../support/oci-image.js";
import { runSkiff, TestDaemon } from "./harness/daemon.js";
import { fixtureDir } from "./harness/run-dir.js";
import { snapshotDirs } from "./harness/snapshots.js";


const skiff = (args: string[]) => runSkiff(args);

describe("skiff images import", () => {
  let d: TestDaemon;
  let dir: string;
  beforeAll(async () => {
    d = await TestDaemon.start();
    dir = await fixtureDir("imp");
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("imports a docker save archive with two images, and lists them", async () => {
    const one = await buildImage({ config: { Cmd: ["sh"] }, layers: [[{ type: "file", path: "/one", content: "first" }]] });
    const two = await buildImage({ compression: "none", layers: [[{ type: "file", path: "/two", content: "second" }]] });
    const file = path.join(dir, "save.tar");
    await writeFile(file, await dockerSaveArchive([{ image: one, tags: ["example.com/one:v1", "one:latest"] }, { image: two, tags: [] }]));

    const r = await skiff(["images", "import", file, "--listen", d.socket]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`imported ${one.config.digest} example.com/one:v1 docker.io/library/one:latest`);
    expect(r.stdout).toContain(`imported ${two.config.digest}\n`);

    const s = await d.client.image.ImageStatus({ image: { image: "one" } });
    expect(s.image).toMatchObject({ id: one.config.digest, repo_tags: ["example.com/one:v1", "docker.io/library/one:latest"] });
    const dirs = await snapshotDirs(d.root);
    const top = [...dirs.entries()].find(([, p]) => existsSync(path.join(p, "one")));
    expect(top).toBeDefined();
    expect(await readFile(path.join(top![1], "one"), "utf8")).toBe("first");

    const ls = await skiff(["images", "ls", "--listen", d.socket]);
    expect(ls.code).toBe(0);
    expect(ls.stdout.split("\n")[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(ls.stdout).toMatch(new RegExp(`example.com/one\\s+v1\\s+${one.config.digest.slice(7, 20)}`));
    expect(ls.stdout).toMatch(new RegExp(`<none>\\s+<none>\\s+${two.config.digest.slice(7, 20)}`));
  });

  it("imports an OCI image layout archive", async () => {
    const img = await buildImage({ compression: "zstd", layers: [[{ type: "file", path: "/oci", content: "layout" }]] });
    const file = path.join(dir, "oci.tar");
    await writeFile(file, await ociLayoutArchive(img, "registry.local/team/app:2.0"));
    const r = await skiff(["images", "import", file, "--listen", d.socket]);
    expect(r.code).toBe(0);
    const s = await d.client.image.ImageStatus({ image: { image: "registry.local/team/app:2.0" } });
    expect(s.image?.id).toBe(img.config.digest);
  });

  it("refuses archives that are broken or try to leave the store, and writes nothing outside", async () => {
    const img = await buildImage({ base: false, layers: [[{ type: "file", path: "/x", content: "x" }]] });
    const good = await dockerSaveArchive([{ image: img, tags: ["evil:1"] }]);
    const cases: [string, Buffer, RegExp][] = [
      ["not a tar", Buffer.from("hello"), /cannot read .* as a tar archive/],
      ["tar of nothing useful", await archiveOf([["readme", Buffer.from("hi")]]), /neither a docker save archive/],
      ["escaping member", await archiveOf([["../../../../escape-import", Buffer.from("x")], ["manifest.json", Buffer.from(JSON.stringify([{ Config: "../../etc/passwd", Layers: [] }]))]]), /no image config "..\/..\/etc\/passwd"/],
      ["wrong diff_id", await archiveOf([["c.json", img.config.data], ["l/layer.tar", Buffer.from("not the layer")], ["manifest.json", Buffer.from(JSON.stringify([{ Config: "c.json", Layers: ["l/layer.tar"] }]))]]), /unpacks to|cannot be unpacked/],
    ];
    for (const [what, data, error] of cases) {
      const file = path.join(dir, "bad.tar");
      await writeFile(file, data);
      const r = await skiff(["images", "import", file, "--listen", d.socket]);
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(error);
    }
    expect(existsSync("/escape-import")).toBe(false);
    expect(existsSync(path.join(dir, "..", "escape-import"))).toBe(false);
    expect(await readdir(path.join(d.root, "content/ingest"))).toEqual([]);
    expect((await d.client.image.ImageStatus({ image: { image: "evil:1" } })).image).toBeNull();
    // the untouched archive still imports
    await writeFile(path.join(dir, "good.tar"), good);
    expect((await skiff(["images", "import", path.join(dir, "good.tar"), "--listen", d.socket])).code).toBe(0);
  });
});
