// Executes CNI plugins as the CNI spec says: the network config on stdin, the
// parameters in CNI_* variables, the result (or an error document) on stdout.
// ADD runs the chain in order, each plugin getting the previous result; DEL
// runs it in reverse with the cached ADD result.

import { execCommand } from "../../util/exec.js";
import { cniDuration, timed } from "../../observability/metrics.js";
import type { CniNetworkList } from "./network-config.js";

export interface CniInvocation {
  containerId: string;
  netns: string;
  ifName: string;
  /** Key/value pairs for CNI_ARGS (K8S_POD_NAME, ...). */
  args: [string, string][];
  /** Values for plugins that declare the capability (portMappings, dns, ...). */
  capabilities: Record<string, unknown>;
  /** A plugin still running after this long is killed, with what it started (config cni.timeout). */
  timeoutMs?: number;
}

export class CniError extends Error {}

const DEFAULT_TIMEOUT_MS = 60_000;

function pluginConfig(net: CniNetworkList, plugin: CniNetworkList["plugins"][number], inv: CniInvocation, prevResult: unknown) {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: net.cniVersion, name: net.name };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, value] of Object.entries(inv.capabilities)) if (caps[cap]) runtimeConfig[cap] = value;
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  delete conf.capabilities;
  return conf;
}

async function exec(command: "ADD" | "DEL", pluginPath: string, binDirs: string[], conf: unknown, inv: CniInvocation): Promise<unknown> {
  const env = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifName,
    CNI_ARGS: ["IgnoreUnknown=1", ...inv.args.map(([k, v]) => `${k}=${v}`)].join(";"),
    CNI_PATH: binDirs.join(":"),
  };
  const timeoutMs = inv.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const r = await execCommand(pluginPath, [], { input: JSON.stringify(conf), env, timeoutMs });
  if (r.timedOut) throw new CniError(`CNI ${command} of plugin ${pluginPath.split("/").pop()} did not finish within ${timeoutMs / 1000} s and was killed (cni.timeout)`);
  if (r.code !== 0) {
    let msg = r.stderr.trim() || r.stdout.trim();
    try {
      const doc = JSON.parse(r.stdout) as { msg?: string; details?: string; code?: number };
      if (doc.msg) msg = `${doc.msg}${doc.details ? `: ${doc.details}` : ""} (CNI error ${doc.code})`;
    } catch {
      /* not a CNI error document */
    }
    throw new CniError(`CNI ${command} of plugin ${pluginPath.split("/").pop()} failed: ${msg}`);
  }
  if (command === "DEL" || !r.stdout.trim()) return undefined;
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new CniError(`CNI plugin ${pluginPath} returned a result that is not JSON`);
  }
}

/**
 * The bridge plugin (1.1) now and then fails the first ADD on a bridge with
 * "could not set bridge's mac: invalid argument" (containerd/nerdctl#4283);
 * the same ADD after a DEL goes through. Retried once, for that error only.
 */
const BRIDGE_MAC_RACE = /could not set bridge's mac: invalid argument/;

export function cniAdd(net: CniNetworkList, plugins: Record<string, string>, binDirs: string[], inv: CniInvocation): Promise<unknown> {
  return timed(cniDuration, { operation: "add" }, () =>
    addAll(net, plugins, binDirs, inv).catch(async (err: Error) => {
      if (!BRIDGE_MAC_RACE.test(err.message)) throw err;
      await delAll(net, plugins, binDirs, inv, undefined).catch(() => {});
      return addAll(net, plugins, binDirs, inv);
    }),
  );
}

async function addAll(net: CniNetworkList, plugins: Record<string, string>, binDirs: string[], inv: CniInvocation): Promise<unknown> {
  let result: unknown;
  for (const p of net.plugins) {
    const bin = plugins[p.type];
    if (!bin) throw new CniError(`CNI plugin "${p.type}" not found in ${binDirs.join(", ")}`);
    result = (await exec("ADD", bin, binDirs, pluginConfig(net, p, inv, result), inv)) ?? result;
  }
  return result;
}

export function cniDel(net: CniNetworkList, plugins: Record<string, string>, binDirs: string[], inv: CniInvocation, prevResult: unknown): Promise<void> {
  return timed(cniDuration, { operation: "del" }, () => delAll(net, plugins, binDirs, inv, prevResult));
}

async function delAll(net: CniNetworkList, plugins: Record<string, string>, binDirs: string[], inv: CniInvocation, prevResult: unknown): Promise<void> {
  for (const p of [...net.plugins].reverse()) {
    const bin = plugins[p.type];
    if (!bin) throw new CniError(`CNI plugin "${p.type}" not found in ${binDirs.join(", ")}`);
    await exec("DEL", bin, binDirs, pluginConfig(net, p, inv, prevResult), inv);
  }
}
