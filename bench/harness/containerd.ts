// containerd (Debian package, CRI plugin) with its own root, state, socket and
// CNI conf dir, for side-by-side measurements driven by the same CRI client
// that drives skiff. Registries on 127.0.0.1 are reached over plain http.

import { readFileSync } from "node:fs";
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildImage } from "../../test/support/oci-image.js";
import { CriClient } from "../../test/e2e/harness/cri-client.js";
import { startLogged, stopProcess, waitFor, type Started } from "../../test/e2e/harness/processes.js";
import { fixtureDir } from "../../test/e2e/harness/run-dir.js";

/** Where both runtimes' CNI plugins are (Debian's containernetworking-plugins). */
export const CNI_BIN_DIR = "/usr/lib/cni";

export interface ContainerdOptions {
  /** host:port of plain-http registries. */
  registries?: string[];
  /** CNI conf dir with the network pods use. */
  cniConfDir?: string;
  /** The pause image containerd runs for every pod. */
  sandboxImage?: string;
}

export class TestContainerd {
  readonly socket: string;
  readonly logFile: string;
  private proc?: Started;
  private clientValue?: CriClient;

  private constructor(readonly dir: string) {
    this.socket = path.join(dir, "containerd.sock");
    this.logFile = path.join(dir, "containerd.log");
    this.configFile = path.join(dir, "config.toml");
  }

  readonly configFile: string;

  static async start(options: ContainerdOptions = {}): Promise<TestContainerd> {
    const c = new TestContainerd(await fixtureDir("ctd"));
    const cni = options.cniConfDir ?? path.join(c.dir, "cni");
    await mkdir(cni, { recursive: true });
    const mirrors = (options.registries ?? [])
      .map((host) => `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${host}"]\n  endpoint = ["http://${host}"]`)
      .join("\n");
    const config = `version = 2
root = "${c.dir}/root"
state = "${c.dir}/state"
[grpc]
  address = "${c.socket}"
[ttrpc]
  address = "${c.socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${c.dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.sandboxImage ?? "registry.k8s.io/pause:3.6"}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # root here lacks CAP_SYS_RESOURCE: pause's oom_score_adj -998 would make runc fail
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${cni}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
${mirrors}
`;
    await writeFile(c.configFile, config);
    await c.start();
    return c;
  }

  /** Starts containerd on its config and waits until it answers. */
  async start(): Promise<void> {
    const proc = this.spawn();
    await waitFor("containerd to answer Version", async () => {
      if (proc.child.exitCode !== null) throw new Error(`containerd exited; see ${this.logFile}`);
      await this.client.runtime.Version({}, { timeoutMs: 1000 });
      return true;
    }, 30_000);
  }

  /** Starts containerd on its config and returns without waiting. */
  spawn(): Started {
    this.proc = startLogged("containerd", ["--config", this.configFile], this.logFile);
    return this.proc;
  }

  /** SIGKILL, as a crash would; the shims and their containers keep running. */
  async kill(): Promise<void> {
    if (this.proc) await stopProcess(this.proc, "SIGKILL");
  }

  get client(): CriClient {
    this.clientValue ??= new CriClient(this.socket);
    return this.clientValue;
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /**
   * Removes the pods a bench left (one that failed midway), so that their
   * pause processes, namespaces and NAT rules do not outlive the run; then
   * stops containerd.
   */
  async stop(): Promise<void> {
    if (this.proc?.child.exitCode === null) {
      const pods = await this.client.runtime.ListPodSandbox({}, { timeoutMs: 10_000 }).catch(() => ({ items: [] }));
      for (const pod of pods.items ?? []) {
        await this.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id }, { timeoutMs: 30_000 }).catch(() => {});
        await this.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id }, { timeoutMs: 30_000 }).catch(() => {});
      }
    }
    this.clientValue?.close();
    if (this.proc) await stopProcess(this.proc, "SIGTERM", 20_000);
    // containerd puts pods without a cgroup parent under k8s.io and leaves the empty dir.
    for (const c of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) await rmdir(`/sys/fs/cgroup/${c}/k8s.io`).catch(() => {});
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** A CNI conflist for containerd like skiff's built-in network: bridge, host-local, NAT, portmap. Returns its path. */
export async function writeBridgeConflist(dir: string, bridge: string, subnet: string): Promise<string> {
  const file = path.join(dir, "10-bench.conflist");
  await writeFile(
    file,
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "ctdbench",
      plugins: [
        { type: "bridge", bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: "host-local", dataDir: path.join(dir, "ipam"), ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }] } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    }),
  );
  return file;
}

/** containerd's pause image, built from the host's static catatonit (nothing can be pulled here). */
export function buildPauseImage() {
  return buildImage({
    base: false,
    layers: [[{ type: "file", path: "/pause", content: readFileSync("/usr/bin/catatonit"), mode: 0o755 }]],
    config: { Entrypoint: ["/pause", "-P"] },
  });
}
