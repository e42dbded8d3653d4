// Node-wide pod network settings: the pod CIDR (from config, replaced by
// kubelet's UpdateRuntimeConfig and remembered across restarts) and the
// readiness of the CNI network that pods will use.

import path from "node:path";
import type { CniConfig } from "../config/config.js";
import { invalidArgument } from "../errors.js";
import { readJsonFile, writeFileAtomic } from "../store/atomic-file.js";
import { parseCidr } from "../util/cidr.js";
import { discoverNetwork, type NetworkReadiness } from "./cni/discovery.js";

interface Persisted {
  podCidr: string;
}

export class PodNetwork {
  private podCidrValue: string;
  private readonly settingsFile: string;
  readonly ipamDataDir: string;

  constructor(
    private readonly cni: CniConfig,
    root: string,
  ) {
    this.podCidrValue = cni.podCidr;
    this.settingsFile = path.join(root, "network", "settings.json");
    this.ipamDataDir = path.join(root, "network", "ipam");
  }

  async load(): Promise<void> {
    const saved = await readJsonFile<Persisted>(this.settingsFile);
    if (saved?.podCidr && parseCidr(saved.podCidr)) this.podCidrValue = saved.podCidr;
  }

  get podCidr(): string {
    return this.podCidrValue;
  }

  /** kubelet may send several comma-separated CIDRs (dual stack); the first is used. */
  async setPodCidr(value: string): Promise<void> {
    const cidrs = value.split(",").map((s) => s.trim()).filter(Boolean);
    if (cidrs.length === 0) return; // kubelet sends an empty CIDR when it has none: nothing to change
    for (const c of cidrs) {
      if (!parseCidr(c)) throw invalidArgument(`pod CIDR "${c}" is not a CIDR such as 10.85.0.0/16`);
    }
    const first = cidrs[0]!;
    if (first === this.podCidrValue) return;
    await writeFileAtomic(this.settingsFile, JSON.stringify({ podCidr: first } satisfies Persisted));
    this.podCidrValue = first;
  }

  readiness(): Promise<NetworkReadiness> {
    return discoverNetwork(this.cni, this.podCidrValue, this.ipamDataDir);
  }
}
