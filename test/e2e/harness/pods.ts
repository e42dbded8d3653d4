// Pod sandbox fixtures: configs, and running processes inside a pod's
// namespaces from the host (nsenter) to check what the pod sees.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { PodSandboxConfig } from "../../../src/cri/generated/runtime/v1/PodSandboxConfig.js";
import type { TestDaemon } from "./daemon.js";

const run = promisify(execFile);

/**
 * A pod config as kubelet sends it for an ordinary pod: network and IPC per
 * pod, PID per container. (Left out, the PID mode would be POD: proto3's zero.)
 * Namespace options in `extra.linux` are merged over these.
 */
export function podConfig(name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  const ns = { network: "POD", pid: "CONTAINER", ipc: "POD", ...extra.linux?.security_context?.namespace_options } as const;
  return {
    metadata: { name, namespace: "e2e", uid: randomBytes(8).toString("hex"), attempt: 0 },
    hostname: name,
    log_directory: "",
    ...extra,
    linux: { ...extra.linux, security_context: { ...extra.linux?.security_context, namespace_options: ns } },
  };
}

export interface PodInfo {
  pid: number;
  netns: string;
  namespaces: { net?: string; ipc?: string; uts?: string };
  shm: string;
}

export async function podInfo(d: TestDaemon, id: string): Promise<PodInfo> {
  const s = await d.client.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: true });
  return JSON.parse(s.info.info!) as PodInfo;
}

/** Runs a command in the given namespaces (nsenter flags such as --net=FILE) and returns stdout. */
export async function inPod(nsFlags: string[], command: string[]): Promise<string> {
  const { stdout } = await run("nsenter", [...nsFlags, "--", ...command], { timeout: 20_000 });
  return stdout;
}

/** A long-running process inside the pod's network namespace (a listener), to be stopped by the caller. */
export function spawnInPod(netns: string, command: string[]): ChildProcess {
  return spawn("nsenter", [`--net=${netns}`, "--", ...command], { stdio: "ignore" });
}

/** Stops and removes every sandbox of the daemon (test cleanup). */
export async function removeAllPods(d: TestDaemon): Promise<void> {
  const { items } = await d.client.runtime.ListPodSandbox({});
  for (const p of items) {
    await d.client.runtime.StopPodSandbox({ pod_sandbox_id: p.id });
    await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.id });
  }
}
