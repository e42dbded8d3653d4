// The CNI plugins alone: the conflist containerd is given, run by skiff's CNI
// runner (src/sandbox/cni/runner.ts) in a network namespace pinned under the
// bench's own directory (src/sandbox/namespaces.ts; not `ip netns add`, which
// turns /run/netns into a shared mount under containerd's feet), outside any
// runtime. Every RunPodSandbox waits for their ADD and every
// StopPodSandbox for their DEL, on either runtime, so their times bound how
// far below containerd's a pod's start or stop can go on this machine.

import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { cniAdd, cniDel, type CniInvocation } from "../../src/sandbox/cni/runner.js";
import type { CniNetworkList } from "../../src/sandbox/cni/network-config.js";
import { createNamespaces, releaseNamespaces } from "../../src/sandbox/namespaces.js";
import { fixtureDir } from "../../test/e2e/harness/run-dir.js";
import { CNI_BIN_DIR as BIN_DIR } from "./containerd.js";
import { timed } from "./stats.js";

interface Attached {
  inv: CniInvocation;
  result: unknown;
}

export class CniFloor {
  private readonly attached = new Map<string, Attached>();
  private readonly made = new Set<string>();
  private counter = 0;

  private constructor(
    private readonly net: CniNetworkList,
    private readonly plugins: Record<string, string>,
    private readonly dir: string,
  ) {}

  static async open(conflistFile: string): Promise<CniFloor> {
    const net = JSON.parse(await readFile(conflistFile, "utf8")) as CniNetworkList;
    return new CniFloor(net, Object.fromEntries(net.plugins.map((p) => [p.type, `${BIN_DIR}/${p.type}`])), await fixtureDir("cni-floor"));
  }

  /** A new network namespace (not timed), then the chain's ADD in it (timed): ms and a handle for del. */
  async add(): Promise<{ ms: number; handle: string }> {
    const handle = `pod${this.counter++}`;
    const dir = path.join(this.dir, handle);
    await mkdir(dir);
    this.made.add(handle);
    const { net: netns } = await createNamespaces(dir, { net: true, ipc: false, uts: false, hostname: "", sysctls: { net: [], ipc: [] } });
    const inv: CniInvocation = {
      containerId: randomBytes(32).toString("hex"),
      netns: netns!,
      ifName: "eth0",
      args: [["K8S_POD_NAMESPACE", "bench"], ["K8S_POD_NAME", handle]],
      capabilities: { portMappings: [] },
    };
    const { ms, value } = await timed(() => cniAdd(this.net, this.plugins, [BIN_DIR], inv));
    this.attached.set(handle, { inv, result: value });
    return { ms, handle };
  }

  /** The chain's DEL (timed), then the namespace's removal (not timed). */
  async del(handle: string): Promise<number> {
    const a = this.attached.get(handle);
    if (!a) throw new Error(`no CNI ADD of ${handle} to undo`);
    const { ms } = await timed(() => cniDel(this.net, this.plugins, [BIN_DIR], a.inv, a.result));
    this.attached.delete(handle);
    await this.removeNamespace(handle);
    return ms;
  }

  /** Undoes whatever a failed run left attached, and removes the namespaces. */
  async cleanup(): Promise<void> {
    for (const [handle, a] of this.attached) {
      await cniDel(this.net, this.plugins, [BIN_DIR], a.inv, a.result).catch(() => {});
      this.attached.delete(handle);
    }
    for (const handle of this.made) await this.removeNamespace(handle);
  }

  private async removeNamespace(handle: string): Promise<void> {
    const dir = path.join(this.dir, handle);
    await releaseNamespaces({ net: path.join(dir, "net") });
    await rm(dir, { recursive: true, force: true });
    this.made.delete(handle);
  }
}
