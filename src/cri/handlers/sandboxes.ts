// RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox, StreamPodSandboxes.

import type { SandboxFilter } from "../../sandbox/filter.js";
import type { CriDeps } from "../deps.js";
import type { ListPodSandboxRequest__Output } from "../generated/runtime/v1/ListPodSandboxRequest.js";
import type { ListPodSandboxResponse } from "../generated/runtime/v1/ListPodSandboxResponse.js";
import type { PodSandboxFilter__Output } from "../generated/runtime/v1/PodSandboxFilter.js";
import type { PodSandboxStatusRequest__Output } from "../generated/runtime/v1/PodSandboxStatusRequest.js";
import type { PodSandboxStatusResponse } from "../generated/runtime/v1/PodSandboxStatusResponse.js";
import type { RemovePodSandboxRequest__Output } from "../generated/runtime/v1/RemovePodSandboxRequest.js";
import type { RunPodSandboxRequest__Output } from "../generated/runtime/v1/RunPodSandboxRequest.js";
import type { RunPodSandboxResponse } from "../generated/runtime/v1/RunPodSandboxResponse.js";
import type { StopPodSandboxRequest__Output } from "../generated/runtime/v1/StopPodSandboxRequest.js";
import type { StreamPodSandboxesRequest__Output } from "../generated/runtime/v1/StreamPodSandboxesRequest.js";
import type { StreamPodSandboxesResponse } from "../generated/runtime/v1/StreamPodSandboxesResponse.js";
import type { UpdatePodSandboxResourcesRequest__Output } from "../generated/runtime/v1/UpdatePodSandboxResourcesRequest.js";
import type { UpdatePodSandboxResourcesResponse } from "../generated/runtime/v1/UpdatePodSandboxResourcesResponse.js";
import { toResources } from "../mappers/container.js";
import { toCriPodSandbox, toCriSandboxStatus, toSandboxSpec } from "../mappers/sandbox.js";
import type { StreamSink } from "../service.js";
import { invalidArgument } from "../../errors.js";
import { requireField } from "../validate.js";

const requireId = (id: string, rpc: string) => requireField(id, rpc, "pod_sandbox_id");

function toFilter(f: PodSandboxFilter__Output | null): SandboxFilter {
  if (!f) return {};
  return {
    id: f.id || undefined,
    state: f.state ? (f.state.state === "SANDBOX_READY" ? "ready" : "notready") : undefined,
    labels: f.label_selector,
  };
}

export function sandboxHandlers(deps: CriDeps) {
  return {
    async RunPodSandbox(req: RunPodSandboxRequest__Output): Promise<RunPodSandboxResponse> {
      const r = await deps.sandboxes.run(toSandboxSpec(req.config, req.runtime_handler));
      return { pod_sandbox_id: r.id };
    },
    async StopPodSandbox(req: StopPodSandboxRequest__Output) {
      await deps.sandboxes.stop(requireId(req.pod_sandbox_id, "StopPodSandbox"));
      return {};
    },
    async UpdatePodSandboxResources(req: UpdatePodSandboxResourcesRequest__Output): Promise<UpdatePodSandboxResourcesResponse> {
      const id = requireId(req.pod_sandbox_id, "UpdatePodSandboxResources");
      if (!req.resources) throw invalidArgument("UpdatePodSandboxResources: resources is required");
      await deps.sandboxes.updateResources(id, toResources(req.resources), toResources(req.overhead));
      return {};
    },
    async RemovePodSandbox(req: RemovePodSandboxRequest__Output) {
      await deps.sandboxes.remove(requireId(req.pod_sandbox_id, "RemovePodSandbox"));
      return {};
    },
    async PodSandboxStatus(req: PodSandboxStatusRequest__Output): Promise<PodSandboxStatusResponse> {
      const r = deps.sandboxes.get(requireId(req.pod_sandbox_id, "PodSandboxStatus"));
      const res: PodSandboxStatusResponse = { status: toCriSandboxStatus(r), info: {}, containers_statuses: [] };
      if (req.verbose) {
        res.info = {
          info: JSON.stringify({
            pid: r.infra?.pid ?? 0,
            netns: r.namespaces.net ?? "",
            namespaces: r.namespaces,
            shm: r.shm ?? "",
            infra: r.infra ?? null,
            cniResult: r.network?.result ?? null,
            cniNetwork: (r.network?.config as { name?: string } | undefined)?.name ?? "",
            runtimeHandler: r.runtimeHandler,
            resources: r.resources ?? null,
            config: r.spec,
          }),
        };
      }
      return res;
    },
    async ListPodSandbox(req: ListPodSandboxRequest__Output): Promise<ListPodSandboxResponse> {
      return { items: deps.sandboxes.list(toFilter(req.filter)).map(toCriPodSandbox) };
    },
    async StreamPodSandboxes(req: StreamPodSandboxesRequest__Output, out: StreamSink<StreamPodSandboxesResponse>) {
      const items = deps.sandboxes.list(toFilter(req.filter)).map(toCriPodSandbox);
      for (let i = 0; i < items.length; i += 500) await out.write({ pod_sandboxes: items.slice(i, i + 500) });
    },
  };
}
