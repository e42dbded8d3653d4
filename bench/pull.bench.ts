// Cold image pulls, skiff vs containerd: two kinds of image from the same
// local registry, both stores cold (a fresh root for every pull), the same CRI
// client, alternating runtimes sample by sample in one run:
// - many small files: 4 layers, 25,000 files of 4 KiB (~100 MB);
// - few large layers: 3 layers of 100 MB of incompressible data.
// The daemon's RSS is sampled every 20 ms while it pulls (its peak against its
// idle RSS just before, and what it holds 7 s after the pull: skiff's unpack
// workers end after 5 s idle).

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildImage, type LayerEntry } from "../test/support/oci-image.js";
import { TestRegistry } from "../test/e2e/harness/registry.js";
import type { CriClient } from "../test/e2e/harness/cri-client.js";
import { TestContainerd } from "./harness/containerd.js";
import { report } from "./harness/report.js";
import { rssOf } from "./harness/rss.js";
import { startSkiff } from "./harness/skiff.js";
import { inTurn, ratio, summary, timed } from "./harness/stats.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MB = 1024 * 1024;

interface Kind {
  name: string;
  describe: string;
  layers: LayerEntry[][];
  ref?: string;
  bytes?: number;
}

const kinds: Kind[] = [
  {
    name: "small-files",
    describe: "4 layers, 25,000 files of 4 KiB",
    layers: Array.from({ length: 4 }, (_, l) => Array.from({ length: 6250 }, (_, f): LayerEntry => ({ type: "file", path: `/data/l${l}/d${f % 50}/f${f}`, content: randomBytes(4096) }))),
  },
  {
    name: "large-layers",
    describe: "3 layers of 100 MB incompressible",
    layers: Array.from({ length: 3 }, (_, l): LayerEntry[] => [{ type: "file", path: `/blob${l}`, content: randomBytes(100 * MB) }]),
  },
];

let reg: TestRegistry;

beforeAll(async () => {
  reg = await TestRegistry.start();
  for (const k of kinds) {
    const img = await buildImage({ layers: k.layers });
    k.bytes = img.layers.reduce((n, x) => n + x.size, 0);
    k.ref = await reg.push(`bench/${k.name}`, "v1", img);
    k.layers = []; // the contents are in the registry now
  }
});

afterAll(async () => {
  await reg?.stop();
});

/** Pulls `ref`, sampling the daemon's RSS meanwhile: ms, idle RSS before, peak during, RSS 7 s after (MB). */
async function measuredPull(client: CriClient, pid: number, ref: string) {
  const idle = await rssOf(pid);
  let peak = idle;
  let pulling = true;
  const sampler = (async () => {
    while (pulling) {
      peak = Math.max(peak, await rssOf(pid).catch(() => 0));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const { ms, value } = await timed(() => client.image.PullImage({ image: { image: ref } }));
  pulling = false;
  await sampler;
  expect(value.image_ref).toMatch(/^sha256:/);
  await new Promise((r) => setTimeout(r, 7000));
  const after = await rssOf(pid);
  return { ms, idle: idle / MB, peak: peak / MB, after: after / MB };
}

it(`cold pulls of two kinds of image, skiff vs containerd (${ROUNDS} rounds)`, async () => {
  type Sample = Awaited<ReturnType<typeof measuredPull>>;
  const samples = new Map<string, { skiff: Sample[]; containerd: Sample[] }>(kinds.map((k) => [k.name, { skiff: [], containerd: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of kinds) {
      const pullSkiff = async () => {
        const { d } = await startSkiff();
        try {
          samples.get(k.name)!.skiff.push(await measuredPull(d.client, d.pid!, k.ref!));
        } finally {
          await d.cleanup();
        }
      };
      const pullContainerd = async () => {
        const c = await TestContainerd.start({ registries: [reg.host] });
        try {
          samples.get(k.name)!.containerd.push(await measuredPull(c.client, c.pid!, k.ref!));
        } finally {
          await c.stop();
        }
      };
      // Alternate who goes first, round by round.
      for (const pull of inTurn(round, [pullSkiff, pullContainerd])) await pull();
    }
  }
  const rows = kinds.map((k) => {
    const { skiff, containerd } = samples.get(k.name)!;
    const s = summary(skiff.map((x) => x.ms));
    const c = summary(containerd.map((x) => x.ms));
    const mem = (xs: Sample[]) => ({ idle: summary(xs.map((x) => x.idle)).p50, peak: Math.max(...xs.map((x) => x.peak)), after: summary(xs.map((x) => x.after)).p50 });
    return { kind: k.name, describe: k.describe, compressedBytes: k.bytes, skiff: { ...s, rssMB: mem(skiff) }, containerd: { ...c, rssMB: mem(containerd) }, ratioP50: Number(ratio(s.p50, c.p50)) };
  });
  await report(
    "pull",
    { rounds: ROUNDS, images: rows },
    rows.flatMap((r) => [
      `${r.kind} (${r.describe}, ${(r.compressedBytes! / 1e6).toFixed(0)} MB compressed), ${ROUNDS} cold pulls each:`,
      `  skiff      p50 ${r.skiff.p50.toFixed(0)} ms (min ${r.skiff.min.toFixed(0)}, max ${r.skiff.max.toFixed(0)}); RSS idle ${r.skiff.rssMB.idle.toFixed(0)} MB, peak ${r.skiff.rssMB.peak.toFixed(0)}, 7 s after ${r.skiff.rssMB.after.toFixed(0)}`,
      `  containerd p50 ${r.containerd.p50.toFixed(0)} ms (min ${r.containerd.min.toFixed(0)}, max ${r.containerd.max.toFixed(0)}); RSS idle ${r.containerd.rssMB.idle.toFixed(0)} MB, peak ${r.containerd.rssMB.peak.toFixed(0)}, 7 s after ${r.containerd.rssMB.after.toFixed(0)}`,
      `  skiff / containerd (p50): ${r.ratioP50}; skiff's peak / idle RSS: ${(r.skiff.rssMB.peak / r.skiff.rssMB.idle).toFixed(2)}`,
    ]),
  );
});
