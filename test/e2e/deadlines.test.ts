// Deadlines on external processes: an OCI runtime that never finishes `create`
// (a fake handler configured for the test) makes CreateContainer fail cleanly
// at runtime.timeout: a clear DEADLINE_EXCEEDED, the runtime, conmon and what
// they started killed, nothing of the container left, the daemon unharmed.

import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { busyboxImage, containerConfig, runContainer } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { podConfig } from "./harness/pods.js";
import { TestRegistry } from "./harness/registry.js";
import { processesMentioning } from "./harness/processes.js";
import { storedRecords } from "./harness/records.js";
import { fixtureDir } from "./harness/run-dir.js";

describe("a hung OCI runtime", () => {
  it("fails CreateContainer at runtime.timeout and leaves no process, file or record of the container", async () => {
    const dir = await fixtureDir("hang");
    const fake = path.join(dir, "hanging-runtime");
    // Every call is runc's, except create, which never ends.
    await writeFile(fake, '#!/bin/sh\nfor a in "$@"; do if [ "$a" = create ]; then exec sleep 3599; fi; done\nexec runc "$@"\n', { mode: 0o755 });
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start({ config: { runtime: { timeout: 2, handlers: { hang: { path: fake } } } } });
    try {
      const image = await busyboxImage(reg, d);
      const logDir = path.join(dir, "logs");
      const config = podConfig("hung", { log_directory: logDir });
      const { pod_sandbox_id: pod } = await d.client.runtime.RunPodSandbox({ config, runtime_handler: "hang" });
      const err = await grpcError(
        d.client.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig("stuck", image, { command: ["sleep", "100"] }), sandbox_config: config }, { timeoutMs: 30_000 }),
      );
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(err.details).toMatch(/^hang create [0-9a-f]{64} did not finish within 2 s and was killed \(runtime\.timeout\)$/);

      // Nothing of it remains: the hung runtime, its conmon, the container's directory and record.
      expect(await processesMentioning("sleep\u00003599")).toEqual([]);
      expect(await processesMentioning("stuck_hung")).toEqual([]);
      expect((await readdir(path.join(d.root, "containers")).catch(() => [])).filter((n) => n !== "records")).toEqual([]);
      expect(await storedRecords(path.join(d.root, "containers", "records"))).toEqual([]);
      expect((await d.client.runtime.ListContainers({})).containers).toEqual([]);
      expect(await readdir(path.join(d.state, "attach")).catch(() => [])).toEqual([]);

      // The daemon goes on: the same container name can be created with runc.
      const { pod_sandbox_id: ok } = await d.client.runtime.RunPodSandbox({ config: podConfig("fine", { log_directory: logDir }) });
      const id = await runContainer(d, { id: ok, config: podConfig("fine", { log_directory: logDir }) }, containerConfig("stuck", image, { command: ["sleep", "100"] }));
      expect((await d.client.runtime.ContainerStatus({ container_id: id })).status!.state).toBe("CONTAINER_RUNNING");
      for (const p of [pod, ok]) await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p });
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });
});
