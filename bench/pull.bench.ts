// Image pull time, skiff vs containerd: a ~100 MB image of five layers with many
// small files, from the same local registry, both stores cold (a fresh root
// for every pull), the same CRI client, alternating rounds in one run.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildImage, type LayerEntry } from "../test/support/oci-image.js";
import { TestRegistry } from "../test/e2e/harness/registry.js";
import { TestContainerd } from "./harness/containerd.js";
import { report } from "./harness/report.js";
import { startSkiff } from "./harness/skiff.js";
import { ratio, summary, timed } from "./harness/stats.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LAYERS = 5;
const FILES_PER_LAYER = 2000;
const FILE_BYTES = 10 * 1024;

let reg: TestRegistry;
let ref: string;
let bytes = 0;

beforeAll(async () => {
  reg = await TestRegistry.start();
  const layers: LayerEntry[][] = [];
  for (let l = 0; l < LAYERS; l++) {
    const entries: LayerEntry[] = [];
    for (let f = 0; f < FILES_PER_LAYER; f++) {
      entries.push({ type: "file", path: `/data/l${l}/d${f % 50}/f${f}`, content: randomBytes(FILE_BYTES) });
    }
    layers.push(entries);
  }
  const img = await buildImage({ layers });
  bytes = img.layers.reduce((n, x) => n + x.size, 0);
  ref = await reg.push("bench/big", "v1", img);
});

afterAll(async () => {
  await reg?.stop();
});

it("pulls a ~100 MB many-file image: skiff vs containerd", async () => {
  const skiff: number[] = [];
  const containerd: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { d } = await startSkiff();
    try {
      const { ms, value } = await timed(() => d.client.image.PullImage({ image: { image: ref } }));
      expect(value.image_ref).toMatch(/^sha256:/);
      skiff.push(ms);
    } finally {
      await d.cleanup();
    }
    const c = await TestContainerd.start({ registries: [reg.host] });
    try {
      const { ms, value } = await timed(() => c.client.image.PullImage({ image: { image: ref } }));
      expect(value.image_ref).toMatch(/^sha256:/);
      containerd.push(ms);
    } finally {
      await c.stop();
    }
  }
  const s = summary(skiff);
  const c = summary(containerd);
  await report(
    "pull",
    { image: { layers: LAYERS, files: LAYERS * FILES_PER_LAYER, compressedBytes: bytes }, skiff: s, containerd: c, ratioP50: Number(ratio(s.p50, c.p50)) },
    [
      `image: ${LAYERS} layers, ${LAYERS * FILES_PER_LAYER} files, ${(bytes / 1e6).toFixed(0)} MB compressed; ${ROUNDS} cold pulls each`,
      `skiff      p50 ${s.p50.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`,
      `containerd p50 ${c.p50.toFixed(0)} ms (min ${c.min.toFixed(0)}, max ${c.max.toFixed(0)})`,
      `skiff / containerd (p50): ${ratio(s.p50, c.p50)}`,
    ],
  );
});
