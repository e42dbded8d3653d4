// Container fixtures: a busybox image in a local registry, pulled into a
// daemon, and helpers to run a container in a pod and wait for its state.

import path from "node:path";
import type { ContainerConfig } from "../../../src/cri/generated/runtime/v1/ContainerConfig.js";
import type { PodSandboxConfig } from "../../../src/cri/generated/runtime/v1/PodSandboxConfig.js";
import { buildImage, type ImageSpec } from "../../support/oci-image.js";
import { afterAll, afterEach, beforeAll } from "vitest";
import { TestDaemon } from "./daemon.js";
import { podConfig, removeAllPods } from "./pods.js";
import { waitFor } from "./processes.js";
import { TestRegistry } from "./registry.js";
import { fixtureDir } from "./run-dir.js";

/** Pushes a busybox image (with extra users) and pulls it into the daemon; returns its reference. */
export async function busyboxImage(reg: TestRegistry, d: TestDaemon, spec: ImageSpec = {}, name = "test/busybox"): Promise<string> {
  const img = await buildImage({
    users: ["alice:x:1000:1000::/home/alice:/bin/sh", "bob:x:1001:1001::/:/bin/sh"],
    groups: ["alice:x:1000:", "bob:x:1001:", "devs:x:2000:alice"],
    ...spec,
  });
  const ref = await reg.push(name, "v1", img);
  await d.client.image.PullImage({ image: { image: ref } });
  return ref;
}

/** A pod with a log directory of its own. */
export async function startPod(d: TestDaemon, name: string, extra: Partial<PodSandboxConfig> = {}): Promise<{ id: string; config: PodSandboxConfig; logDir: string }> {
  const logDir = path.join(await fixtureDir("logs"), name);
  const config = podConfig(name, { log_directory: logDir, ...extra });
  const { pod_sandbox_id } = await d.client.runtime.RunPodSandbox({ config });
  return { id: pod_sandbox_id, config, logDir };
}

export function containerConfig(name: string, image: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image }, log_path: `${name}/0.log`, ...extra };
}

export async function runContainer(d: TestDaemon, pod: { id: string; config: PodSandboxConfig }, config: ContainerConfig): Promise<string> {
  const { container_id } = await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
  await d.client.runtime.StartContainer({ container_id });
  return container_id;
}

export async function waitExited(d: TestDaemon, id: string, timeoutMs = 20_000) {
  return waitFor(
    `container ${id} to exit`,
    async () => {
      const s = (await d.client.runtime.ContainerStatus({ container_id: id })).status!;
      return s.state === "CONTAINER_EXITED" ? s : undefined;
    },
    timeoutMs,
  );
}

export interface ContainerFixture {
  readonly reg: TestRegistry;
  readonly d: TestDaemon;
  /** Reference of the busybox image, already pulled into the daemon. */
  readonly image: string;
}

/**
 * Registers the hooks of a suite that runs containers: a registry, a daemon
 * with `config`, a pulled busybox image, and (unless `keepPods`) removal of
 * every pod after each test.
 */
export function useContainerDaemon(
  config: Record<string, unknown> = {},
  options: { keepPods?: boolean } = {},
  /** Config that needs set-up first (e.g. files), merged over `config`. */
  prepare?: () => Promise<Record<string, unknown>>,
): ContainerFixture {
  const f = {} as { reg: TestRegistry; d: TestDaemon; image: string };
  beforeAll(async () => {
    f.reg = await TestRegistry.start();
    f.d = await TestDaemon.start({ config: { ...config, ...(await prepare?.()) } });
    f.image = await busyboxImage(f.reg, f.d);
  });
  if (!options.keepPods) afterEach(() => removeAllPods(f.d));
  afterAll(async () => {
    try {
      await f.d?.cleanup();
    } finally {
      await f.reg?.stop();
    }
  });
  return f;
}
