import type { Config } from "../../config/config.js";
import type { RuntimeHandler } from "../generated/runtime/v1/RuntimeHandler.js";

/**
 * The handlers kubelet may name in RuntimeClass, with the features each has.
 * The default handler is also listed under the empty name, as kubelet expects.
 * Recursive read-only mounts and user namespaces are not offered yet.
 */
export function runtimeHandlerInfo(config: Config): RuntimeHandler[] {
  const features = { recursive_read_only_mounts: false, user_namespaces: false };
  const names = ["", ...Object.keys(config.runtimeHandlers).sort()];
  return names.map((name) => ({ name, features }));
}
