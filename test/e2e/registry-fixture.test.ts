// The registry fixture and the image builder that every image test relies on:
// an image pushed to the real registry must come back byte for byte.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, buildIndex, MEDIA } from "../support/oci-image.js";
import { TestRegistry } from "./harness/registry.js";

const sha = (b: ArrayBuffer) => `sha256:${createHash("sha256").update(Buffer.from(b)).digest("hex")}`;

describe("registry fixture", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await TestRegistry.start();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("listens on 127.0.0.1 and speaks the v2 API", async () => {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
  });

  it.each([
    ["oci", "gzip"],
    ["docker", "none"],
  ] as const)("serves a pushed %s image (%s layers): manifest by tag, blobs by digest", async (format, compression) => {
    const img = await buildImage({ format, compression, config: { Cmd: ["echo", "hi"] } });
    const ref = await reg.push(`test/${format}`, "v1", img);
    expect(ref).toBe(`${reg.host}/test/${format}:v1`);

    const res = await fetch(`${reg.url}/v2/test/${format}/manifests/v1`, { headers: { accept: img.manifest.mediaType } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(img.manifest.mediaType);
    expect(res.headers.get("docker-content-digest")).toBe(img.manifest.digest);
    const body = await res.arrayBuffer();
    expect(sha(body)).toBe(img.manifest.digest);

    const manifest = JSON.parse(Buffer.from(body).toString());
    for (const desc of [manifest.config, ...manifest.layers]) {
      const blob = await fetch(`${reg.url}/v2/test/${format}/blobs/${desc.digest}`);
      expect(blob.status).toBe(200);
      const data = await blob.arrayBuffer();
      expect(data.byteLength).toBe(desc.size);
      expect(sha(data)).toBe(desc.digest);
    }
  });

  it("serves a multi-platform index whose entries resolve by digest", async () => {
    const amd = await buildImage({ base: false, layers: [[{ type: "file", path: "arch", content: "amd64" }]] });
    const arm = await buildImage({ base: false, architecture: "arm64", layers: [[{ type: "file", path: "arch", content: "arm64" }]] });
    const index = buildIndex([amd, arm]);
    await reg.pushIndex("test/multi", "latest", index, [amd, arm]);
    const res = await fetch(`${reg.url}/v2/test/multi/manifests/latest`, { headers: { accept: MEDIA.oci.index } });
    expect(res.headers.get("docker-content-digest")).toBe(index.digest);
    const doc = JSON.parse(await res.text());
    for (const m of doc.manifests) {
      const r = await fetch(`${reg.url}/v2/test/multi/manifests/${m.digest}`, { headers: { accept: m.mediaType } });
      expect(r.status).toBe(200);
      expect(sha(await r.arrayBuffer())).toBe(m.digest);
    }
  });
});
