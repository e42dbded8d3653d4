import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chainIds } from "../../src/image-service/chain-id.js";
import { findImage } from "../../src/image-service/image-lookup.js";
import { imageUser, type ImageRecord } from "../../src/image-service/image-record.js";
import { ancestors, cleanEntryPath, whiteoutOf } from "../../src/image-service/unpack/entry-path.js";

const id = (c: string) => `sha256:${c.repeat(64)}`;

function record(over: Partial<ImageRecord>): ImageRecord {
  return { id: id("0"), repoTags: [], repoDigests: [], manifestDigest: id("9"), extraBlobs: [], configDigest: id("0"), layers: [], size: 1, config: {}, pinned: false, createdAt: 0, ...over };
}

describe("chain ids", () => {
  it("follows the OCI definition", () => {
    const a = id("a");
    const b = id("b");
    const [c0, c1] = chainIds([a, b]);
    expect(c0).toBe(a);
    expect(c1).toBe(`sha256:${createHash("sha256").update(`${a} ${b}`).digest("hex")}`);
    expect(chainIds([])).toEqual([]);
  });
});

describe("finding images", () => {
  const busy = record({ id: id("a"), repoTags: ["docker.io/library/busybox:latest"], repoDigests: [`docker.io/library/busybox@${id("d")}`] });
  const app = record({ id: `sha256:ab${"c".repeat(62)}`, repoTags: ["127.0.0.1:5000/app:v1"] });
  const all = [busy, app];

  it("finds by full id with or without the algorithm", () => {
    expect(findImage(all, id("a"))).toBe(busy);
    expect(findImage(all, "a".repeat(64))).toBe(busy);
  });
  it("finds by normalised tag and by digest reference", () => {
    expect(findImage(all, "busybox")).toBe(busy);
    expect(findImage(all, "docker.io/library/busybox:latest")).toBe(busy);
    expect(findImage(all, `busybox@${id("d")}`)).toBe(busy);
    expect(findImage(all, "127.0.0.1:5000/app:v1")).toBe(app);
    expect(findImage(all, "busybox:other")).toBeUndefined();
  });
  it("finds by a unique id prefix and refuses an ambiguous one", () => {
    expect(findImage(all, "abc")).toBe(app);
    expect(() => findImage(all, "a")).toThrow(/ambiguous/);
  });
});

describe("image user", () => {
  it.each([
    ["", {}],
    ["1000", { uid: 1000 }],
    ["1000:1000", { uid: 1000 }],
    ["nobody", { username: "nobody" }],
    ["app:grp", { username: "app" }],
  ])("User %j", (user, expected) => {
    expect(imageUser(record({ config: { config: { User: user } } }))).toEqual(expected);
  });
});

describe("tar entry names", () => {
  it.each([
    ["a/b/c", "a/b/c"],
    ["./a/b/", "a/b"],
    ["/abs/x", "abs/x"],
    ["a/../b", "b"],
    ["a//b/./c", "a/b/c"],
    ["./", ""],
    ["/", ""],
  ])("cleans %j to %j", (input, out) => {
    expect(cleanEntryPath(input)).toBe(out);
  });
  it.each(["../x", "a/../../x", "..", "/../x", "a\0b"])("refuses %j", (input) => {
    expect(cleanEntryPath(input)).toBeUndefined();
  });
  it("lists ancestors outermost first", () => {
    expect(ancestors("a/b/c")).toEqual(["a", "a/b"]);
    expect(ancestors("a")).toEqual([]);
  });
  it("recognises whiteouts", () => {
    expect(whiteoutOf("etc/.wh.motd")).toEqual({ kind: "file", path: "etc/motd" });
    expect(whiteoutOf(".wh.top")).toEqual({ kind: "file", path: "top" });
    expect(whiteoutOf("var/cache/.wh..wh..opq")).toEqual({ kind: "opaque", dir: "var/cache" });
    expect(whiteoutOf("etc/motd")).toBeUndefined();
    expect(whiteoutOf("etc/.wh..")).toBeUndefined();
  });
});
