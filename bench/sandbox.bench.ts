// RunPodSandbox latency, skiff vs containerd: 20 sequential pods and 5 batches
// of 10 parallel ones on each, the runtimes taking turns, the same CNI plugins
// (bridge + host-local + portmap), the same client, in one run. containerd
// starts a pause container per pod; its pause image is built here from the
// host's static catatonit and pushed to a local registry, then pulled before
// timing starts. skiff pods are created as kubelet creates ordinary pods (PID
// namespace per container: no infra process). After each pair of samples the
// CNI plugins alone (harness/cni-floor.ts) take one of their own: the floor
// under both runtimes' times.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, it } from "vitest";
import type { CriClient } from "../test/e2e/harness/cri-client.js";
import { podConfig } from "../test/e2e/harness/pods.js";
import { TestRegistry } from "../test/e2e/harness/registry.js";
import { fixtureDir } from "../test/e2e/harness/run-dir.js";
import { CniFloor } from "./harness/cni-floor.js";
import { buildPauseImage, TestContainerd, writeBridgeConflist } from "./harness/containerd.js";
import { report } from "./harness/report.js";
import { startSkiff } from "./harness/skiff.js";
import { inTurn, ratio, summary, timed } from "./harness/stats.js";

const SEQUENTIAL = Number(process.env.BENCH_PODS ?? 20);
const PARALLEL = 10;
/** Batches of PARALLEL: one batch is a single sample of the machine's state, which drifts. */
const PARALLEL_ROUNDS = Number(process.env.BENCH_PARALLEL_ROUNDS ?? 5);

let reg: TestRegistry;
let pauseRef: string;

beforeAll(async () => {
  reg = await TestRegistry.start();
  const pause = await buildPauseImage();
  pauseRef = await reg.push("bench/pause", "3.10", pause);
});

afterAll(async () => {
  await reg?.stop();
});

interface Side {
  label: string;
  client: CriClient;
}

/** Both runtimes up, each sample taken on one and then the other, then one of the plugins alone. */
async function measure(sides: [Side, Side], floor: CniFloor) {
  const sequential = new Map<Side, number[]>(sides.map((s) => [s, []]));
  const parallel = new Map<Side, number[]>(sides.map((s) => [s, []]));
  const teardown = new Map<Side, number[]>(sides.map((s) => [s, []]));
  const ids = new Map<Side, string[]>(sides.map((s) => [s, []]));
  const plugins = { sequential: [] as number[], parallel: [] as number[], teardown: [] as number[], handles: [] as string[] };
  for (let i = 0; i < SEQUENTIAL; i++) {
    for (const side of inTurn(i, sides)) {
      const { ms, value } = await timed(() => side.client.runtime.RunPodSandbox({ config: podConfig(`${side.label}-s${i}`) }));
      sequential.get(side)!.push(ms);
      ids.get(side)!.push(value.pod_sandbox_id);
    }
    const added = await floor.add();
    plugins.sequential.push(added.ms);
    plugins.handles.push(added.handle);
  }
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    for (const side of inTurn(round, sides)) {
      const batch = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => timed(() => side.client.runtime.RunPodSandbox({ config: podConfig(`${side.label}-p${round}-${i}`) }))));
      parallel.get(side)!.push(...batch.map((b) => b.ms));
      ids.get(side)!.push(...batch.map((b) => b.value.pod_sandbox_id));
    }
    const batch = await Promise.all(Array.from({ length: PARALLEL }, () => floor.add()));
    plugins.parallel.push(...batch.map((b) => b.ms));
    plugins.handles.push(...batch.map((b) => b.handle));
  }
  for (let i = 0; i < SEQUENTIAL + PARALLEL * PARALLEL_ROUNDS; i++) {
    for (const side of inTurn(i, sides)) {
      const id = ids.get(side)![i]!;
      const { ms } = await timed(async () => {
        await side.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
        await side.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
      });
      teardown.get(side)!.push(ms);
    }
    plugins.teardown.push(await floor.del(plugins.handles[i]!));
  }
  const runtimes = new Map(sides.map((s) => [s.label, { sequential: summary(sequential.get(s)!), parallel: summary(parallel.get(s)!), teardown: summary(teardown.get(s)!) }]));
  return { runtimes, plugins: { sequential: summary(plugins.sequential), parallel: summary(plugins.parallel), teardown: summary(plugins.teardown) } };
}

it("RunPodSandbox: skiff vs containerd", async () => {
  const cniDir = await fixtureDir("ctdcni");
  const conflist = await writeBridgeConflist(cniDir, "skt250", "10.231.250.0/24");
  const floor = await CniFloor.open(conflist);
  const { d } = await startSkiff();
  let c: TestContainerd | undefined;
  let measured: Awaited<ReturnType<typeof measure>>;
  try {
    // one warm-up pod on each creates its bridge, as the first pod of a node does
    const warm = await d.client.runtime.RunPodSandbox({ config: podConfig(`warm-${randomBytes(2).toString("hex")}`) });
    await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: warm.pod_sandbox_id });
    c = await TestContainerd.start({ registries: [reg.host], cniConfDir: cniDir, sandboxImage: pauseRef });
    await c.client.image.PullImage({ image: { image: pauseRef } });
    const ctWarm = await c.client.runtime.RunPodSandbox({ config: podConfig("warm") });
    await c.client.runtime.StopPodSandbox({ pod_sandbox_id: ctWarm.pod_sandbox_id });
    await c.client.runtime.RemovePodSandbox({ pod_sandbox_id: ctWarm.pod_sandbox_id });
    measured = await measure(
      [
        { label: "skiff", client: d.client },
        { label: "ctd", client: c.client },
      ],
      floor,
    );
  } finally {
    await floor.cleanup();
    await c?.stop();
    await d.cleanup();
  }
  const skiff = measured.runtimes.get("skiff")!;
  const containerd = measured.runtimes.get("ctd")!;
  const plugins = measured.plugins;
  // The lowest ratios a runtime that waits for its plugins could reach here.
  const floorRatios = {
    pluginsSequentialP50: Number(ratio(plugins.sequential.p50, containerd.sequential.p50)),
    pluginsParallelP50: Number(ratio(plugins.parallel.p50, containerd.parallel.p50)),
    pluginsTeardownP50: Number(ratio(plugins.teardown.p50, containerd.teardown.p50)),
  };

  const row = (name: string, k: "sequential" | "parallel" | "teardown") =>
    `${name.padEnd(28)} skiff p50 ${skiff[k].p50.toFixed(1)} / p95 ${skiff[k].p95.toFixed(1)} ms   containerd p50 ${containerd[k].p50.toFixed(1)} / p95 ${containerd[k].p95.toFixed(1)} ms   ratio p50 ${ratio(skiff[k].p50, containerd[k].p50)}, p95 ${ratio(skiff[k].p95, containerd[k].p95)}`;
  await report(
    "sandbox",
    {
      skiff,
      containerd,
      ratios: {
        sequentialP50: Number(ratio(skiff.sequential.p50, containerd.sequential.p50)),
        sequentialP95: Number(ratio(skiff.sequential.p95, containerd.sequential.p95)),
        parallelP50: Number(ratio(skiff.parallel.p50, containerd.parallel.p50)),
        teardownP50: Number(ratio(skiff.teardown.p50, containerd.teardown.p50)),
        ...floorRatios,
      },
      plugins,
    },
    [
      row(`RunPodSandbox x${SEQUENTIAL} sequential`, "sequential"),
      row(`RunPodSandbox x${PARALLEL} parallel (x${PARALLEL_ROUNDS})`, "parallel"),
      row("Stop+RemovePodSandbox", "teardown"),
      `the CNI plugins alone (containerd's conflist, no runtime): ADD p50 ${plugins.sequential.p50.toFixed(1)} ms, ${PARALLEL} in parallel ${plugins.parallel.p50.toFixed(1)} ms, DEL ${plugins.teardown.p50.toFixed(1)} ms`,
      `  as a share of containerd's RunPodSandbox / parallel / Stop+Remove: ${floorRatios.pluginsSequentialP50.toFixed(2)} / ${floorRatios.pluginsParallelP50.toFixed(2)} / ${floorRatios.pluginsTeardownP50.toFixed(2)} (the floor under skiff's ratios)`,
    ],
  );
});
