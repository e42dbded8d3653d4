import os from "node:os";
import type { Config } from "../../config/config.js";
import { supportsRecursiveReadOnly } from "../../runtime/cgroups.js";
import type { RuntimeHandler } from "../generated/runtime/v1/RuntimeHandler.js";

/**
 * The handlers kubelet may name in RuntimeClass, with the features each has
 * (kubelet and critest read them to decide what to send). The default handler
 * is also listed under the empty name, as kubelet expects. User namespaces are
 * not offered yet.
 */
export function runtimeHandlerInfo(config: Config, kernelRelease = os.release()): RuntimeHandler[] {
  const names = ["", ...Object.keys(config.runtimeHandlers).sort()];
  return names.map((name) => {
    const handler = config.runtimeHandlers[name || config.defaultRuntimeHandler]!;
    return { name, features: { recursive_read_only_mounts: supportsRecursiveReadOnly(handler.path, kernelRelease), user_namespaces: false } };
  });
}
