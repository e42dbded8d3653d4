import { CRI_API_VERSION, RUNTIME_NAME, SKIFF_VERSION } from "../../version.js";
import type { VersionRequest__Output } from "../generated/runtime/v1/VersionRequest.js";
import type { VersionResponse } from "../generated/runtime/v1/VersionResponse.js";

// `version` is the kubelet API version; both containerd and CRI-O answer "0.1.0".
export async function version(_req: VersionRequest__Output): Promise<VersionResponse> {
  return {
    version: "0.1.0",
    runtime_name: RUNTIME_NAME,
    runtime_version: SKIFF_VERSION,
    runtime_api_version: CRI_API_VERSION,
  };
}
