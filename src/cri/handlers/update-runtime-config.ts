import type { CriDeps } from "../deps.js";
import type { UpdateRuntimeConfigRequest__Output } from "../generated/runtime/v1/UpdateRuntimeConfigRequest.js";
import type { UpdateRuntimeConfigResponse } from "../generated/runtime/v1/UpdateRuntimeConfigResponse.js";

export function makeUpdateRuntimeConfig(deps: CriDeps) {
  return async function updateRuntimeConfig(req: UpdateRuntimeConfigRequest__Output): Promise<UpdateRuntimeConfigResponse> {
    const cidr = req.runtime_config?.network_config?.pod_cidr ?? "";
    await deps.podNetwork.setPodCidr(cidr);
    return {};
  };
}
