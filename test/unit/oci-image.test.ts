// The test image builder: manifests must describe their blobs exactly, or every
// image test downstream would be testing the builder instead of skiff.

import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";
import { describe, expect, it } from "vitest";
import { buildImage, buildIndex, MEDIA, tarOf, type BuiltImage } from "../support/oci-image.js";

const hex = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function tarNames(tar: Buffer): Promise<Map<string, { type: string; linkname?: string | null }>> {
  const out = new Map<string, { type: string; linkname?: string | null }>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      out.set(h.name, { type: h.type ?? "file", linkname: h.linkname });
      stream.on("end", next);
      stream.resume();
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  ex.end(tar);
  await done;
  return out;
}

function checkBlobs(img: BuiltImage) {
  const manifest = JSON.parse(img.manifest.data.toString());
  expect(img.manifest.digest).toBe(hex(img.manifest.data));
  expect(manifest.config).toEqual({ mediaType: img.config.mediaType, digest: hex(img.config.data), size: img.config.data.length });
  expect(manifest.layers).toHaveLength(img.layers.length);
  img.layers.forEach((layer, i) => {
    expect(manifest.layers[i]).toEqual({ mediaType: layer.mediaType, digest: hex(layer.data), size: layer.data.length });
  });
  return manifest;
}

describe("test image builder", () => {
  it("builds an OCI image whose manifest digests and sizes match its blobs", async () => {
    const img = await buildImage({ config: { Cmd: ["sh"] }, layers: [[{ type: "file", path: "/hello.txt", content: "hi" }]] });
    const manifest = checkBlobs(img);
    expect(manifest.mediaType).toBe(MEDIA.oci.manifest);
    expect(img.layers.map((l) => l.mediaType)).toEqual([MEDIA.oci.layer.gzip, MEDIA.oci.layer.gzip]);
    const config = JSON.parse(img.config.data.toString());
    // diff_ids are digests of the uncompressed tars
    expect(config.rootfs.diff_ids).toEqual(img.layers.map((l) => hex(gunzipSync(l.data))));
    expect(config.config.Cmd).toEqual(["sh"]);
    expect(config.os).toBe("linux");
    expect(config.architecture).toBe("amd64");
  });

  it("puts busybox, its applet links and the users into the base layer", async () => {
    const img = await buildImage({ users: ["alice:x:1000:1000::/home/alice:/bin/sh"], groups: ["devs:x:2000:alice"] });
    const names = await tarNames(gunzipSync(img.layers[0]!.data));
    expect(names.get("bin/busybox")?.type).toBe("file");
    expect(names.get("bin/sh")).toEqual({ type: "symlink", linkname: "/bin/busybox" });
    expect(names.has("etc/passwd")).toBe(true);
    expect(names.get("tmp/")?.type).toBe("directory");
  });

  it("builds Docker schema2 images with uncompressed layers", async () => {
    const img = await buildImage({ format: "docker", compression: "none" });
    const manifest = checkBlobs(img);
    expect(manifest.mediaType).toBe(MEDIA.docker.manifest);
    expect(img.config.mediaType).toBe(MEDIA.docker.config);
    const config = JSON.parse(img.config.data.toString());
    expect(config.rootfs.diff_ids).toEqual([hex(img.layers[0]!.data)]);
  });

  it("builds zstd layers for OCI and refuses them for Docker", async () => {
    const img = await buildImage({ compression: "zstd", base: false, layers: [[{ type: "file", path: "a", content: "a" }]] });
    checkBlobs(img);
    expect(img.layers[0]!.mediaType).toBe(MEDIA.oci.layer.zstd);
    expect(img.layers[0]!.data.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])); // zstd magic
    await expect(buildImage({ format: "docker", compression: "zstd" })).rejects.toThrow(/no media type/);
  });

  it("writes whiteouts and opaque markers in their tar form", async () => {
    const tar = await tarOf([
      { type: "whiteout", path: "/etc/motd" },
      { type: "opaque", path: "/var/cache" },
      { type: "hardlink", path: "/b", target: "/a" },
    ]);
    const names = await tarNames(tar);
    expect([...names.keys()]).toEqual(["etc/.wh.motd", "var/cache/.wh..wh..opq", "b"]);
    expect(names.get("b")).toEqual({ type: "link", linkname: "a" });
  });

  it("is reproducible and builds indexes over several platforms", async () => {
    const a = await buildImage({ base: false, layers: [[{ type: "file", path: "x", content: "1" }]] });
    const b = await buildImage({ base: false, layers: [[{ type: "file", path: "x", content: "1" }]] });
    expect(a.manifest.digest).toBe(b.manifest.digest);
    const arm = await buildImage({ base: false, architecture: "arm64", variant: "v8", layers: [[{ type: "file", path: "x", content: "2" }]] });
    const index = buildIndex([a, arm]);
    const doc = JSON.parse(index.data.toString());
    expect(index.digest).toBe(hex(index.data));
    expect(doc.mediaType).toBe(MEDIA.oci.index);
    expect(doc.manifests).toEqual([
      { mediaType: MEDIA.oci.manifest, digest: a.manifest.digest, size: a.manifest.size, platform: { architecture: "amd64", os: "linux" } },
      { mediaType: MEDIA.oci.manifest, digest: arm.manifest.digest, size: arm.manifest.size, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
    ]);
  });
});
