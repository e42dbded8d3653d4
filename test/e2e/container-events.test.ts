// GetContainerEvents: a container's lifecycle reaches every subscriber in
// order, with the pod status and container statuses of the moment.

import { describe, expect, it } from "vitest";
import type { ContainerEventResponse__Output } from "../../src/cri/generated/runtime/v1/ContainerEventResponse.js";
import { grpc } from "./harness/cri-client.js";
import { containerConfig, startPod, useContainerDaemon, waitExited } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { waitFor } from "./harness/processes.js";

function subscribe(d: TestDaemon) {
  const events: ContainerEventResponse__Output[] = [];
  const stream = (d.client.rawRuntime as unknown as { GetContainerEvents(req: object): grpc.ClientReadableStream<ContainerEventResponse__Output> }).GetContainerEvents({});
  stream.on("data", (e) => events.push(e));
  stream.on("error", () => {});
  return { events, cancel: () => stream.cancel() };
}

async function subscribers(d: TestDaemon): Promise<number> {
  return Number((await d.client.runtime.Status({ verbose: true })).info.eventSubscribers);
}

describe("GetContainerEvents", () => {
  const f = useContainerDaemon({}, { keepPods: true });

  it("delivers created, started, stopped and deleted, in order, to two subscribers", async () => {
    const a = subscribe(f.d);
    const b = subscribe(f.d);
    await waitFor("both subscriptions", async () => ((await subscribers(f.d)) === 2 ? true : undefined));
    const pod = await startPod(f.d, "events");
    const { container_id: id } = await f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("ev", f.image, { command: ["sh", "-c", "sleep 0.3; exit 4"] }), sandbox_config: pod.config });
    await f.d.client.runtime.StartContainer({ container_id: id });
    await waitExited(f.d, id);
    await f.d.client.runtime.RemoveContainer({ container_id: id });

    for (const sub of [a, b]) {
      const mine = await waitFor("four events", async () => {
        const m = sub.events.filter((e) => e.container_id === id);
        return m.length >= 4 ? m : undefined;
      });
      expect(mine.map((e) => e.container_event_type)).toEqual(["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"]);
      const times = mine.map((e) => BigInt(e.created_at));
      expect([...times].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(times);
      for (const e of mine) {
        expect(e.pod_sandbox_status?.id).toBe(pod.id);
        expect(e.pod_sandbox_status?.state).toBe("SANDBOX_READY");
      }
      const stopped = mine[2]!.containers_statuses.find((c) => c.id === id)!;
      expect(stopped).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 4 });
      expect(mine[1]!.containers_statuses.find((c) => c.id === id)!.state).toBe("CONTAINER_RUNNING");
      expect(mine[3]!.containers_statuses.find((c) => c.id === id)).toBeUndefined();
    }

    // A subscriber that goes away is freed.
    a.cancel();
    await waitFor("the cancelled subscription to be freed", async () => ((await subscribers(f.d)) === 1 ? true : undefined));
    b.cancel();
    await waitFor("no subscriptions", async () => ((await subscribers(f.d)) === 0 ? true : undefined));
    await f.d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
  });
});
