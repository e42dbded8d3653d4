import type { RuntimeConfigRequest__Output } from "../generated/runtime/v1/RuntimeConfigRequest.js";
import type { RuntimeConfigResponse } from "../generated/runtime/v1/RuntimeConfigResponse.js";

// skiff manages cgroups itself through the cgroupfs driver (v1 and v2); kubelet
// must be configured with cgroupDriver: cgroupfs to match.
export async function runtimeConfig(_req: RuntimeConfigRequest__Output): Promise<RuntimeConfigResponse> {
  return { linux: { cgroup_driver: "CGROUPFS" } };
}
