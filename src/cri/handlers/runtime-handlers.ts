import os from "node:os";
import type { Config } from "../../config/config.js";
import { supportsRecursiveReadOnly } from "../../runtime/cgroups.js";
import type { Runtimes } from "../../runtime/runtimes.js";
import type { RuntimeHandler } from "../generated/runtime/v1/RuntimeHandler.js";

/**
 * The handlers kubelet may name in RuntimeClass, with the features each has
 * (kubelet and critest read them to decide what to send). The default handler
 * is also listed under the empty name, as kubelet expects. `userNamespaces`
 * says, per handler name, whether pods with a user namespace can run on it.
 */
export function runtimeHandlerInfo(config: Config, userNamespaces: (name: string) => boolean, kernelRelease = os.release()): RuntimeHandler[] {
  const names = ["", ...Object.keys(config.runtimeHandlers).sort()];
  return names.map((name) => {
    const handler = config.runtimeHandlers[name || config.defaultRuntimeHandler]!;
    return { name, features: { recursive_read_only_mounts: supportsRecursiveReadOnly(handler.path, kernelRelease), user_namespaces: userNamespaces(name) } };
  });
}

/** runtimeHandlerInfo with each handler's user-namespace support asked of the runtimes. */
export async function runtimeHandlers(config: Config, runtimes: Runtimes): Promise<RuntimeHandler[]> {
  const names = ["", ...Object.keys(config.runtimeHandlers)];
  const problems = new Map(await Promise.all(names.map(async (n) => [n, await runtimes.userNamespaceProblem(n)] as const)));
  return runtimeHandlerInfo(config, (n) => problems.get(n) === undefined);
}
