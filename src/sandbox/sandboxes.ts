// Pod sandbox lifecycle. A sandbox is a set of pinned namespaces (net, ipc,
// uts, and with hostUsers: false a user namespace owning them), a CNI
// attachment, a /dev/shm tmpfs, per-pod hostname/hosts/resolv.conf files, and,
// only for a shared PID namespace, an infra process.
//
// Durability: the record is written (state "creating") before any effect and
// updated after each one; start-up recovery finishes or undoes what a killed
// daemon left: a sandbox is either fully working or cleanly NOTREADY.

import { chown, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import type { Socket } from "node:net";
import path from "node:path";
import type { Config } from "../config/config.js";
import { errorMessage, failedPrecondition, notFound } from "../errors.js";
import type { Logger } from "../log.js";
import { replaceFile } from "../native/index.js";
import { removeCgroupIfEmpty } from "../runtime/cgroups.js";
import type { Runtimes, RuntimeSnapshot } from "../runtime/runtimes.js";
import { isId, newId } from "../store/ids.js";
import { RecordStore } from "../store/record-store.js";
import { findInDirs } from "../util/executable.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { forEachLimited } from "../util/limit.js";
import { mountPoints, mountTmpfs, unmountAll } from "../util/mounts.js";
import { stepTimer } from "../util/step-timer.js";
import { nowNanos } from "../util/time.js";
import type { CniNetworkList } from "./cni/network-config.js";
import { removeNatLeftovers } from "./cni/nat-leftovers.js";
import { ipsOfResult } from "./cni/result.js";
import { cniAdd, cniDel, type CniInvocation } from "./cni/runner.js";
import { filterSandboxes, type SandboxFilter } from "./filter.js";
import { DEFAULT_CGROUP_PARENT, ensureInfraRootfs, startInfra, stopInfra } from "./infra.js";
import { createNamespaces, everyNamespacePath, isPinnedNamespace, namespacePaths, releaseNamespaces } from "./namespaces.js";
import { hostsFile, resolvConf } from "./pod-files.js";
import { connectPodPort } from "./pod-port.js";
import { applyPodResources, withOverhead, type PodResources } from "./pod-resources.js";
import type { PodNetwork } from "./pod-network.js";
import { planSysctls } from "./sysctls.js";
import { sandboxName, type SandboxRecord, type SandboxSpec } from "./types.js";
import { toHostId } from "./userns.js";

/**
 * Objects checked at once after a restart: each check waits on a runtime process
 * or the kernel, so a few in flight finish sooner than one by one, while the
 * daemon keeps answering Version and Status.
 */
const RECOVERY_CONCURRENCY = 8;

/** The pod's hostname, hosts and resolv.conf: bind-mounted read-only into its containers, so readable by all. */
const POD_FILE = { mode: 0o644, durable: false };

/** The host ids of root in the pod's user namespace; undefined without one. */
function podRoot(spec: SandboxSpec): { uid: number; gid: number } | undefined {
  const u = spec.userNamespace;
  return u && { uid: toHostId(0, u.uids)!, gid: toHostId(0, u.gids)! };
}

/**
 * In a pod with its own user namespace, the pod's files belong to its root, as
 * they do to the host's root in other pods (files the kernel shows as owned by
 * nobody would be read-only to the pod's root).
 */
async function ownByPodRoot(record: SandboxRecord, files: string[]): Promise<void> {
  const root = podRoot(record.spec);
  if (root) await Promise.all(files.map((f) => chown(path.join(record.filesDir, f), root.uid, root.gid)));
}

export interface SandboxDeps {
  config: Config;
  podNetwork: PodNetwork;
  runtimes: Runtimes;
  log: Logger;
}

/** What the container service does when a pod stops or goes (set once containers exist). */
export interface PodContainerHooks {
  stopAll(sandboxId: string): Promise<void>;
  removeAll(sandboxId: string): Promise<void>;
}

export class Sandboxes {
  readonly store: RecordStore<SandboxRecord>;
  private readonly locks = new KeyedMutex();
  private readonly stateRoot: string;
  private readonly filesRoot: string;
  hooks: PodContainerHooks = { stopAll: async () => {}, removeAll: async () => {} };

  constructor(private readonly deps: SandboxDeps) {
    this.store = new RecordStore<SandboxRecord>(path.join(deps.config.root, "sandboxes"), "sandbox", { warn: (m) => deps.log.warn(m) });
    this.stateRoot = path.join(deps.config.state, "sandboxes");
    this.filesRoot = path.join(deps.config.root, "sandbox-files");
  }

  /** Reads the records; recover() then reconciles them with the host (the daemon does that after listening). */
  async load(): Promise<void> {
    await this.store.load();
  }

  private log(id: string) {
    return this.deps.log.child({ pod_sandbox_id: id });
  }

  /** Every record, those of sandboxes still being created included. */
  records(): SandboxRecord[] {
    return this.store.all();
  }

  list(filter: SandboxFilter): SandboxRecord[] {
    return filterSandboxes(this.store.all(), filter);
  }

  /** A ready or stopped sandbox by id or unique prefix; NOT_FOUND otherwise. */
  get(query: string): SandboxRecord {
    const r = this.store.require(query);
    if (r.state === "creating") throw failedPrecondition(`sandbox ${r.id} is still being created`);
    return r;
  }

  find(query: string): SandboxRecord | undefined {
    const r = this.store.find(query);
    return r?.state === "creating" ? undefined : r;
  }

  /**
   * A TCP connection to localhost:port inside a ready sandbox's network
   * namespace (PortForward). A host-network pod's localhost is the node's.
   */
  async connectPort(query: string, port: number): Promise<Socket> {
    const r = this.get(query);
    if (r.state !== "ready") throw failedPrecondition(`sandbox ${r.id} is ${r.state}, not ready`);
    return connectPodPort(r.namespaces.net, port);
  }

  async run(spec: SandboxSpec): Promise<SandboxRecord> {
    const { config, podNetwork, runtimes } = this.deps;
    const { step, steps } = stepTimer();
    const handler = runtimes.resolveName(spec.runtimeHandler);
    const hostNet = spec.namespaces.network === "NODE";
    const hostIpc = spec.namespaces.ipc === "NODE";
    const sysctls = planSysctls(spec.sysctls, { hostNetwork: hostNet, hostIpc });
    const needInfra = spec.namespaces.pid === "POD";
    const runtime = needInfra ? runtimes.get(handler) : undefined;
    if (spec.userNamespace) {
      const problem = await runtimes.userNamespaceProblem(handler);
      if (problem) throw failedPrecondition(`RunPodSandbox: runtime handler "${handler}" cannot run a pod with its own user namespace: ${problem}`);
    }
    let network: CniNetworkList | undefined;
    let plugins: Record<string, string> = {};
    if (!hostNet) {
      const readiness = await podNetwork.readiness();
      if (!readiness.ready || !readiness.network) throw failedPrecondition(readiness.message ?? "the pod network is not ready");
      network = readiness.network;
      plugins = readiness.plugins;
    }

    const id = newId();
    const stateDir = path.join(this.stateRoot, id);
    const record: SandboxRecord = {
      id,
      name: sandboxName(spec.metadata),
      spec,
      state: "creating",
      createdAt: nowNanos(),
      runtimeHandler: handler,
      // Pinned in the state dir itself (earlier versions: in its ns/ subdirectory; their records say so).
      namespaces: namespacePaths(stateDir, { user: spec.userNamespace, net: !hostNet, ipc: !hostIpc, uts: !hostNet }),
      shm: hostIpc ? undefined : path.join(stateDir, "shm"),
      hostname: hostNet ? os.hostname() : spec.hostname || os.hostname(),
      filesDir: path.join(this.filesRoot, id),
      // Planned up front so that recovery of a half-made sandbox runs CNI DEL
      // (which is idempotent) without an extra write before ADD.
      network: network ? { config: network, result: null, ips: [], attached: true } : undefined,
    };
    step("checks");
    // Takes the name now; the record is written while the namespaces are made
    // (a crash meanwhile leaves only what recovery's sweep of unknown ids removes).
    const reserved = this.store.create(record);
    reserved.catch(() => {}); // awaited below
    const log = this.log(id);
    return this.locks.run(id, async () => {
      let current = record;
      const save = async (change: Partial<SandboxRecord>) => {
        current = { ...current, ...change };
        await this.store.put(current);
      };
      try {
        const hostname = record.hostname!;
        // Files and shm do not depend on the namespaces: prepare them meanwhile.
        const filesReady = this.prepareFiles(record, hostname);
        let ips: string[] = [];
        try {
          await createNamespaces(stateDir, { user: spec.userNamespace, net: !hostNet, ipc: !hostIpc, uts: !hostNet, hostname, sysctls });
          step("namespaces");
          // Durable before what only the record lets recovery undo: the CNI address, the infra.
          await reserved;
          step("reserve");
          const networked = (async () => {
            if (!network) return;
            const result = await cniAdd(network, plugins, config.cni.binDirs, this.cniInvocation(current));
            ips = ipsOfResult(result);
            if (ips.length === 0) throw new Error(`CNI network "${network.name}" gave the pod no IP address`);
            // Persisted with the next write: DEL needs no prevResult to release the address.
            current = { ...current, network: { config: network, result, ips, attached: true } };
          })();
          // The infra needs only the namespaces (it joins them by path), not their
          // network: it starts while the CNI plugins run, which wait more than they compute.
          const infraStarted = (async () => {
            if (!runtime) return;
            const bundle = path.join(stateDir, "infra");
            await save({ infra: { containerId: id, pid: 0, bundle } });
            const infra = await startInfra(runtime, {
              sandboxId: id,
              bundle,
              rootfs: await ensureInfraRootfs(config.root),
              namespaces: current.namespaces,
              userNamespace: spec.userNamespace,
              cgroupParent: spec.cgroupParent,
            });
            await save({ infra });
          })();
          // Both settle before anything is undone: the undo must see the infra if it was recorded.
          const failed = (await Promise.allSettled([networked, infraStarted])).find((x): x is PromiseRejectedResult => x.status === "rejected");
          if (failed) throw failed.reason;
          step(runtime ? "cni+infra" : "cni");
        } finally {
          await filesReady.catch(() => {}); // its own failure is reported below; cleanup needs it settled
        }
        await filesReady;
        const hostsWritten = (async () => {
          await replaceFile(record.filesDir, "hosts", hostNet ? await readFile("/etc/hosts", "utf8").catch(() => hostsFile(hostname, [])) : hostsFile(hostname, ips), POD_FILE);
          await ownByPodRoot(record, ["hosts"]);
        })();
        // Written together: a crash between them leaves a ready record without
        // hosts, which recovery's health check turns NOTREADY.
        await Promise.all([hostsWritten, save({ state: "ready" })]);
        step("ready");
        log.info({ name: record.name, ips, infra: !!runtime, steps }, "sandbox ready");
        return current;
      } catch (err) {
        log.warn({ err: errorMessage(err) }, "sandbox creation failed; undoing it");
        // Best effort: a plugin that failed ADD may fail DEL too, and the pod's
        // mounts and namespaces must go all the same (nothing will retry).
        const after = await this.teardown(current).catch((e) => {
          log.error({ err: errorMessage(e) }, "tearing down a failed sandbox failed; releasing the rest");
          return current;
        });
        await this.releaseLocal(after).catch((e) => log.error({ err: errorMessage(e) }, "undoing a failed sandbox left something behind"));
        await this.store.delete(id);
        throw err;
      }
    });
  }

  /** hostname and resolv.conf files, and the shm tmpfs. */
  private async prepareFiles(record: SandboxRecord, hostname: string): Promise<void> {
    await mkdir(record.filesDir, { recursive: true, mode: 0o755 });
    const hostResolv = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
    await Promise.all([
      replaceFile(record.filesDir, "hostname", `${hostname}\n`, POD_FILE),
      replaceFile(record.filesDir, "resolv.conf", resolvConf(record.spec.dns, hostResolv), POD_FILE),
    ]);
    await ownByPodRoot(record, ["hostname", "resolv.conf"]);
    if (record.shm) {
      await mkdir(record.shm, { recursive: true });
      await mountTmpfs(record.shm, { mode: 0o1777, sizeBytes: record.spec.shmSize, owner: podRoot(record.spec) });
    }
  }

  private cniInvocation(r: SandboxRecord): CniInvocation {
    const m = r.spec.metadata;
    return {
      containerId: r.id,
      netns: r.namespaces.net ?? "",
      ifName: "eth0",
      args: [
        ["K8S_POD_NAMESPACE", m.namespace],
        ["K8S_POD_NAME", m.name],
        ["K8S_POD_INFRA_CONTAINER_ID", r.id],
        ["K8S_POD_UID", m.uid],
      ],
      capabilities: {
        portMappings: r.spec.portMappings.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp })),
        ...(r.spec.dns ? { dns: r.spec.dns } : {}),
      },
      timeoutMs: this.deps.config.cni.timeoutSeconds * 1000,
    };
  }

  /**
   * Stops the infra process and detaches the network, side by side (the
   * network namespace is pinned by its own mount, not by the infra), then
   * unmounts shm. What is done is recorded in one write, with `after` (the
   * caller's own change, such as NOTREADY) when both succeeded, so that a stop
   * fsyncs once; both steps may run again after a crash (the runtime's delete
   * and CNI DEL take what is already gone).
   */
  private async teardown(r: SandboxRecord, after: Partial<SandboxRecord> = {}): Promise<SandboxRecord> {
    const change: Partial<SandboxRecord> = {};
    const steps: Promise<void>[] = [];
    if (r.infra) steps.push(this.stopInfraOf(r, r.infra).then(() => void (change.infra = undefined)));
    if (r.network?.attached) steps.push(this.detachNetwork(r).then(() => void (change.network = { ...r.network!, attached: false })));
    const results = await Promise.allSettled(steps);
    const failed = results.find((x): x is PromiseRejectedResult => x.status === "rejected");
    let current = r;
    if (Object.keys(change).length) current = await this.saveIfStored(r, failed ? change : { ...change, ...after });
    if (failed) throw failed.reason;
    if (current.shm) await unmountAll(current.shm);
    return current;
  }

  private async stopInfraOf(r: SandboxRecord, infra: NonNullable<SandboxRecord["infra"]>): Promise<void> {
    const runtime = this.deps.runtimes.get(r.runtimeHandler);
    // One that never started (pid 0: its runtime failed) must not keep the network from being released.
    await stopInfra(runtime, infra).catch((err: Error) => {
      if (infra.pid) throw err;
      this.log(r.id).warn({ err: errorMessage(err) }, "cannot clean up the runtime state of an infra process that never started");
    });
    // runc removed the infra's own cgroup; skiff's default parent goes once empty (kubelet owns pod cgroups).
    if (!r.spec.cgroupParent) await removeCgroupIfEmpty(DEFAULT_CGROUP_PARENT, this.deps.runtimes.cgroups);
  }

  private async detachNetwork(r: SandboxRecord): Promise<void> {
    const net = r.network!.config as CniNetworkList;
    const plugins: Record<string, string> = {};
    for (const p of net.plugins) {
      const found = await findInDirs(p.type, this.deps.config.cni.binDirs);
      if (found) plugins[p.type] = found;
    }
    // CNI wants an empty CNI_NETNS once the namespace is gone; the plugins
    // then release what they can (the address) without entering it.
    const netnsAlive = !!r.namespaces.net && (await isPinnedNamespace(r.namespaces.net));
    const inv = { ...this.cniInvocation(r), netns: netnsAlive ? r.namespaces.net! : "" };
    await cniDel(net, plugins, this.deps.config.cni.binDirs, inv, r.network!.result ?? undefined);
    if (!netnsAlive) await removeNatLeftovers(r.id);
  }

  /** Everything teardown does, plus the namespace files and directories. */
  private async release(r: SandboxRecord): Promise<void> {
    await this.releaseLocal(await this.teardown(r));
  }

  /** The node-local part of release: the shm mount, the namespace pins, the directories. */
  private async releaseLocal(r: SandboxRecord): Promise<void> {
    if (r.shm) await unmountAll(r.shm);
    await releaseNamespaces(r.namespaces);
    await rm(path.join(this.stateRoot, r.id), { recursive: true, force: true });
    await rm(r.filesDir, { recursive: true, force: true });
  }

  private async saveIfStored(r: SandboxRecord, change: Partial<SandboxRecord>): Promise<SandboxRecord> {
    const next = { ...r, ...change };
    if (this.store.get(r.id)) await this.store.put(next);
    return next;
  }

  /** Runs `fn` on the sandbox under its lock; an unknown (or meanwhile removed) id is a no-op. */
  private async withSandbox(query: string, fn: (r: SandboxRecord) => Promise<void>): Promise<void> {
    const found = this.store.find(query);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const r = this.store.get(found.id);
      if (r) await fn(r);
    });
  }

  /**
   * In-place pod resize: the pod's new limits (plus its overhead) go into its
   * cgroup, the one kubelet named in cgroup_parent, and into its record.
   */
  async updateResources(query: string, resources: PodResources, overhead: PodResources): Promise<void> {
    const id = this.get(query).id;
    await this.locks.run(id, async () => {
      const r = this.store.get(id);
      if (!r) throw notFound(`sandbox ${id} was removed`);
      if (r.state !== "ready") throw failedPrecondition(`sandbox ${id} is ${r.state}, not ready: its resources cannot change`);
      if (!r.spec.cgroupParent) throw failedPrecondition(`sandbox ${id} has no cgroup of its own (its config had no cgroup_parent): there is no pod-level cgroup to resize`);
      const limits = withOverhead(resources, overhead);
      try {
        await applyPodResources(r.spec.cgroupParent, limits, this.deps.runtimes.cgroups);
      } catch (err) {
        throw failedPrecondition(errorMessage(err));
      }
      await this.store.put({ ...r, resources: limits });
      this.log(id).info({ resources: limits }, "pod resources updated");
    });
  }

  /** Idempotent: an unknown id, or an already stopped sandbox, is not an error. */
  async stop(query: string): Promise<void> {
    await this.withSandbox(query, async (r) => {
      const { step, steps } = stepTimer();
      await this.hooks.stopAll(r.id);
      step("containers");
      const after = await this.teardown(r, { state: "notready" });
      step("teardown");
      if (after.state !== "notready") await this.store.put({ ...after, state: "notready" });
      this.log(r.id).info({ steps }, "sandbox stopped");
    });
  }

  /** Idempotent: stops if needed, removes its containers, then everything else. */
  async remove(query: string): Promise<void> {
    await this.withSandbox(query, async (r) => {
      await this.hooks.stopAll(r.id);
      await this.hooks.removeAll(r.id);
      await this.release(r);
      await this.store.delete(r.id);
      this.log(r.id).info("sandbox removed");
    });
  }

  /** After a restart: undo half-created sandboxes, and mark broken ready ones NOTREADY. */
  async recover(): Promise<void> {
    // Nothing else mounts while recovery runs (calls that change pods wait for it): one read of the mount table serves every pod.
    const mounted = await mountPoints();
    const runtimes = await this.deps.runtimes.snapshot(this.store.all().flatMap((r) => (r.infra ? [r.runtimeHandler] : [])));
    await forEachLimited(this.store.all(), RECOVERY_CONCURRENCY, async (r) => {
      const log = this.log(r.id);
      try {
        if (r.state === "creating") {
          log.warn("sandbox was being created when the daemon stopped; undoing it");
          await this.release(r);
          await this.store.delete(r.id);
          return;
        }
        if (r.state !== "ready") return;
        const problem = await this.health(r, mounted, runtimes);
        if (problem) {
          log.warn({ problem }, "sandbox lost part of its state while the daemon was down; stopping it");
          const after = await this.teardown(r, { state: "notready" }).catch((err) => {
            log.error({ err: errorMessage(err) }, "cleanup of a broken sandbox failed; StopPodSandbox will retry");
            return r;
          });
          if (after.state !== "notready") await this.store.put({ ...after, state: "notready" });
        }
      } catch (err) {
        log.error({ err: errorMessage(err) }, "sandbox recovery failed");
      }
    });
    await this.sweepUnrecorded();
  }

  /**
   * Removes what a creation cut short before its record was written left
   * behind (namespace pins, the shm mount, the directories): entries named
   * like a sandbox id that no record knows. Nothing else is touched.
   */
  private async sweepUnrecorded(): Promise<void> {
    for (const root of [this.stateRoot, this.filesRoot]) {
      for (const name of await readdir(root).catch(() => [])) {
        if (!isId(name) || this.store.get(name)) continue;
        const dir = path.join(root, name);
        try {
          if (root === this.stateRoot) {
            // Both layouts: the pins in the dir itself, and (earlier versions) in its ns/ subdirectory.
            for (const pins of [dir, path.join(dir, "ns")]) await releaseNamespaces(everyNamespacePath(pins));
            await unmountAll(path.join(dir, "shm"));
          }
          await rm(dir, { recursive: true, force: true });
          this.log(name).warn({ dir }, "removed what an interrupted sandbox creation left behind");
        } catch (err) {
          this.log(name).error({ dir, err: errorMessage(err) }, "cannot remove what an interrupted sandbox creation left behind");
        }
      }
    }
  }

  /** What is wrong with a READY sandbox, or undefined. */
  private async health(r: SandboxRecord, mounted: Set<string>, runtimes: RuntimeSnapshot): Promise<string | undefined> {
    for (const [kind, file] of Object.entries(r.namespaces)) {
      if (file && !mounted.has(file)) return `${kind} namespace file ${file} is gone`;
    }
    if (r.shm && !mounted.has(r.shm)) return `shm ${r.shm} is not mounted`;
    const hosts = path.join(r.filesDir, "hosts");
    if (!(await stat(hosts).then((st) => st.size > 0, () => false))) return `hosts file ${hosts} is missing or empty`;
    if (r.infra) {
      const state = await runtimes.state(r.runtimeHandler, r.infra.containerId);
      if (state?.status !== "running") return `infra process is ${state?.status ?? "gone"}`;
    }
    return undefined;
  }
}
