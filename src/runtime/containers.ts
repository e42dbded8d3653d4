// Container lifecycle: CREATED -> RUNNING -> EXITED, through one conmon per
// container. The record is written before effects; exits are noticed through
// conmon's exit files (watched, not polled), also for exits that happened
// while the daemon was down.

import { randomBytes } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { chown, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Config } from "../config/config.js";
import { deadlineExceeded, errorMessage, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { Images } from "../image-service/images.js";
import { topChainId } from "../image-service/image-record.js";
import type { Logger } from "../log.js";
import { readSmallFiles, replaceFile } from "../native/index.js";
import { ociRuntimeDuration, oomKills, timed } from "../observability/metrics.js";
import type { Sandboxes } from "../sandbox/sandboxes.js";
import { podHostname, type SandboxRecord } from "../sandbox/types.js";
import { isId, newId } from "../store/ids.js";
import { RecordStore } from "../store/record-store.js";
import { run } from "../util/exec.js";
import { findExecutable } from "../util/executable.js";
import { EventBus } from "../util/event-bus.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { stepTimer } from "../util/step-timer.js";
import { laterNanos, nowNanos } from "../util/time.js";
import { relayStdio } from "./attach-socket.js";
import { AttachPrimer } from "./attach-primer.js";
import { loadCdiSpecs, resolveCdiDevices, type CdiDeviceNode, type CdiEdits } from "./cdi.js";
import { removeCgroupIfEmpty, supportsRecursiveReadOnly } from "./cgroups.js";
import { monitorAlive, startConmon, writeConmonControl, type HeldConmon } from "./conmon.js";
import { execSync, type ExecResult } from "./exec-sync.js";
import { runExecSession } from "./exec-session.js";
import { checkMountPropagation } from "./mount-propagation.js";
import { OciRuntime } from "./oci-runtime.js";
import { mountImageReadonly, mountRootfs, unmountRootfs } from "./rootfs.js";
import { containerUserNamespace } from "./container-userns.js";
import { unpackCheckpoint } from "./checkpoint/archive.js";
import { readCheckpointDump, writeCheckpointArchive } from "./checkpoint/checkpoint.js";
import { IMAGES_DIR, mergeRestoreRequest, namesArchive, type CheckpointDump } from "./checkpoint/checkpoint-archive.js";
import { idmapVolumes, releaseIdmapped, type PodUserNamespace } from "./idmapped-mounts.js";
import type { Runtimes, RuntimeSnapshot } from "./runtimes.js";
import { buildContainerSpec, capabilitiesOfMask, DEFAULT_CGROUP_PARENT, ociResources } from "./spec/container-spec.js";
import { parseLocalhostProfile } from "./spec/seccomp.js";
import type { ContainerEvent, ContainerRecord, ContainerRequest, DeviceNode, MountRequest } from "./types.js";
import type { ProcessStdio } from "./stdio.js";
import { ImageAccounts } from "./image-accounts.js";
import { identityInside, parseProcessIdentity, readAccounts, resolveInRoot, resolveUser, type ProcessIdentity } from "./user.js";
import { forEachLimited } from "../util/limit.js";

export interface ContainerDeps {
  config: Config;
  images: Images;
  sandboxes: Sandboxes;
  runtimes: Runtimes;
  log: Logger;
}

export interface ContainerFilter {
  id?: string;
  sandboxId?: string;
  state?: ContainerRecord["state"];
  labels?: Record<string, string>;
}

/** How long after a container's exit its runtime state is deleted, if its RemoveContainer has not come by then. */
const RUNTIME_RELEASE_DELAY_MS = 1000;

/** How long ReopenContainerLog waits for conmon to make the log file again. */
const LOG_REOPEN_WAIT_MS = 5000;

/**
 * Objects checked at once after a restart: each check waits on a runtime process
 * or the kernel, so a few in flight finish sooner than one by one, while the
 * daemon keeps answering Version and Status.
 */
const RECOVERY_CONCURRENCY = 8;

/** Linux dev_t -> major/minor (glibc's gnu_dev_major/minor encoding). Pure. */
export function splitDevice(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)),
  };
}

/** Reads type and numbers of a host device for the spec; a non-device is INVALID_ARGUMENT. */
/** A CDI device node: its numbers as the spec gives them, else read from the host's node. */
async function cdiDeviceNode(d: CdiDeviceNode): Promise<DeviceNode> {
  const hostPath = d.hostPath ?? d.path;
  if (d.type === "p") throw invalidArgument(`CDI device node ${d.path}: FIFOs are not supported`);
  const given = d.type === "u" ? "c" : d.type;
  const st = given && d.major !== undefined && d.minor !== undefined ? undefined : await stat(hostPath).catch(() => undefined);
  if (st && !(st.isCharacterDevice() || st.isBlockDevice())) throw invalidArgument(`CDI device node ${d.path}: ${hostPath} is not a device on this node`);
  if (!st && !(given && d.major !== undefined && d.minor !== undefined)) throw invalidArgument(`CDI device node ${d.path}: ${hostPath} does not exist on this node`);
  const numbers = st ? splitDevice(BigInt(st.rdev)) : { major: d.major!, minor: d.minor! };
  return {
    path: d.path,
    type: given ?? (st!.isCharacterDevice() ? "c" : "b"),
    major: d.major ?? numbers.major,
    minor: d.minor ?? numbers.minor,
    fileMode: d.fileMode ?? (st ? st.mode & 0o777 : 0o666),
    permissions: d.permissions || "rwm",
  };
}

async function hostDevice(d: ContainerRequest["devices"][number]): Promise<DeviceNode> {
  const st = await stat(d.hostPath).catch(() => undefined);
  if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) throw invalidArgument(`device host_path "${d.hostPath}" is not a device on this node`);
  const { major, minor } = splitDevice(BigInt(st.rdev));
  return {
    path: d.containerPath,
    type: st.isCharacterDevice() ? "c" : "b",
    major,
    minor,
    fileMode: st.mode & 0o777,
    permissions: d.permissions || "rwm",
  };
}

function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Removes a file that is empty (a log conmon opened for a container never created); anything else stays. */
async function removeIfEmpty(file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (st?.isFile() && st.size === 0) await rm(file, { force: true });
}

/** Exit status -> CRI reason. */
function reasonOf(code: number, oom: boolean): string {
  if (oom) return "OOMKilled";
  return code === 0 ? "Completed" : "Error";
}

export class Containers {
  readonly store: RecordStore<ContainerRecord>;
  private readonly locks = new KeyedMutex();
  private readonly exitDir: string;
  private readonly socketDir: string;
  private readonly execDir: string;
  private readonly exitWaiters = new Map<string, (() => void)[]>();
  /**
   * Exited containers whose runtime state (and with it their cgroup) is being
   * or has been deleted after their exit, as a shim does at a task's exit:
   * `runc delete` costs ~20 ms, mostly the kernel removing cgroups, which
   * neither StopContainer nor RemoveContainer then waits for.
   */
  private readonly runtimeReleases = new Map<string, Promise<void>>();
  /** Exited containers whose runtime state goes a moment after their exit (see scheduleRuntimeRelease). */
  private readonly scheduledReleases = new Map<string, NodeJS.Timeout>();
  /** "<id>/<pid>" -> the identity read from a running container's process (see inspect()), or its read under way. */
  private readonly identities = new Map<string, Promise<ProcessIdentity | undefined>>();
  /**
   * The OCI spec of each container created by this daemon, as the JSON text in
   * its bundle (a few KiB): a verbose ContainerStatus needs no read of it.
   */
  private readonly specTexts = new Map<string, string>();
  /** Removed containers whose leftovers are being removed (see remove()). */
  private readonly cleanups = new Map<string, { record: ContainerRecord; done: Promise<void> }>();
  private watcher?: FSWatcher;
  private oomFloor = 0;
  /** Resolved once: PATH lookups on every create would cost a few stats each. */
  private readonly executables = new Map<string, string>();
  private readonly accounts = new ImageAccounts();
  private availableCaps: string[] = [];
  private apparmor = false;
  private primer?: AttachPrimer;
  readonly events = new EventBus<ContainerEvent>();

  constructor(private readonly deps: ContainerDeps) {
    this.store = new RecordStore<ContainerRecord>(path.join(deps.config.root, "containers", "records"), "container", { warn: (m) => deps.log.warn(m) });
    this.exitDir = path.join(deps.config.state, "exits");
    this.socketDir = path.join(deps.config.state, "attach");
    this.execDir = path.join(deps.config.state, "exec");
  }

  async init(): Promise<void> {
    await mkdir(this.exitDir, { recursive: true });
    await mkdir(this.socketDir, { recursive: true });
    // Exec sessions do not survive a restart (their clients were connected to
    // the old daemon): only their directories are left to clear.
    await rm(this.execDir, { recursive: true, force: true });
    this.oomFloor = Number((await readFile("/proc/self/oom_score_adj", "utf8").catch(() => "0")).trim()) || 0;
    this.apparmor = await stat("/sys/kernel/security/apparmor").then(() => true, () => false);
    const status = await readFile("/proc/self/status", "utf8");
    this.availableCaps = capabilitiesOfMask(/^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0");
    this.primer = await AttachPrimer.detect((reason) => this.deps.log.info({ reason }, "cgroup attach priming turned off"));
    await this.store.load();
    this.watcher = watch(this.exitDir, (_event, file) => {
      if (file) void this.noticeExit(file.toString());
    });
    // A removed container's rootfs stays mounted on its snapshots until its clean-up is done.
    const records = () => [...this.store.all(), ...[...this.cleanups.values()].map((p) => p.record)];
    this.deps.images.setSnapshotUsers(() => records().flatMap((c) => [c.chainId, ...(c.imageVolumeChains ?? [])]));
    this.deps.sandboxes.hooks = {
      stopAll: async (sandboxId) => {
        for (const c of this.inSandbox(sandboxId)) await this.stop(c.id, 0);
      },
      removeAll: async (sandboxId) => {
        for (const c of this.inSandbox(sandboxId)) await this.remove(c.id);
        // The pod's cgroup, mounts and files go only after its containers' are gone.
        await Promise.all([...this.cleanups.values()].filter((p) => p.record.sandboxId === sandboxId).map((p) => p.done));
      },
    };
  }

  close(): void {
    this.watcher?.close();
    // What is not deleted now goes at the container's RemoveContainer.
    for (const timer of this.scheduledReleases.values()) clearTimeout(timer);
    this.scheduledReleases.clear();
  }

  private async executable(command: string): Promise<string> {
    let found = this.executables.get(command);
    if (!found) {
      found = (await findExecutable(command)) ?? command;
      this.executables.set(command, found);
    }
    return found;
  }

  /** The runtime with its program as an absolute path, which conmon needs (it searches no PATH). */
  private async resolved(runtime: OciRuntime): Promise<OciRuntime> {
    return new OciRuntime(runtime.handler, runtime.path, runtime.root, runtime.timeoutMs, await this.executable(runtime.program));
  }

  private publish(type: ContainerEvent["type"], id: string, sandboxId: string): void {
    this.events.publish({ type, containerId: id, at: nowNanos(), sandbox: this.deps.sandboxes.find(sandboxId), containers: this.inSandbox(sandboxId).filter((c) => c.state !== "creating") });
  }

  private inSandbox(sandboxId: string): ContainerRecord[] {
    return this.store.all().filter((c) => c.sandboxId === sandboxId);
  }

  private runtime(c: ContainerRecord): OciRuntime {
    return this.deps.runtimes.get(c.runtimeHandler);
  }

  list(f: ContainerFilter): ContainerRecord[] {
    return this.store.all().filter(
      (c) =>
        c.state !== "creating" &&
        (!f.id || c.id.startsWith(f.id)) &&
        (!f.sandboxId || c.sandboxId.startsWith(f.sandboxId)) &&
        (!f.state || c.state === f.state) &&
        Object.entries(f.labels ?? {}).every(([k, v]) => c.request.labels[k] === v),
    );
  }

  get(query: string): ContainerRecord {
    const c = this.store.require(query);
    if (c.state === "creating") throw notFound(`container "${query}" not found (it is still being created)`);
    return c;
  }

  async create(sandboxQuery: string, asked: ContainerRequest): Promise<ContainerRecord> {
    const { config, images, sandboxes } = this.deps;
    const { step, steps } = stepTimer();
    const pod = sandboxes.get(sandboxQuery);
    if (pod.state !== "ready") throw failedPrecondition(`sandbox ${pod.id} is not ready: containers can only be created in a ready pod`);
    // An image that is a checkpoint archive's path restores the container it holds.
    const restoring = namesArchive(asked.image) ? await this.checkpointToRestore(asked.image, pod) : undefined;
    const request = restoring ? mergeRestoreRequest(restoring, asked) : asked;
    const image = restoring ? images.store.get(restoring.imageId) : images.find(request.image);
    if (!image && restoring) throw failedPrecondition(`the image of checkpoint ${asked.image}, ${restoring.imageRef} (${restoring.imageId}), is not here: pull it first`);
    if (!image) throw notFound(`image "${request.image}" not found: pull it first`);
    const chainId = topChainId(image);
    if (!chainId) throw failedPrecondition(`image ${image.id} has no layers`);
    this.checkResources(request.resources);
    const cdi = await this.resolveCdi(request.cdiDevices ?? []);
    const rro = request.mounts.find((m) => m.recursiveReadOnly);
    if (rro && !supportsRecursiveReadOnly(config.runtimeHandlers[this.deps.runtimes.resolveName(pod.runtimeHandler)]!.path, os.release())) {
      throw invalidArgument(`the mount at ${rro.containerPath} asks to be read-only recursively, which runtime handler "${pod.runtimeHandler}" cannot do here (it needs runc or crun and Linux 5.12)`);
    }
    const pidTargetPid = this.pidTarget(request, pod.id);
    const userns = containerUserNamespace(pod, request);
    // Image volumes need their images here already (kubelet pulls them first).
    const volumeImages = request.mounts.flatMap((m) => {
      if (!m.image) return [];
      const img = images.find(m.image.ref);
      if (!img) throw notFound(`image "${m.image.ref}" for the image volume at ${m.containerPath} not found: pull it first`);
      const chain = topChainId(img);
      if (!chain) throw failedPrecondition(`image ${img.id} (volume at ${m.containerPath}) has no layers`);
      return [{ mount: m, chain }];
    });
    const pm = pod.spec.metadata;
    const id = newId();
    const dir = path.join(config.containerRoot, id);
    const logPath = pod.spec.logDirectory && request.logPath ? path.join(pod.spec.logDirectory, request.logPath) : "";
    if (logPath && path.relative(pod.spec.logDirectory, logPath).startsWith("..")) {
      throw invalidArgument(`log_path "${request.logPath}" leaves the pod's log_directory ${pod.spec.logDirectory}: give a path inside it, such as "${request.metadata.name}/0.log"`);
    }
    const record: ContainerRecord = {
      id,
      name: `${request.metadata.name}_${pm.name}_${pm.namespace}_${pm.uid}_${request.metadata.attempt}`,
      sandboxId: pod.id,
      request,
      imageId: image.id,
      chainId,
      ...(volumeImages.length ? { imageVolumeChains: volumeImages.map((v) => v.chain) } : {}),
      runtimeHandler: pod.runtimeHandler,
      state: "creating",
      createdAt: nowNanos(),
      logPath,
      dir,
      rootfs: path.join(dir, "rootfs"),
      stopSignal: request.stopSignal || image.config.config?.StopSignal || "SIGTERM",
      ...(restoring ? { restoredFrom: asked.image } : {}),
    };
    step("checks");
    // runc's cgroup attach comes ~20 ms from now; its kernel-side wait can start now.
    this.primer?.prime();
    // Takes the name now; the record is written while the rootfs and conmon get
    // ready (a crash meanwhile leaves only what recovery's sweep of unknown ids removes).
    const reserved = this.store.create(record);
    reserved.catch(() => {}); // awaited below
    const log = this.deps.log.child({ container_id: id, pod_sandbox_id: pod.id });
    const bundle = path.join(dir, "bundle");
    const logFile = logPath || path.join(dir, "container.log");
    // Independent of the rootfs: made meanwhile.
    // The container's directory first, searchable by others: a recursive mkdir of the bundle would make it 0700,
    // and in a pod with a user namespace the runtime reaches the rootfs below it as the pod's (unprivileged) root.
    const dirsReady = Promise.all([
      mkdir(dir, { recursive: true, mode: 0o711 }).then(() => mkdir(bundle, { mode: 0o700 })),
      mkdir(path.dirname(logFile), { recursive: true }),
    ]);
    dirsReady.catch(() => {}); // awaited below; a failure of the mount first must not leave it unhandled
    let held: Promise<{ conmon: HeldConmon; madeLog: boolean }> | undefined;
    let released = false;
    try {
      const runtime = this.runtime(record);
      // conmon starts up while the rootfs and the spec are made, and waits for the bundle.
      held = (async () => {
        const [conmonPath, resolved, logExisted] = await Promise.all([this.executable(config.conmonPath), this.resolved(runtime), exists(logFile), dirsReady]);
        const madeLog = !logExisted;
        const conmon = startConmon({
          conmonPath,
          runtime: resolved,
          id,
          name: record.name,
          bundle,
          logPath: logFile,
          exitDir: this.exitDir,
          socketDir: this.socketDir,
          stdin: request.stdin,
          stdinOnce: request.stdinOnce,
          tty: request.tty,
          ...(restoring ? { restore: { imagePath: path.join(dir, "checkpoint", IMAGES_DIR), workPath: path.join(dir, "restore-work"), criuPath: config.criuPath } } : {}),
        });
        return { conmon, madeLog };
      })();
      held.catch(() => {}); // awaited below or in the error path
      const stack = images.snapshots.stack(chainId).map((s) => images.snapshots.fsPath(s));
      // The checkpointed writable layer goes into the new one before the overlay is mounted.
      if (restoring) await unpackCheckpoint(asked.image, dir);
      const rootfs = await mountRootfs(images.snapshots.dir, stack, dir, userns);
      step("rootfs");
      // A restored container's writable layer is not empty: its files are read, not its image's.
      const accounts = await (restoring ? readAccounts(rootfs) : this.accounts.of(chainId, rootfs));
      const user = resolveUser(
        {
          imageUser: image.config.config?.User ?? "",
          runAsUser: request.security.runAsUser,
          runAsUsername: request.security.runAsUsername,
          runAsGroup: request.security.runAsGroup,
          supplementalGroups: request.security.supplementalGroups,
          supplementalGroupsPolicy: request.security.supplementalGroupsPolicy,
        },
        accounts.passwd,
        accounts.groups,
      );
      if (cdi?.additionalGids.length) user.additionalGids = [...new Set([...user.additionalGids, ...cdi.additionalGids])].filter((g) => g !== user.gid);
      record.user = { uid: user.uid, gid: user.gid, groups: [...new Set([user.gid, ...user.additionalGids])].sort((a, b) => a - b) };
      const seccomp = request.security.seccomp;
      const localhostSeccomp =
        seccomp.kind === "localhost"
          ? parseLocalhostProfile(
              await readFile(seccomp.path, "utf8").catch((err: Error) => {
                throw invalidArgument(`cannot read seccomp profile ${seccomp.path}: ${err.message}`);
              }),
              seccomp.path,
            )
          : undefined;
      const devices = [...(await Promise.all(request.devices.map(hostDevice))), ...(await Promise.all((cdi?.deviceNodes ?? []).map(cdiDeviceNode)))];
      await checkMountPropagation(request.mounts.filter((m) => !m.image));
      const imageMounts = await this.mountImageVolumes(volumeImages, dir, userns);
      const imageVolumes = await this.makeImageVolumes(image.config.config?.Volumes ?? {}, request, rootfs, dir, userns);
      const mounts = await this.idmapRequestedMounts(request.mounts, dir, userns);
      if (request.security.apparmor && request.security.apparmor !== "unconfined" && !this.apparmor) {
        log.info({ profile: request.security.apparmor }, "AppArmor is not available on this host; the profile is not applied");
      }
      const spec = buildContainerSpec({
        id,
        sandboxId: pod.id,
        rootfs,
        request: { ...request, mounts },
        image: image.config,
        pod: {
          namespaces: pod.namespaces,
          ...(userns ? { userNamespace: userns.mappings } : {}),
          infraPid: pod.infra?.pid,
          hostname: podHostname(pod),
          filesDir: pod.filesDir,
          shm: pod.shm,
          cgroupParent: pod.spec.cgroupParent,
        },
        user,
        oomScoreAdjFloor: this.oomFloor,
        availableCapabilities: this.availableCaps,
        localhostSeccomp,
        devices,
        imageVolumes,
        imageMounts,
        pidTargetPid,
        cdi,
      });
      step("spec");
      await dirsReady;
      // Durable before the bundle is complete: conmon can only create a container that the record knows.
      await reserved;
      step("reserve");
      const specText = JSON.stringify(spec);
      await replaceFile(bundle, "config.json", specText, { mode: 0o644, durable: false });
      this.specTexts.set(id, specText);
      step("bundle");
      const { conmon } = await held;
      released = true;
      // "created" goes to disk while the runtime creates: a restart that finds
      // it without a pid asks the runtime whether the container came to be.
      const recorded = this.store.write({ ...record, state: "created" });
      recorded.catch(() => {}); // awaited below
      const pid = await timed(ociRuntimeDuration, { handler: runtime.handler, operation: "create" }, () => conmon.release());
      step("conmon+create");
      // The container's mount namespace holds its own copies now.
      if (userns) await releaseIdmapped(dir);
      // CRIU's images (the process's memory) served their purpose; restore-work keeps CRIU's log.
      if (restoring) await rm(path.join(dir, "checkpoint"), { recursive: true, force: true });
      await recorded;
      const created = { ...record, state: "created" as const, pid };
      // Durable before the OK: a restart must tell a container kubelet holds
      // (kept, whatever became of it) from one cut short in creation (undone).
      await this.store.put(created);
      step("record");
      log.info({ name: record.name, pid, steps }, "container created");
      this.publish("created", id, pod.id);
      return created;
    } catch (err) {
      log.warn({ err: errorMessage(err) }, "container creation failed; undoing it");
      await dirsReady.catch(() => {}); // settled, so that nothing is made after the removal
      const waiting = await held?.catch(() => undefined);
      if (waiting && !released) {
        await waiting.conmon.abort().catch((e) => log.error({ err: errorMessage(e) }, "cannot end the waiting conmon"));
        // conmon made an empty log file for a container that never was.
        if (waiting.madeLog) await removeIfEmpty(logFile);
      }
      await this.release(record).catch((e) => log.error({ err: errorMessage(e) }, "undoing a failed container left something behind"));
      this.specTexts.delete(id);
      await this.store.delete(id);
      throw err;
    }
  }

  /** Starts a created container; resolves to its record as the start left it (running, or exited already). */
  async start(query: string): Promise<ContainerRecord> {
    const c = this.get(query);
    return this.locks.run(c.id, async () => {
      const current = this.store.get(c.id)!;
      if (current.state !== "created") throw failedPrecondition(`container ${c.id} is ${current.state}; only a created container can be started`);
      // Taken before the runtime starts the process, so it never follows an immediate exit.
      const startedAt = nowNanos();
      // A restored container's process runs since its creation (CRIU restores it running).
      if (!current.restoredFrom) await this.runtime(current).start(current.id);
      // The exit may already have been noticed (a command that ends at once).
      const now = this.store.get(c.id)!;
      if (now.state === "exited") await this.store.put({ ...now, startedAt, finishedAt: laterNanos(now.finishedAt ?? startedAt, startedAt) });
      else {
        await this.store.put({ ...now, state: "running", startedAt });
        // Read while the reply travels: kubelet (and critest) ask for the status next.
        void this.liveIdentity(this.store.get(c.id)!);
      }
      this.publish("started", c.id, c.sandboxId);
      return this.store.get(c.id)!;
    });
  }

  /**
   * Checkpoints a running container into a tar archive at `location` (CRIU's
   * images, its writable layer's changes, its record and spec), leaving it
   * running. CreateContainer with the archive's path as image restores it.
   */
  async checkpoint(query: string, location: string, timeoutSeconds: number): Promise<void> {
    const c = this.get(query);
    if (!path.isAbsolute(location)) throw invalidArgument(`CheckpointContainer: location "${location}" must be an absolute path (the archive to write)`);
    if ((await stat(location).catch(() => undefined))?.isDirectory()) throw invalidArgument(`CheckpointContainer: location ${location} is a directory; name the archive file to write`);
    if (!(await stat(path.dirname(location)).catch(() => undefined))?.isDirectory()) throw invalidArgument(`CheckpointContainer: the directory of ${location} does not exist`);
    const pod = this.deps.sandboxes.find(c.sandboxId);
    if (pod?.spec.userNamespace) throw failedPrecondition(`CheckpointContainer: container ${c.id} runs in a user namespace, which skiff cannot checkpoint`);
    const problem = await this.deps.runtimes.checkpointProblem(c.runtimeHandler);
    if (problem) throw failedPrecondition(`CheckpointContainer: container ${c.id} cannot be checkpointed: ${problem}`);
    await this.locks.run(c.id, async () => {
      const current = this.store.get(c.id);
      if (current?.state !== "running") throw failedPrecondition(`container ${c.id} is ${current?.state ?? "gone"}, not running: only a running container can be checkpointed`);
      const timeoutMs = (timeoutSeconds > 0 ? timeoutSeconds : this.deps.config.runtimeTimeoutSeconds) * 1000;
      await writeCheckpointArchive({ runtime: this.runtime(current), container: current, location, criuPath: this.deps.config.criuPath, timeoutMs });
      this.deps.log.info({ container_id: c.id, location }, "container checkpointed");
    });
  }

  /** The record a checkpoint archive holds, once it is known that this pod's handler can restore it. */
  private async checkpointToRestore(archive: string, pod: SandboxRecord): Promise<CheckpointDump> {
    if (!(await stat(archive).catch(() => undefined))?.isFile()) throw notFound(`checkpoint archive ${archive} not found (an image that is an absolute path names a checkpoint archive)`);
    const problem = await this.deps.runtimes.checkpointProblem(pod.runtimeHandler);
    if (problem) throw failedPrecondition(`cannot restore ${archive} in pod ${pod.id}: ${problem}`);
    if (pod.spec.userNamespace) throw failedPrecondition(`cannot restore ${archive}: pod ${pod.id} has a user namespace, which skiff cannot restore into`);
    return readCheckpointDump(archive);
  }

  /** Sends the stop signal, then SIGKILL after `timeoutSeconds`; idempotent. */
  async stop(query: string, timeoutSeconds: number): Promise<void> {
    const found = this.store.find(query);
    if (!found) return;
    const c = found;
    if (c.state === "exited" || c.state === "creating") return;
    const runtime = this.runtime(c);
    const exited = this.waitForExit(c.id);
    if (timeoutSeconds > 0 && c.state === "running") {
      await runtime.kill(c.id, c.stopSignal);
      if (await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutSeconds * 1000))])) return;
    }
    await runtime.kill(c.id, "KILL", true);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.store.get(c.id)?.state !== "exited") await this.noticeExit(c.id);
  }

  private waitForExit(id: string): Promise<void> {
    const c = this.store.get(id);
    if (!c || c.state === "exited") return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.exitWaiters.get(id) ?? [];
      list.push(resolve);
      this.exitWaiters.set(id, list);
    });
  }

  /** Reads conmon's exit file for `id`, if there is one, and records the exit. */
  private async noticeExit(id: string): Promise<void> {
    const file = path.join(this.exitDir, id);
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) return;
    let recorded = false;
    // The container's own lock: an exit noticed while StartContainer runs is applied after it, never lost under it.
    await this.locks.run(id, async () => {
      const c = this.store.get(id);
      if (!c || c.state === "exited" || c.state === "creating") return;
      recorded = true;
      const code = Number.parseInt(text.trim(), 10);
      const written = await stat(file, { bigint: true }).then((s) => s.mtimeNs.toString(), () => nowNanos());
      const oom = await stat(path.join(c.dir, "bundle", "oom")).then(() => true, () => false);
      // An exit noticed before StartContainer recorded its time: the start was just before.
      const startedAt = c.startedAt ?? written;
      // File times come from the kernel's coarse clock, up to a tick behind the
      // clock startedAt was read from: a command that ends at once could seem to end before it began.
      const finishedAt = laterNanos(written, startedAt);
      await this.store.put({ ...c, state: "exited", exitCode: Number.isNaN(code) ? 255 : code, finishedAt, reason: reasonOf(code, oom), startedAt });
      if (oom) oomKills.inc();
      this.deps.log.info({ container_id: id, exitCode: code, oom }, "container exited");
      this.publish("stopped", id, c.sandboxId);
    });
    for (const resolve of this.exitWaiters.get(id) ?? []) resolve();
    this.exitWaiters.delete(id);
    const c = this.store.get(id);
    if (recorded && c && !this.runtimeReleases.has(id) && !this.scheduledReleases.has(id)) this.scheduleRuntimeRelease(c);
    if (recorded && c?.pid) this.identities.delete(`${id}/${c.pid}`);
  }

  /**
   * Deletes an exited container's runtime state a moment after its exit,
   * unless its RemoveContainer comes first and does it after replying. At the
   * exit itself the runtime process would compete for the CPU with the calls
   * that follow a StopContainer (RemoveContainer, StopPodSandbox): on two
   * vCPUs that made RemoveContainer ~2 ms slower.
   */
  private scheduleRuntimeRelease(c: ContainerRecord): void {
    const timer = setTimeout(() => {
      this.scheduledReleases.delete(c.id);
      this.runtimeReleases.set(c.id, this.releaseRuntime(c));
    }, RUNTIME_RELEASE_DELAY_MS);
    timer.unref();
    this.scheduledReleases.set(c.id, timer);
  }

  /** Deletes an exited container's runtime state; never rejects (a failure leaves it to release()). */
  private async releaseRuntime(c: ContainerRecord): Promise<void> {
    try {
      await this.releaseRuntimeNow(c);
    } catch (err) {
      this.runtimeReleases.delete(c.id);
      this.deps.log.warn({ container_id: c.id, err: errorMessage(err) }, "cannot delete an exited container's runtime state (its RemoveContainer, or else skiff's next start, retries)");
    }
  }

  /** The edits of the container's CDI devices, read from the spec directories now (vendors may add specs at any time). */
  private async resolveCdi(names: string[]): Promise<CdiEdits | undefined> {
    if (names.length === 0) return undefined;
    const dirs = this.deps.config.cdiSpecDirs;
    const { specs, errors } = await loadCdiSpecs(dirs);
    for (const e of errors) this.deps.log.warn({ err: e }, "CDI spec file left out");
    return resolveCdiDevices(specs, names, dirs, errors);
  }

  /**
   * What ContainerStatus needs besides the record: the identity of the
   * container's process (ContainerStatus.user), and for a verbose status the
   * OCI spec skiff wrote, as JSON text (undefined once its bundle is gone).
   */
  async inspect(c: ContainerRecord, withSpec: boolean): Promise<{ identity?: ProcessIdentity; specText?: string }> {
    const [identity, specText] = await Promise.all([this.liveIdentity(c), withSpec ? this.specText(c) : undefined]);
    return { identity, specText };
  }

  /**
   * The identity of a running container's process, read from /proc once (the
   * identity it was started with; kubelet asks often, and a status needs no
   * I/O after that); else, or if the process is gone, what it was given at
   * creation.
   */
  private liveIdentity(c: ContainerRecord): Promise<ProcessIdentity | undefined> | ProcessIdentity | undefined {
    if (c.state !== "running" || !c.pid) return c.user;
    const key = `${c.id}/${c.pid}`;
    let live = this.identities.get(key);
    if (!live) {
      // One job on the pool (readFile takes four trips, and a fresh 64 KiB buffer for a /proc file).
      live = readSmallFiles([`/proc/${c.pid}/status`])
        .then(([status]) => parseProcessIdentity(status ?? ""), () => undefined)
        .then((read) => {
          if (!read) {
            this.identities.delete(key); // gone (or not yet readable): asked again next time
            return undefined;
          }
          // /proc shows host ids; the status gives the container's.
          const userns = this.deps.sandboxes.find(c.sandboxId)?.spec.userNamespace;
          return userns ? identityInside(read, userns) : read;
        });
      this.identities.set(key, live);
    }
    return live.then((read) => read ?? c.user);
  }

  private async specText(c: ContainerRecord): Promise<string | undefined> {
    const known = this.specTexts.get(c.id);
    if (known !== undefined) return known;
    // Created before this daemon started: read from the bundle. readSmallFiles
    // stops at 1 MiB: a spec larger than that is read the slow way.
    const file = path.join(c.dir, "bundle", "config.json");
    const [text] = await readSmallFiles([file]);
    return text ?? (await readFile(file, "utf8").catch(() => undefined));
  }

  /** Runs a command to completion in a running container; timeoutMs > 0 bounds it. */
  async execSync(query: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const c = this.get(query);
    if (c.state !== "running") throw failedPrecondition(`container ${c.id} is ${c.state}, not running`);
    if (cmd.length === 0) throw invalidArgument("ExecSync: cmd must not be empty");
    const runtime = this.runtime(c);
    const resolved = await this.resolved(runtime);
    return timed(ociRuntimeDuration, { handler: runtime.handler, operation: "exec" }, () => execSync(resolved, c.id, path.join(c.dir, "bundle"), cmd, timeoutMs));
  }

  /**
   * Runs a command in a running container with the client's streams attached
   * (streaming Exec); resolves to its exit code. An aborted signal (client
   * gone) kills the command.
   */
  async execStream(query: string, cmd: string[], io: ProcessStdio, signal: AbortSignal): Promise<number> {
    const c = this.checkExecutable(query, cmd);
    const runtime = this.runtime(c);
    const spec = JSON.parse(await readFile(path.join(c.dir, "bundle", "config.json"), "utf8")) as { process: Record<string, unknown> };
    const sessionId = `${c.id.slice(0, 12)}-${randomBytes(6).toString("hex")}`;
    return runExecSession(
      {
        conmonPath: await this.executable(this.deps.config.conmonPath),
        runtime: await this.resolved(runtime),
        containerId: c.id,
        sessionId,
        containerProcess: spec.process,
        cmd,
        sessionDir: path.join(this.execDir, sessionId),
        socketDir: this.socketDir,
      },
      io,
      signal,
    );
  }

  /** The running container a client may run cmd in (checked again when the session starts). */
  checkExecutable(query: string, cmd: string[]): ContainerRecord {
    const c = this.get(query);
    if (c.state !== "running") throw failedPrecondition(`container ${c.id} is ${c.state}, not running`);
    if (cmd.length === 0) throw invalidArgument("Exec: cmd must not be empty");
    return c;
  }

  /** The running container a client may attach to with these streams (checked again when the session starts). */
  checkAttachable(query: string, want: { stdin: boolean; tty: boolean }): ContainerRecord {
    const c = this.get(query);
    if (c.state !== "running") throw failedPrecondition(`container ${c.id} is ${c.state}, not running`);
    if (want.stdin && !c.request.stdin) throw failedPrecondition(`container ${c.id} was not created with stdin: there is no input to attach to`);
    if (want.tty !== c.request.tty) throw invalidArgument(`Attach: tty is ${want.tty} but container ${c.id} was created with tty ${c.request.tty}`);
    return c;
  }

  /** Joins the streams of a running container's main process (streaming Attach) until it exits or the client leaves. */
  async attach(query: string, io: ProcessStdio, signal: AbortSignal): Promise<void> {
    const c = this.checkAttachable(query, { stdin: io.stdin !== null, tty: io.tty });
    await relayStdio(path.join(this.socketDir, c.id, "attach"), path.join(c.dir, "bundle", "ctl"), io, signal);
  }

  /** cgroup v2 keys cannot be applied on a cgroup v1 host: say so instead of letting runc fail. */
  private checkResources(r: ContainerRequest["resources"]): void {
    if (r.unified && Object.keys(r.unified).length && this.deps.runtimes.cgroups.version !== 2) {
      throw invalidArgument(`resources.unified (${Object.keys(r.unified).join(", ")}) needs cgroup v2; this host uses cgroup v1`);
    }
  }

  /**
   * The image's Volumes become directories of the container's own, seeded
   * with what the image has at that path (resolved inside the rootfs only).
   * A CRI mount at the same path wins.
   */
  private async makeImageVolumes(volumes: Record<string, object>, request: ContainerRequest, rootfs: string, dir: string, userns: PodUserNamespace | undefined) {
    const out: { containerPath: string; hostPath: string }[] = [];
    const taken = new Set(request.mounts.map((m) => m.containerPath.replace(/\/+$/, "")));
    let n = 0;
    for (const raw of Object.keys(volumes).sort()) {
      const containerPath = path.posix.normalize(`/${raw}`).replace(/\/+$/, "") || "/";
      if (containerPath === "/" || taken.has(containerPath)) continue;
      const hostPath = path.join(dir, "volumes", String(n++));
      await mkdir(hostPath, { recursive: true, mode: 0o755 });
      // As the pod's root's when the image has nothing there (what it has is copied with its owners).
      if (userns) await chown(hostPath, userns.root.uid, userns.root.gid);
      const source = await resolveInRoot(rootfs, containerPath);
      if (source && (await stat(source)).isDirectory()) await run("cp", ["-a", "--no-dereference", `${source}/.`, hostPath]);
      out.push({ containerPath, hostPath });
    }
    return out;
  }

  /**
   * The requested mounts as the spec binds them: an idmapped one's source is
   * an idmapped copy of its host path, made for the runtime's create.
   */
  private async idmapRequestedMounts(mounts: MountRequest[], dir: string, userns: PodUserNamespace | undefined): Promise<MountRequest[]> {
    const wanted = mounts.filter((m) => m.idmap && !m.image);
    if (!userns || !wanted.length) return mounts;
    const sources = await idmapVolumes(wanted.map((m) => m.hostPath), dir, userns);
    const byMount = new Map(wanted.map((m, i) => [m, sources[i]!]));
    return mounts.map((m) => (byMount.has(m) ? { ...m, hostPath: byMount.get(m)! } : m));
  }

  /** The pid whose PID namespace a TARGET container joins: a running container of the same pod. */
  private pidTarget(request: ContainerRequest, sandboxId: string): number | undefined {
    if (request.security.pidMode !== "TARGET") return undefined;
    const target = this.store.find(request.security.pidTargetId ?? "");
    if (!target || target.sandboxId !== sandboxId) throw notFound(`target container "${request.security.pidTargetId}" of the PID namespace is not in sandbox ${sandboxId}`);
    if (target.state !== "running" || !target.pid) throw failedPrecondition(`target container ${target.id} is ${target.state}: its PID namespace can only be joined while it runs`);
    return target.pid;
  }

  /**
   * Mounts each image volume read-only under <dir>/image-volumes/<n> and
   * returns what to bind into the container: the image's root, or its
   * image_sub_path (resolved inside the image only).
   */
  private async mountImageVolumes(volumes: { mount: ContainerRequest["mounts"][number]; chain: string }[], dir: string, userns: PodUserNamespace | undefined) {
    const { images } = this.deps;
    const out: { containerPath: string; source: string }[] = [];
    for (const [n, v] of volumes.entries()) {
      const target = path.join(dir, "image-volumes", String(n));
      await mountImageReadonly(images.snapshots.dir, images.snapshots.stack(v.chain).map((s) => images.snapshots.fsPath(s)), target, userns);
      const sub = v.mount.image!.subPath;
      const source = sub ? await resolveInRoot(target, sub) : target;
      if (!source || !(await stat(source).catch(() => undefined))) {
        throw invalidArgument(`image_sub_path "${sub}" does not exist in image ${v.mount.image!.ref} (volume at ${v.mount.containerPath})`);
      }
      out.push({ containerPath: v.mount.containerPath, source });
    }
    return out;
  }

  /** Applies new limits to a created or running container and records them. */
  async updateResources(query: string, resources: ContainerRequest["resources"]): Promise<void> {
    this.checkResources(resources);
    const c = this.get(query);
    await this.locks.run(c.id, async () => {
      const current = this.store.get(c.id)!;
      if (current.state !== "running" && current.state !== "created") throw failedPrecondition(`container ${c.id} is ${current.state}; only created or running containers can be updated`);
      const file = path.join(current.dir, "bundle", "resources.json");
      await writeFile(file, JSON.stringify(ociResources(resources)));
      await this.runtime(current).update(current.id, file);
      await this.store.put({ ...current, request: { ...current.request, resources: { ...current.request.resources, ...resources } } });
    });
  }

  /** Makes conmon reopen the log file (kubelet rotated it) through its control FIFO. */
  async reopenLog(query: string): Promise<void> {
    const c = this.get(query);
    if (c.state !== "running") throw failedPrecondition(`container ${c.id} is ${c.state}, not running: there is no log writer to reopen`);
    await writeConmonControl(path.join(c.dir, "bundle", "ctl"), 2, 0, 0).catch((err: Error) => {
      throw failedPrecondition(`container ${c.id}: conmon's control FIFO is not available: ${err.message}`);
    });
    // conmon reopens on its own time; kubelet (and critest) expect the file back when the call returns.
    if (!c.logPath) return;
    const deadline = Date.now() + LOG_REOPEN_WAIT_MS;
    while (!(await stat(c.logPath).then(() => true, () => false))) {
      if (Date.now() > deadline) throw deadlineExceeded(`container ${c.id}: conmon did not reopen ${c.logPath} within ${LOG_REOPEN_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Idempotent: stops a running container first. */
  async remove(query: string): Promise<void> {
    const found = this.store.find(query);
    if (!found) return;
    if (found.state === "running" || found.state === "created") await this.stop(found.id, 0);
    await this.locks.run(found.id, async () => {
      const c = this.store.get(found.id);
      if (!c) return;
      // The record goes first, durably: from here on the container is gone for every caller. What is
      // left of it (runtime state, mounts, files) goes right after, off the call's path, as containerd's
      // garbage collection does; after a crash, the next start's sweeps remove it.
      this.specTexts.delete(c.id);
      await this.store.delete(c.id);
      this.deps.log.info({ container_id: c.id }, "container removed");
      this.publish("deleted", c.id, c.sandboxId);
      this.cleanups.set(c.id, { record: c, done: this.cleanUpAfter(c) });
    });
  }

  private async cleanUpAfter(c: ContainerRecord): Promise<void> {
    try {
      await this.release(c);
      this.cleanups.delete(c.id);
      // Its snapshots may have been kept only for it (its image already removed).
      await this.deps.images.collectSoon();
    } catch (err) {
      this.deps.log.error({ container_id: c.id, err: errorMessage(err) }, "cannot remove what is left of a removed container; skiff's next start retries");
    } finally {
      this.cleanups.delete(c.id);
    }
  }

  private async releaseRuntimeNow(c: ContainerRecord): Promise<void> {
    await this.runtime(c).delete(c.id);
    // runc removed the container's cgroup; skiff's default parent goes once empty.
    await removeCgroupIfEmpty(DEFAULT_CGROUP_PARENT, this.deps.runtimes.cgroups);
  }

  /** Everything of a container but its record; a runtime state deletion already started after its exit is waited for. */
  private async release(c: ContainerRecord): Promise<void> {
    clearTimeout(this.scheduledReleases.get(c.id));
    this.scheduledReleases.delete(c.id);
    await this.runtimeReleases.get(c.id);
    // None started at its exit, or that one failed (and left the map): now.
    if (!this.runtimeReleases.has(c.id)) await this.releaseRuntimeNow(c);
    this.runtimeReleases.delete(c.id);
    await unmountRootfs(c.rootfs);
    await this.unmountImageVolumes(c.dir);
    await releaseIdmapped(c.dir);
    await rm(c.dir, { recursive: true, force: true });
    await rm(path.join(this.socketDir, c.id), { force: true }); // conmon's link to the attach socket's dir
    // Not in RemoveContainer's path: right after StopContainer's fsyncs, this unlink waits on the journal for milliseconds.
    await rm(path.join(this.exitDir, c.id), { force: true });
  }

  /**
   * Removes what a creation cut short before its record was written left
   * behind (the rootfs and image-volume mounts, the directory; its bundle never
   * got a config.json, so no runtime state exists): directories named like a
   * container id that no record knows. Nothing else is touched.
   */
  private async sweepUnrecorded(): Promise<void> {
    // conmon's attach-socket links and exit files of containers no record knows (removed just before a crash).
    for (const dir of [this.socketDir, this.exitDir]) {
      for (const name of await readdir(dir).catch(() => [])) {
        if (isId(name) && !this.store.get(name)) await rm(path.join(dir, name), { force: true });
      }
    }
    const root = this.deps.config.containerRoot;
    for (const name of await readdir(root).catch(() => [])) {
      if (!isId(name) || this.store.get(name)) continue;
      const dir = path.join(root, name);
      try {
        await unmountRootfs(path.join(dir, "rootfs"));
        await this.unmountImageVolumes(dir);
        await releaseIdmapped(dir);
        await rm(dir, { recursive: true, force: true });
        this.deps.log.warn({ container_id: name, dir }, "removed what an interrupted container creation left behind");
      } catch (err) {
        this.deps.log.error({ container_id: name, dir, err: errorMessage(err) }, "cannot remove what an interrupted container creation left behind");
      }
    }
  }

  private async unmountImageVolumes(dir: string): Promise<void> {
    const volumes = path.join(dir, "image-volumes");
    for (const entry of await readdir(volumes).catch(() => [])) {
      if (!entry.endsWith(".empty")) await unmountRootfs(path.join(volumes, entry));
    }
  }

  /**
   * Reconciles the records with the runtime and conmon after a restart (the
   * daemon runs it after listening): undoes half-created containers, records
   * exits that happened meanwhile, and removes what removed containers left.
   */
  async recover(): Promise<void> {
    // Taken before any exit file is read: a container the snapshot shows stopped has exited by then, so its monitor's exit file is there to be found.
    const runtimes = await this.deps.runtimes.snapshot(Object.keys(this.deps.config.runtimeHandlers));
    const recorded = new Set(this.store.all().map((c) => c.id));
    await forEachLimited(this.store.all(), RECOVERY_CONCURRENCY, async (c) => {
      try {
        if (c.state === "creating") {
          await this.release(c);
          await this.store.delete(c.id);
          return;
        }
        if (c.state === "exited") return;
        if (c.state === "created" && c.pid === undefined) {
          // Recorded while the runtime was creating it: whether it came to be, the
          // runtime knows; and it is kept only with its monitor (a conmon that
          // could not report the pid to the killed daemon has exited).
          const state = await this.runtime(c).state(c.id);
          if (!state || state.status === "creating" || !(await monitorAlive(path.join(c.dir, "bundle"), c.id))) {
            await this.release(c);
            await this.store.delete(c.id);
            this.deps.log.warn({ container_id: c.id }, "container creation was cut short by the restart; undone");
            return;
          }
          await this.store.put({ ...c, pid: state.pid });
        }
        await this.noticeExit(c.id);
        if (this.store.get(c.id)?.state !== "exited") {
          const state = await runtimes.state(c.runtimeHandler, c.id);
          if (!state || state.status === "stopped") {
            // No exit file and no container: the monitor was lost with the exit code.
            await this.store.put({ ...c, state: "exited", exitCode: 255, reason: "Unknown", message: "the container's monitor was lost; its exit code is unknown", finishedAt: nowNanos() });
          }
        }
      } catch (err) {
        this.deps.log.error({ container_id: c.id, err: errorMessage(err) }, "container recovery failed");
      }
    });
    await this.sweepUnrecorded();
    await this.sweepRuntimeState(runtimes, recorded);
  }

  /**
   * Deletes what a runtime knows under skiff's root that no record knew when
   * recovery began: the state of a container removed while its deletion still
   * ran (see remove()). Pod infra processes have their sandbox's record.
   */
  private async sweepRuntimeState(runtimes: RuntimeSnapshot, recorded: Set<string>): Promise<void> {
    const known = new Set(recorded);
    for (const s of this.deps.sandboxes.records()) if (s.infra) known.add(s.infra.containerId);
    for (const [handler, state] of runtimes.entries()) {
      if (known.has(state.id) || !isId(state.id)) continue;
      await this.deps.runtimes
        .get(handler)
        .delete(state.id)
        .then(
          () => this.deps.log.warn({ container_id: state.id, handler }, "deleted runtime state that no container record knows"),
          (err) => this.deps.log.error({ container_id: state.id, handler, err: errorMessage(err) }, "cannot delete runtime state that no container record knows"),
        );
    }
  }
}
