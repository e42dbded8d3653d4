// GetContainerEvents: a server stream for kubelet's evented PLEG. Every event
// carries the pod's status and all its container statuses as they were then
// (timestamp and statuses come together, as evented PLEG requires).

import { SkiffError } from "../../errors.js";
import { SubscriberTooSlowError } from "../../util/event-bus.js";
import type { CriDeps } from "../deps.js";
import type { ContainerEventResponse } from "../generated/runtime/v1/ContainerEventResponse.js";
import type { GetEventsRequest__Output } from "../generated/runtime/v1/GetEventsRequest.js";
import { toCriContainerStatus } from "../mappers/container.js";
import { toCriSandboxStatus } from "../mappers/sandbox.js";
import type { CallContext, StreamSink } from "../service.js";

const TYPES = { created: "CONTAINER_CREATED_EVENT", started: "CONTAINER_STARTED_EVENT", stopped: "CONTAINER_STOPPED_EVENT", deleted: "CONTAINER_DELETED_EVENT" } as const;

export function makeGetContainerEvents(deps: CriDeps) {
  return async function getContainerEvents(_req: GetEventsRequest__Output, out: StreamSink<ContainerEventResponse>, ctx: CallContext): Promise<void> {
    const sub = deps.containers.events.subscribe();
    const stop = () => sub.close();
    ctx.signal.addEventListener("abort", stop);
    try {
      for await (const e of sub) {
        await out.write({
          container_id: e.containerId,
          container_event_type: TYPES[e.type],
          created_at: e.at,
          pod_sandbox_status: e.sandbox ? toCriSandboxStatus(e.sandbox) : null,
          containers_statuses: e.containers.map((c) => toCriContainerStatus(c, deps.images.store.get(c.imageId), c.user)),
        });
      }
    } catch (err) {
      if (err instanceof SubscriberTooSlowError) throw new SkiffError("resource-exhausted", err.message);
      throw err;
    } finally {
      ctx.signal.removeEventListener("abort", stop);
      sub.close();
    }
  };
}
