// CreateContainer (and restores from checkpoint archives), StartContainer, StopContainer, RemoveContainer,
// ContainerStatus, ListContainers, StreamContainers, CheckpointContainer.

import { invalidArgument } from "../../errors.js";
import type { ContainerFilter } from "../../runtime/containers.js";
import type { CriDeps } from "../deps.js";
import { encodeAhead } from "../fast-serialize.js";
import type { ContainerFilter__Output } from "../generated/runtime/v1/ContainerFilter.js";
import type { ContainerStatusRequest__Output } from "../generated/runtime/v1/ContainerStatusRequest.js";
import type { ContainerStatusResponse } from "../generated/runtime/v1/ContainerStatusResponse.js";
import type { CreateContainerRequest__Output } from "../generated/runtime/v1/CreateContainerRequest.js";
import type { CreateContainerResponse } from "../generated/runtime/v1/CreateContainerResponse.js";
import type { ExecSyncRequest__Output } from "../generated/runtime/v1/ExecSyncRequest.js";
import type { ExecSyncResponse } from "../generated/runtime/v1/ExecSyncResponse.js";
import type { ListContainersRequest__Output } from "../generated/runtime/v1/ListContainersRequest.js";
import type { ListContainersResponse } from "../generated/runtime/v1/ListContainersResponse.js";
import type { CheckpointContainerRequest__Output } from "../generated/runtime/v1/CheckpointContainerRequest.js";
import type { ReopenContainerLogRequest__Output } from "../generated/runtime/v1/ReopenContainerLogRequest.js";
import type { UpdateContainerResourcesRequest__Output } from "../generated/runtime/v1/UpdateContainerResourcesRequest.js";
import type { RemoveContainerRequest__Output } from "../generated/runtime/v1/RemoveContainerRequest.js";
import type { StartContainerRequest__Output } from "../generated/runtime/v1/StartContainerRequest.js";
import type { StopContainerRequest__Output } from "../generated/runtime/v1/StopContainerRequest.js";
import type { StreamContainersRequest__Output } from "../generated/runtime/v1/StreamContainersRequest.js";
import type { StreamContainersResponse } from "../generated/runtime/v1/StreamContainersResponse.js";
import { makeGetContainerEvents } from "./container-events.js";
import { requireField } from "../validate.js";
import { toContainerRequest, toCriContainer, toCriContainerStatus, toResources } from "../mappers/container.js";
import type { CallContext, StreamSink } from "../service.js";

const requireId = (id: string, rpc: string) => requireField(id, rpc, "container_id");

const STATES = { CONTAINER_CREATED: "created", CONTAINER_RUNNING: "running", CONTAINER_EXITED: "exited" } as const;

/** Time to leave between killing a timed-out command and the caller's own deadline, for the reply to arrive. */
const EXEC_REPLY_MARGIN_MS = 200;

/**
 * ExecSync's bound: the request's timeout (seconds, 0 = none), or sooner if
 * the call's deadline comes first, so that the command is gone when the
 * caller gives up.
 */
export function execTimeoutMs(timeoutSeconds: number, deadline: number | undefined, now = Date.now()): number {
  const requested = timeoutSeconds > 0 ? timeoutSeconds * 1000 : Infinity;
  const byDeadline = deadline === undefined ? Infinity : Math.max(1, deadline - now - EXEC_REPLY_MARGIN_MS);
  const bound = Math.min(requested, byDeadline);
  return Number.isFinite(bound) ? bound : 0;
}

function toFilter(f: ContainerFilter__Output | null): ContainerFilter {
  if (!f) return {};
  const state = f.state ? STATES[f.state.state as keyof typeof STATES] : undefined;
  return { id: f.id || undefined, sandboxId: f.pod_sandbox_id || undefined, labels: f.label_selector, ...(f.state ? { state: state ?? "creating" } : {}) };
}

export function containerHandlers(deps: CriDeps) {
  const list = (f: ContainerFilter__Output | null) => deps.containers.list(toFilter(f)).map((c) => toCriContainer(c, deps.images.store.get(c.imageId)));
  return {
    async CreateContainer(req: CreateContainerRequest__Output): Promise<CreateContainerResponse> {
      const c = await deps.containers.create(requireField(req.pod_sandbox_id, "CreateContainer", "pod_sandbox_id"), toContainerRequest(req.config));
      return { container_id: c.id };
    },
    async StartContainer(req: StartContainerRequest__Output) {
      const c = await deps.containers.start(requireId(req.container_id, "StartContainer"));
      // kubelet (and critest) ask for the status next: it is read, mapped and encoded while this reply travels.
      void deps.containers.inspect(c, false).then(
        ({ identity }) => encodeAhead("containerStatus", () => toCriContainerStatus(c, deps.images.store.get(c.imageId), identity)),
        () => undefined,
      );
      return {};
    },
    async StopContainer(req: StopContainerRequest__Output) {
      await deps.containers.stop(requireId(req.container_id, "StopContainer"), Number(req.timeout));
      return {};
    },
    async RemoveContainer(req: RemoveContainerRequest__Output) {
      await deps.containers.remove(requireId(req.container_id, "RemoveContainer"));
      return {};
    },
    async ContainerStatus(req: ContainerStatusRequest__Output): Promise<ContainerStatusResponse> {
      const c = deps.containers.get(requireId(req.container_id, "ContainerStatus"));
      const { identity, specText: spec } = await deps.containers.inspect(c, req.verbose);
      const res: ContainerStatusResponse = { status: toCriContainerStatus(c, deps.images.store.get(c.imageId), identity), info: {} };
      if (req.verbose) {
        // The spec as skiff wrote it (JSON already): spliced in, not parsed and serialised again.
        const head = JSON.stringify({ sandboxID: c.sandboxId, pid: c.pid ?? 0, runtimeType: c.runtimeHandler, rootfs: c.rootfs });
        res.info = { info: `${head.slice(0, -1)},"runtimeSpec":${spec?.trim() || "null"},"config":${JSON.stringify(c.request)}}` };
      }
      return res;
    },
    async ExecSync(req: ExecSyncRequest__Output, ctx: CallContext): Promise<ExecSyncResponse> {
      const r = await deps.containers.execSync(requireId(req.container_id, "ExecSync"), req.cmd, execTimeoutMs(Number(req.timeout), ctx.deadline));
      return { stdout: r.stdout, stderr: r.stderr, exit_code: r.exitCode };
    },
    async UpdateContainerResources(req: UpdateContainerResourcesRequest__Output) {
      await deps.containers.updateResources(requireId(req.container_id, "UpdateContainerResources"), toResources(req.linux));
      return {};
    },
    async ReopenContainerLog(req: ReopenContainerLogRequest__Output) {
      await deps.containers.reopenLog(requireId(req.container_id, "ReopenContainerLog"));
      return {};
    },
    async CheckpointContainer(req: CheckpointContainerRequest__Output) {
      if (!req.location) throw invalidArgument("CheckpointContainer: location (the archive to write) is required");
      await deps.containers.checkpoint(requireId(req.container_id, "CheckpointContainer"), req.location, Number(req.timeout));
      return {};
    },
    GetContainerEvents: makeGetContainerEvents(deps),
    async ListContainers(req: ListContainersRequest__Output): Promise<ListContainersResponse> {
      return { containers: list(req.filter) };
    },
    async StreamContainers(req: StreamContainersRequest__Output, out: StreamSink<StreamContainersResponse>) {
      const all = list(req.filter);
      for (let i = 0; i < all.length; i += 500) await out.write({ containers: all.slice(i, i + 500) });
    },
  };
}
