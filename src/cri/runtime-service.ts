// RuntimeService: which handler serves which RPC. RPCs not listed here answer
// UNIMPLEMENTED (see service.ts).

import type { CriDeps } from "./deps.js";
import type { RuntimeServiceHandlers } from "./generated/runtime/v1/RuntimeService.js";
import { containerHandlers } from "./handlers/containers.js";
import { runtimeConfig } from "./handlers/runtime-config.js";
import { sandboxHandlers } from "./handlers/sandboxes.js";
import { makeStatus } from "./handlers/status.js";
import { statsHandlers } from "./handlers/stats.js";
import { streamingHandlers } from "./handlers/streaming.js";
import { makeUpdateRuntimeConfig } from "./handlers/update-runtime-config.js";
import { version } from "./handlers/version.js";
import type { PromiseHandlers } from "./service.js";

export function runtimeServiceHandlers(deps: CriDeps): PromiseHandlers<RuntimeServiceHandlers> {
  return {
    Version: version,
    Status: makeStatus(deps),
    RuntimeConfig: runtimeConfig,
    UpdateRuntimeConfig: makeUpdateRuntimeConfig(deps),
    ...sandboxHandlers(deps),
    ...containerHandlers(deps),
    ...streamingHandlers(deps),
    ...statsHandlers(deps),
  };
}
