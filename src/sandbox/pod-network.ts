// Node-wide pod network settings: the pod CIDR (from config, replaced by
// kubelet's UpdateRuntimeConfig and remembered across restarts) and the
// readiness of the CNI network that pods will use. A ready network is kept
// until its config dir or plugin dirs change (inotify), so that neither
// RunPodSandbox nor kubelet's Status polls read the dirs each time.

import { existsSync, watch, type FSWatcher } from "node:fs";
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
  private cached?: NetworkReadiness;
  /** Bumped by every change seen: a discovery that overlapped one is not kept. */
  private generation = 0;
  private watchers: FSWatcher[] = [];

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
    this.invalidate(); // the built-in network's range comes from it
  }

  async readiness(): Promise<NetworkReadiness> {
    if (this.cached) return this.cached;
    const generation = this.generation;
    const watching = this.watchDirs();
    const found = await discoverNetwork(this.cni, this.podCidrValue, this.ipamDataDir);
    if (found.ready && watching && generation === this.generation) this.cached = found;
    return found;
  }

  /** Forgets the cached network and stops watching until the next discovery. */
  invalidate(): void {
    this.generation++;
    this.cached = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /**
   * Watches the conf dir and each plugin dir (a missing plugin dir through
   * its nearest existing parent, which sees it appear). False when the conf
   * dir cannot be watched: nothing is cached then.
   */
  private watchDirs(): boolean {
    if (this.watchers.length) return true;
    if (!existsSync(this.cni.confDir)) return false;
    const dirs = new Set([this.cni.confDir, ...this.cni.binDirs.map(nearestExisting)]);
    try {
      for (const dir of dirs) {
        const w = watch(dir, { persistent: false }, () => this.invalidate());
        w.on("error", () => this.invalidate());
        this.watchers.push(w);
      }
      return true;
    } catch {
      this.invalidate();
      return false;
    }
  }
}

function nearestExisting(dir: string): string {
  let d = path.resolve(dir);
  while (!existsSync(d) && d !== path.dirname(d)) d = path.dirname(d);
  return d;
}
