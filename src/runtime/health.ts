// Whether containers can be run at all: the monitor (conmon) and the default
// OCI runtime must be installed. Reported as the RuntimeReady condition.

import type { Config } from "../config/config.js";
import { findExecutable } from "../util/executable.js";

export interface RuntimeHealth {
  ready: boolean;
  reason?: string;
  message?: string;
}

/** A check is reused this long: Status comes every 5 s from kubelet, and in bursts from other clients. */
const HEALTH_TTL_MS = 1000;
let lastCheck: { at: number; health: Promise<RuntimeHealth> } | undefined;

/** The runtime's health, checked at most once a second (concurrent callers share one check). */
export function checkRuntimeHealth(config: Config): Promise<RuntimeHealth> {
  const now = Date.now();
  if (!lastCheck || now - lastCheck.at > HEALTH_TTL_MS) lastCheck = { at: now, health: lookForBinaries(config) };
  return lastCheck.health;
}

async function lookForBinaries(config: Config): Promise<RuntimeHealth> {
  const handler = config.runtimeHandlers[config.defaultRuntimeHandler]!;
  const missing: string[] = [];
  if (!(await findExecutable(config.conmonPath))) missing.push(`conmon ("${config.conmonPath}")`);
  if (!(await findExecutable(handler.path))) missing.push(`OCI runtime ${config.defaultRuntimeHandler} ("${handler.path}")`);
  if (missing.length === 0) return { ready: true };
  return {
    ready: false,
    reason: "RuntimeBinaryNotFound",
    message: `cannot run containers: ${missing.join(" and ")} not found; install it (hack/install-deps.sh) or fix the path in the config`,
  };
}
