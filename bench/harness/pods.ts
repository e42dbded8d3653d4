// What the pod benchmarks share: their images in a local registry, and their
// pod, a sandbox with one long-running busybox container.

import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { buildImage } from "../../test/support/oci-image.js";
import type { CriClient } from "../../test/e2e/harness/cri-client.js";
import { podConfig } from "../../test/e2e/harness/pods.js";
import { TestRegistry } from "../../test/e2e/harness/registry.js";
import { buildPauseImage } from "./containerd.js";

/** RunPodSandbox + CreateContainer + StartContainer; resolves to the pod's id. */
export async function startBenchPod(client: CriClient, image: string, name: string, logDir: string): Promise<string> {
  const config = podConfig(name, { log_directory: path.join(logDir, name) });
  const { pod_sandbox_id } = await client.runtime.RunPodSandbox({ config });
  const { container_id } = await client.runtime.CreateContainer({
    pod_sandbox_id,
    config: { metadata: { name: "main", attempt: 0 }, image: { image }, command: ["sleep", "100000"], log_path: "main/0.log" },
    sandbox_config: config,
  });
  await client.runtime.StartContainer({ container_id });
  return pod_sandbox_id;
}

export interface BenchImages {
  reg: TestRegistry;
  /** The pods' container image. */
  busybox: string;
  /** containerd's pause image (skiff needs none). */
  pauseRef: string;
}

/** Registers the hooks of a pod benchmark: a local registry holding busybox and a pause image. */
export function useBenchImages(): BenchImages {
  const images = {} as BenchImages;
  beforeAll(async () => {
    images.reg = await TestRegistry.start();
    images.busybox = await images.reg.push("bench/busybox", "1", await buildImage());
    images.pauseRef = await images.reg.push("bench/pause", "3.10", await buildPauseImage());
  });
  afterAll(async () => {
    await images.reg?.stop();
  });
  return images;
}
