// cri-tools' own benchmark suite, `critest -benchmark`, run against skiff and
// containerd on this machine in one run: the same critest binary, registry
// (on 127.0.0.1), images and sample counts; the runtimes take turns, round
// after round. critest writes each operation's duration per sample as JSON
// (container, pod, image lifecycle and listing); this reads them and reports
// p50 and p95 per operation and the ratios. 100 samples per operation and
// round, as cri-tools' benchmark docs set containersNumber; the first 20 of
// the first round, taken on a daemon just started, are also reported apart:
// a JavaScript daemon's code runs slower until V8 has compiled its hot paths.
// critest is not part of skiff: build it yourself (see the README) and name
// it in BENCH_CRITEST, or this skips.
//   BENCH_CRITEST=/path/to/critest npx vitest run --config bench/vitest.config.ts bench/critest.bench.ts

import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { buildImage } from "../test/support/oci-image.js";
import { fixtureDir } from "../test/e2e/harness/run-dir.js";
import { TestContainerd, writeBridgeConflist } from "./harness/containerd.js";
import { useBenchImages } from "./harness/pods.js";
import { report } from "./harness/report.js";
import { startSkiff } from "./harness/skiff.js";
import { inTurn, percentile, ratio } from "./harness/stats.js";

const CRITEST = process.env.BENCH_CRITEST;
const ROUNDS = Number(process.env.BENCH_CRITEST_ROUNDS ?? 2);
const SAMPLES = Number(process.env.BENCH_CRITEST_SAMPLES ?? 100);
/** The samples of the first round reported apart, as a just-started daemon's. */
const FRESH = 20;

const images = useBenchImages();

interface ResultsSet {
  operationsNames: string[];
  datapoints: { sampleIndex: number; operationsDurationsNs: number[] }[];
}

/** Per operation, each sample's duration in ms and its index in critest's run. */
type Samples = Map<string, { ms: number; index: number }[]>;

/** Runs critest -benchmark against one socket; resolves to its samples per operation, in ms. */
async function critestBenchmark(socket: string, dir: string, paramsFile: string, imagesFile: string, seed: number): Promise<Samples> {
  const out = path.join(dir, "out");
  const args = [
    "--runtime-endpoint", `unix://${socket}`, "--image-endpoint", `unix://${socket}`,
    "-benchmark", "--benchmarking-params-file", paramsFile, "--benchmarking-output-dir", out, "--test-images-file", imagesFile,
    "--ginkgo.no-color",
    // Ginkgo shuffles the specs; both runtimes of a round run them in one order.
    `--ginkgo.seed=${seed}`,
  ];
  await mkdir(out, { recursive: true });
  const log = createWriteStream(path.join(dir, "critest.log"));
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(CRITEST!, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on("error", reject);
    child.on("close", (c) => log.end(() => resolve(c)));
  });
  if (code !== 0) throw new Error(`critest -benchmark failed (exit ${code}); see ${path.join(dir, "critest.log")}`);
  const samples: Samples = new Map();
  for (const file of (await readdir(out)).filter((f) => f.endsWith(".json")).sort()) {
    const set = JSON.parse(await readFile(path.join(out, file), "utf8")) as ResultsSet;
    const add = (op: string, ms: number, index: number) => samples.set(op, [...(samples.get(op) ?? []), { ms, index }]);
    const [create, start] = [set.operationsNames.indexOf("CreateContainer"), set.operationsNames.indexOf("StartContainer")];
    for (const d of set.datapoints) {
      set.operationsNames.forEach((op, i) => add(op, d.operationsDurationsNs[i]! / 1e6, d.sampleIndex));
      // containerd runs the OCI runtime's create in StartContainer, skiff in CreateContainer: the sum compares like with like.
      if (create >= 0 && start >= 0) add("Create+StartContainer", (d.operationsDurationsNs[create]! + d.operationsDurationsNs[start]!) / 1e6, d.sampleIndex);
    }
  }
  return samples;
}

it.skipIf(!CRITEST)(`critest -benchmark, skiff vs containerd (${ROUNDS} rounds of ${SAMPLES} samples each)`, async () => {
  // Pulled, listed and removed by the image benchmarks.
  const listing = [];
  for (const tag of ["1", "2", "3"]) listing.push(await images.reg.push("bench/listing", tag, await buildImage({ layers: [[{ type: "file", path: `tag-${tag}`, content: tag }]] })));
  const dir = await fixtureDir("critest-bench");
  const paramsFile = path.join(dir, "params.yaml");
  await writeFile(
    paramsFile,
    [
      `containersNumber: ${SAMPLES}`, "containersNumberParallel: 1", "containerBenchmarkTimeoutSeconds: 600",
      `podsNumber: ${SAMPLES}`, "podsNumberParallel: 1", "podBenchmarkTimeoutSeconds: 600",
      `imagesNumber: ${SAMPLES}`, "imagesNumberParallel: 1", "imageBenchmarkTimeoutSeconds: 600",
      `imagePullingBenchmarkImage: ${listing[0]}`,
      "imageListingBenchmarkImages:", ...listing.map((l) => `  - ${l}`),
      "",
    ].join("\n"),
  );
  const imagesFile = path.join(dir, "images.yaml");
  await writeFile(imagesFile, `defaultTestContainerImage: ${images.busybox}\nwebServerTestImage: ${images.busybox}\n`);

  const cniDir = path.join(dir, "cni");
  await mkdir(cniDir);
  await writeBridgeConflist(cniDir, "skt247", "10.231.247.0/24");
  const { d, handler } = await startSkiff();
  let c: TestContainerd | undefined;
  const all = { skiff: new Map<string, number[]>(), containerd: new Map<string, number[]>() };
  const fresh = { skiff: new Map<string, number[]>(), containerd: new Map<string, number[]>() };
  try {
    c = await TestContainerd.start({ registries: [images.reg.host], cniConfDir: cniDir, sandboxImage: images.pauseRef });
    const sides = [
      { label: "skiff" as const, socket: d.socket, client: d.client },
      { label: "containerd" as const, socket: c.socket, client: c.client },
    ] as const;
    for (let round = 0; round < ROUNDS; round++) {
      // Both sides of a round run the specs in one order.
      const seed = 1 + Math.floor(Math.random() * 1e6);
      // Alternate who goes first: a machine that slows down over the run weighs on both alike.
      for (const side of inTurn(round, sides)) {
        // The image benchmark's image sits on busybox's layer. Pulled here, it is
        // there whatever the spec order: else the container specs pull it in
        // some rounds and not in others, each pull of the image benchmark then
        // unpacks busybox (~6x slower on either runtime), and a p50 over the
        // two kinds of round lands in the gap between them.
        await side.client.image.PullImage({ image: { image: images.busybox } });
        const samples = await critestBenchmark(side.socket, await fixtureDir(`cb-${side.label}-${round}`), paramsFile, imagesFile, seed);
        for (const [op, list] of samples) {
          all[side.label].set(op, [...(all[side.label].get(op) ?? []), ...list.map((x) => x.ms)]);
          if (round === 0) fresh[side.label].set(op, list.filter((x) => x.index < FRESH).map((x) => x.ms));
        }
      }
    }
  } finally {
    await c?.stop();
    await d.cleanup();
  }
  const ops = [...all.skiff.keys()].filter((op) => all.containerd.has(op));
  expect(ops.length).toBeGreaterThan(10);
  const rows = ops.map((op) => {
    const s = all.skiff.get(op)!;
    const k = all.containerd.get(op)!;
    const [fs, fk] = [fresh.skiff.get(op) ?? [], fresh.containerd.get(op) ?? []];
    return {
      op,
      samples: s.length,
      skiff: { p50: percentile(s, 50), p95: percentile(s, 95) },
      containerd: { p50: percentile(k, 50), p95: percentile(k, 95) },
      freshDaemon: { samples: Math.min(fs.length, fk.length), skiffP50: percentile(fs, 50), containerdP50: percentile(fk, 50) },
    };
  });
  const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 1);
  await report("critest-benchmark", { rounds: ROUNDS, samplesPerRound: SAMPLES, skiffHandler: handler, containerdHandler: "runc", operations: rows }, [
    `critest -benchmark, ${ROUNDS} rounds x ${SAMPLES} samples; skiff on ${handler}, containerd on runc; ms`,
    "operation            skiff p50 / p95      containerd p50 / p95   ratio p50 (p95)",
    ...rows.map((r) => `${r.op.padEnd(20)} ${`${fmt(r.skiff.p50)} / ${fmt(r.skiff.p95)}`.padEnd(20)} ${`${fmt(r.containerd.p50)} / ${fmt(r.containerd.p95)}`.padEnd(22)} ${ratio(r.skiff.p50, r.containerd.p50)} (${ratio(r.skiff.p95, r.containerd.p95)})`),
    `the first ${FRESH} samples of round 1 (skiff just started): p50 skiff / containerd, ms, and the ratio`,
    ...rows.map((r) => `${r.op.padEnd(20)} ${`${fmt(r.freshDaemon.skiffP50)} / ${fmt(r.freshDaemon.containerdP50)}`.padEnd(20)} ${ratio(r.freshDaemon.skiffP50, r.freshDaemon.containerdP50)}`),
  ]);
});
