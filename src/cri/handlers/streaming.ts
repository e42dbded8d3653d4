// Exec, Attach and PortForward: each checks the request against the container
// or sandbox, then returns a single-use URL on the streaming server, where the
// session itself happens.

import { failedPrecondition, invalidArgument } from "../../errors.js";
import type { CriDeps } from "../deps.js";
import type { AttachRequest__Output } from "../generated/runtime/v1/AttachRequest.js";
import type { AttachResponse } from "../generated/runtime/v1/AttachResponse.js";
import type { ExecRequest__Output } from "../generated/runtime/v1/ExecRequest.js";
import type { ExecResponse } from "../generated/runtime/v1/ExecResponse.js";
import type { PortForwardRequest__Output } from "../generated/runtime/v1/PortForwardRequest.js";
import type { PortForwardResponse } from "../generated/runtime/v1/PortForwardResponse.js";
import { requireField } from "../validate.js";

interface Stdio {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The stream combinations kubelet's server accepts. */
function checkStdio(rpc: string, s: Stdio): Stdio {
  if (!s.stdin && !s.stdout && !s.stderr) throw invalidArgument(`${rpc}: one of stdin, stdout or stderr must be true`);
  if (s.tty && s.stderr) throw invalidArgument(`${rpc}: tty and stderr cannot both be true (a terminal merges stderr into stdout)`);
  return { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, tty: s.tty };
}

export function streamingHandlers(deps: CriDeps) {
  return {
    async Exec(req: ExecRequest__Output): Promise<ExecResponse> {
      const c = deps.containers.checkExecutable(requireField(req.container_id, "Exec", "container_id"), req.cmd);
      const stdio = checkStdio("Exec", req);
      return { url: deps.streaming.url({ kind: "exec", containerId: c.id, cmd: req.cmd, ...stdio }) };
    },
    async Attach(req: AttachRequest__Output): Promise<AttachResponse> {
      const stdio = checkStdio("Attach", req);
      const c = deps.containers.checkAttachable(requireField(req.container_id, "Attach", "container_id"), stdio);
      return { url: deps.streaming.url({ kind: "attach", containerId: c.id, ...stdio }) };
    },
    async PortForward(req: PortForwardRequest__Output): Promise<PortForwardResponse> {
      const pod = deps.sandboxes.get(requireField(req.pod_sandbox_id, "PortForward", "pod_sandbox_id"));
      if (pod.state !== "ready") throw failedPrecondition(`PortForward: sandbox ${pod.id} is ${pod.state}, not ready`);
      const bad = req.port.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
      if (bad !== undefined) throw invalidArgument(`PortForward: port ${bad} is not in 1-65535`);
      return { url: deps.streaming.url({ kind: "portforward", sandboxId: pod.id, ports: req.port }) };
    },
  };
}
