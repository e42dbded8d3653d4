import { checkRuntimeHealth } from "../../runtime/health.js";
import type { CriDeps } from "../deps.js";
import type { StatusRequest__Output } from "../generated/runtime/v1/StatusRequest.js";
import type { StatusResponse } from "../generated/runtime/v1/StatusResponse.js";
import type { RuntimeCondition } from "../generated/runtime/v1/RuntimeCondition.js";
import { runtimeHandlers } from "./runtime-handlers.js";

export function makeStatus(deps: CriDeps) {
  return async function status(req: StatusRequest__Output): Promise<StatusResponse> {
    const [runtime, network, handlers] = await Promise.all([checkRuntimeHealth(deps.config), deps.podNetwork.readiness(), runtimeHandlers(deps.config, deps.runtimes)]);
    const conditions: RuntimeCondition[] = [
      { type: "RuntimeReady", status: runtime.ready, reason: runtime.reason ?? "", message: runtime.message ?? "" },
      { type: "NetworkReady", status: network.ready, reason: network.reason ?? "", message: network.message ?? "" },
    ];
    const res: StatusResponse = {
      status: { conditions },
      runtime_handlers: handlers,
      features: { supplemental_groups_policy: true, user_namespaces_host_network: false },
    };
    if (req.verbose) {
      const perHandler = async (problem: (h: string) => Promise<string | undefined>) =>
        Object.fromEntries(await Promise.all(Object.keys(deps.config.runtimeHandlers).map(async (h) => [h, (await problem(h)) ?? "supported"] as const)));
      const [userNamespaces, checkpointRestore] = await Promise.all([
        perHandler((h) => deps.runtimes.userNamespaceProblem(h)),
        perHandler((h) => deps.runtimes.checkpointProblem(h)),
      ]);
      res.info = {
        config: JSON.stringify(deps.config),
        cniconfig: JSON.stringify({
          network: network.network ?? null,
          plugins: network.plugins,
          podCidr: deps.podNetwork.podCidr,
          skipped: network.skipped,
        }),
        lastCNILoadStatus: network.ready ? "OK" : (network.message ?? "not ready"),
        runtimeHandlers: JSON.stringify({
          default: deps.config.defaultRuntimeHandler,
          ...(deps.runtimes.fallbackReason ? { defaultFallback: deps.runtimes.fallbackReason } : {}),
          cgroups: deps.runtimes.cgroups,
          unusable: deps.runtimes.problems(),
          sealedCopies: deps.runtimes.sealedCopies(),
          userNamespaces,
          checkpointRestore,
        }),
        eventSubscribers: String(deps.containers.events.subscriberCount),
        streamingServer: deps.endpoints.streaming,
        metricsServer: deps.endpoints.metrics ?? "",
      };
    }
    return res;
  };
}
