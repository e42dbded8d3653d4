// Finds the pod network skiff will use and whether it can be used now: the
// lexically first valid config in the conf dir (or the built-in network when
// the dir is empty and that is allowed), and every plugin binary it needs.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { CniConfig } from "../../config/config.js";
import { findInDirs } from "../../util/executable.js";
import { builtinNetwork, isCniConfigFileName, parseCniConfigFile, requiredPlugins, type CniNetworkList } from "./network-config.js";

export interface NetworkReadiness {
  ready: boolean;
  /** Set when not ready: conventional reason and a message naming what is missing. */
  reason?: string;
  message?: string;
  network?: CniNetworkList;
  /** Plugin name -> absolute path, for the plugins found. */
  plugins: Record<string, string>;
  /** Config files that were skipped, with why. */
  skipped: string[];
}

const NOT_READY = "NetworkPluginNotReady";
const PREFIX = "Network plugin returns error: cni plugin not initialized";

async function listConfigFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(isCniConfigFileName).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export async function discoverNetwork(cni: CniConfig, podCidr: string, ipamDataDir: string): Promise<NetworkReadiness> {
  const skipped: string[] = [];
  let network: CniNetworkList | undefined;
  for (const name of await listConfigFiles(cni.confDir)) {
    const file = path.join(cni.confDir, name);
    try {
      network = parseCniConfigFile(file, await readFile(file, "utf8"));
      break;
    } catch (err) {
      skipped.push((err as Error).message);
    }
  }
  if (!network && cni.builtinNetwork) network = builtinNetwork({ bridge: cni.bridge, podCidr, ipamDataDir });
  if (!network) {
    const why = skipped.length ? `no valid network config in ${cni.confDir} (${skipped.join("; ")})` : `no network config found in ${cni.confDir}`;
    return { ready: false, reason: NOT_READY, message: `${PREFIX}: ${why}`, plugins: {}, skipped };
  }

  const plugins: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of requiredPlugins(network)) {
    const found = await findInDirs(name, cni.binDirs);
    if (found) plugins[name] = found;
    else missing.push(name);
  }
  if (missing.length) {
    return {
      ready: false,
      reason: NOT_READY,
      message: `${PREFIX}: plugin ${missing.map((m) => `"${m}"`).join(", ")} of network "${network.name}" not found in ${cni.binDirs.join(", ")}`,
      network,
      plugins,
      skipped,
    };
  }
  return { ready: true, network, plugins, skipped };
}
