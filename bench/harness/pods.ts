// What every pod of the benchmarks is: a sandbox with one long-running busybox container.

import path from "node:path";
import type { CriClient } from "../../test/e2e/harness/cri-client.js";
import { podConfig } from "../../test/e2e/harness/pods.js";

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
