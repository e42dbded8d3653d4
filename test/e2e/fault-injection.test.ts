// Crash consistency under churn: several workers create, start, stop and
// remove pods and containers while the daemon is killed (-9) at random points,
// round after round. After every restart, whatever a call acknowledged is there
// (in a state the runtime agrees with) and whatever a removal acknowledged is
// gone; at the end nothing is left on the host.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { busyboxImage, containerConfig } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { mountsUnder } from "./harness/mounts.js";
import { podConfig, removeAllPods } from "./harness/pods.js";
import { processesMentioning, waitFor } from "./harness/processes.js";
import { TestRegistry } from "./harness/registry.js";

const ROUNDS = 12;
const WORKERS = 3;

/** What the calls that returned OK say must exist. */
interface Acknowledged {
  pods: Set<string>;
  containers: Map<string, string>; // container id -> pod id
  removedPods: Set<string>;
  removedContainers: Set<string>;
  /** A removal was asked for: until it is acknowledged, either outcome is right. */
  removing: Set<string>;
}

/** One worker's churn until `stop` is set; every OK is noted before the next call. */
async function churn(d: TestDaemon, image: string, worker: number, round: number, ack: Acknowledged, stop: { now: boolean }): Promise<void> {
  for (let i = 0; !stop.now; i++) {
    const name = `churn-${round}-${worker}-${i}`;
    const config = podConfig(name);
    const { pod_sandbox_id: pod } = await d.client.runtime.RunPodSandbox({ config });
    ack.pods.add(pod);
    const { container_id: id } = await d.client.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig("c", image, { command: ["sh", "-c", i % 2 ? "sleep 300" : "exit 0"] }), sandbox_config: config });
    ack.containers.set(id, pod);
    await d.client.runtime.StartContainer({ container_id: id });
    if (i % 3 === 2) continue; // some pods stay, with a running or exited container
    await d.client.runtime.StopContainer({ container_id: id, timeout: "0" });
    ack.removing.add(id);
    await d.client.runtime.RemoveContainer({ container_id: id });
    ack.removedContainers.add(id);
    ack.removing.add(pod);
    await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
    ack.removedPods.add(pod);
  }
}

async function runtimeStateIds(d: TestDaemon): Promise<string[]> {
  return (await readdir(path.join(d.state, "runc")).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

describe("kill -9 during churn", () => {
  it(`keeps every acknowledged object and leaves nothing behind, over ${ROUNDS} rounds of ${WORKERS} workers`, async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start();
    const ack: Acknowledged = { pods: new Set(), containers: new Map(), removedPods: new Set(), removedContainers: new Set(), removing: new Set() };
    try {
      const image = await busyboxImage(reg, d);
      for (let round = 0; round < ROUNDS; round++) {
        const stop = { now: false };
        const workers = Array.from({ length: WORKERS }, (_, w) => churn(d, image, w, round, ack, stop).catch(() => undefined));
        await new Promise((r) => setTimeout(r, 1000 + Math.floor(Math.random() * 1500)));
        stop.now = true;
        await d.kill();
        await Promise.all(workers);
        await d.start();

        const pods = new Map((await d.client.runtime.ListPodSandbox({})).items.map((p) => [p.id, p]));
        const containers = new Map((await d.client.runtime.ListContainers({})).containers.map((c) => [c.id, c]));
        for (const id of ack.pods) {
          if (ack.removing.has(id) && !ack.removedPods.has(id)) continue;
          if (ack.removedPods.has(id)) expect(pods.has(id), `removed pod ${id} is listed`).toBe(false);
          else expect(pods.has(id), `acknowledged pod ${id} is missing after round ${round}`).toBe(true);
        }
        for (const [id, pod] of ack.containers) {
          if ((ack.removing.has(id) && !ack.removedContainers.has(id)) || (ack.removing.has(pod) && !ack.removedPods.has(pod))) continue;
          if (ack.removedContainers.has(id) || ack.removedPods.has(pod)) {
            expect(containers.has(id), `removed container ${id} is listed`).toBe(false);
            continue;
          }
          const c = containers.get(id);
          expect(c, `acknowledged container ${id} is missing after round ${round}`).toBeDefined();
          // The runtime agrees: a running container has its process.
          if (c!.state === "CONTAINER_RUNNING") {
            const pid = JSON.parse((await d.client.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).pid as number;
            expect(await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""), `container ${id}'s process`).toContain("sleep");
          }
        }
        // Nothing half-made is listed: every listed container belongs to a listed pod.
        for (const c of containers.values()) expect(pods.has(c.pod_sandbox_id), `container ${c.id} of an unknown pod`).toBe(true);
      }

      // The churn got somewhere: kills fell among real work, not only before it.
      expect(ack.containers.size).toBeGreaterThan(ROUNDS);
      expect(ack.removedPods.size).toBeGreaterThan(0);
      await removeAllPods(d);
      expect((await d.client.runtime.ListContainers({})).containers).toEqual([]);
      expect(await mountsUnder(d.dir)).toEqual([]);
      expect(await runtimeStateIds(d)).toEqual([]);
      expect(await readdir(path.join(d.state, "sandboxes")).catch(() => [])).toEqual([]);
      expect(await readdir(path.join(d.state, "attach")).catch(() => [])).toEqual([]);
      expect((await readdir(path.join(d.root, "containers")).catch(() => [])).filter((n) => n !== "records")).toEqual([]);
      expect(await readdir(path.join(d.root, "sandbox-files")).catch(() => [])).toEqual([]);
      // A conmon left waiting by a kill mid-creation ends on its own once it finds no bundle.
      await waitFor("every conmon of the churn to end", async () => ((await processesMentioning(d.dir)).some((p) => /^\d+ conmon /.test(p)) ? undefined : true), 15_000);
      const leases = (await readdir(path.join(d.root, "network/ipam/skiff")).catch(() => [] as string[])).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      expect(leases).toEqual([]);
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  }, 300_000);
});
