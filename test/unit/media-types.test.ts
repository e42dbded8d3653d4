import { describe, expect, it } from "vitest";
import { SkiffError } from "../../src/errors.js";
import { MediaType, parseImageConfig, parseManifest, pickPlatform, type ImageIndex } from "../../src/image-service/media-types.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const buf = (o: unknown) => Buffer.from(JSON.stringify(o));

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as SkiffError).kind + ": " + (err as Error).message;
  }
  return "ok";
}

describe("manifest parsing", () => {
  it("parses OCI and Docker manifests with their layer compression", () => {
    const m = parseManifest(
      buf({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: d("c"), size: 10 },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d("1"), size: 1 },
          { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: d("2"), size: 2 },
          { mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: d("3"), size: 3 },
        ],
      }),
      "",
      "x",
    );
    expect(m.kind).toBe("manifest");
    if (m.kind === "manifest") expect(m.layers.map((l) => l.compression)).toEqual(["gzip", "zstd", "none"]);
  });

  it("uses Content-Type when the document has no mediaType", () => {
    const idx = parseManifest(buf({ schemaVersion: 2, manifests: [{ digest: d("a"), size: 5, platform: { os: "linux", architecture: "amd64" } }] }), `${MediaType.ociIndex}; charset=utf-8`, "x");
    expect(idx.kind).toBe("index");
  });

  it.each([
    ["schema 1", { schemaVersion: 1, name: "x", fsLayers: [] }, /schema 1 manifests are not supported/],
    ["not JSON", "{", /not valid JSON/],
    ["bad digest", { mediaType: MediaType.ociManifest, config: { digest: "sha256:zz", size: 1 }, layers: [] }, /config has no sha256 digest/],
    ["negative size", { mediaType: MediaType.ociManifest, config: { digest: d("c"), size: -1 }, layers: [] }, /config has no valid size/],
    ["unknown layer type", { mediaType: MediaType.ociManifest, config: { digest: d("c"), size: 1 }, layers: [{ mediaType: "text/plain", digest: d("1"), size: 1 }] }, /unsupported media type "text\/plain"/],
    ["unknown kind", { mediaType: "application/x-nothing" }, /unsupported manifest media type/],
  ])("refuses %s with FAILED_PRECONDITION", (_what, doc, message) => {
    const out = kindOf(() => parseManifest(typeof doc === "string" ? Buffer.from(doc) : buf(doc), "", "img"));
    expect(out).toMatch(/^failed-precondition: img: /);
    expect(out).toMatch(message);
  });

  it("requires valid diff_ids in the config", () => {
    expect(kindOf(() => parseImageConfig(buf({ rootfs: { diff_ids: ["nope"] } }), "img"))).toMatch(/no valid rootfs.diff_ids/);
    expect(parseImageConfig(buf({ rootfs: { type: "layers", diff_ids: [d("1")] } }), "img").rootfs.diff_ids).toEqual([d("1")]);
  });
});

describe("platform selection", () => {
  const entry = (architecture: string, variant?: string, os = "linux") => ({ mediaType: MediaType.ociManifest, digest: d(architecture.length.toString(16)[0]!), size: 1, platform: { os, architecture, variant } });
  const index = (...m: ReturnType<typeof entry>[]): ImageIndex => ({ kind: "index", mediaType: MediaType.ociIndex, manifests: m });

  it("matches os and architecture", () => {
    const amd = entry("amd64");
    expect(pickPlatform(index(entry("arm64", "v8"), entry("amd64", undefined, "windows"), amd), { os: "linux", architecture: "amd64" })).toBe(amd);
    expect(pickPlatform(index(entry("arm64", "v8")), { os: "linux", architecture: "amd64" })).toBeUndefined();
  });

  it("prefers the exact variant and treats a missing arm64 variant as v8", () => {
    const v7 = { ...entry("arm", "v7"), digest: d("7") };
    const v6 = { ...entry("arm", "v6"), digest: d("6") };
    expect(pickPlatform(index(v6, v7), { os: "linux", architecture: "arm", variant: "v7" })).toBe(v7);
    const bare = entry("arm64");
    expect(pickPlatform(index(bare), { os: "linux", architecture: "arm64", variant: "v8" })).toBe(bare);
  });
});
