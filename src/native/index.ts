// The N-API addon built from native/*.c (native/addon.c says what each part
// does that Node.js cannot, or only slowly). Loaded on first use, so that the
// command-line clients (`skiff version`, `skiff images`) never need it.

import { createRequire } from "node:module";
import net from "node:net";
import { packageFile } from "../package-root.js";

interface Addon {
  seqpacketBridge(path: string): number;
  connectInNetns(nsPath: string, port: number): number;
  readNetDevInNetns(nsPath: string): string;
  notifySystemd(socketPath: string, message: string): void;
  createPodNamespaces(options: PodNamespaceOptions): Promise<void>;
  mount(source: string, target: string, fstype: string, flags: number, data: string | null, cwd: string | null, mkdirs: string[] | null): Promise<void>;
  unmount(target: string, flags: number): Promise<void>;
  replaceFile(dir: string, name: string, data: string | Buffer, mode: number, durable: boolean): Promise<void>;
  appendDurable(fd: number, data: Buffer, offset: number): Promise<void>;
  readSmallFiles(paths: string[]): Promise<(string | undefined)[]>;
  makeSocketPair(): [number, number];
  closeFd(fd: number): void;
  idmapMount(source: string, target: string, usernsPath: string, recursive: boolean): Promise<void>;
  trimMemory(): Promise<void>;
  inflaterCreate(): object;
  inflaterRun(inflater: object, input: Buffer, inputOffset: number, output: Buffer): [consumed: number, produced: number, streamEnd: boolean];
  inflaterReset(inflater: object): void;
  inflaterClose(inflater: object): void;
  sha256Create(): object;
  writeHashed(state: object, fd: number, buffer: Buffer): Promise<void>;
  sha256Hex(state: object): string;
  applyLayerOps(steps: Buffer, length: number, fd: number): Promise<number>;
  sealedCopy(path: string, name: string): number;
  spawnProcess(file: string, argv: string[], env: string[], cwd: string | null, fds: number[], setsid: boolean, onExit: (code: number | null, signal: number) => void): number;
  runCaptured(
    file: string,
    argv: string[],
    env: string[],
    cwd: string | null,
    input: Buffer,
    maxOutput: number,
    pidCell: Int32Array,
    onDone: (code: number | null, signal: number, stdout: Buffer, stderr: Buffer, cut: boolean, spawnError: string | null) => void,
  ): void;
}

export interface PodNamespaceOptions {
  /**
   * A new user namespace, pinned there, that owns the other new namespaces;
   * uidMap and gidMap are written to its /proc/<pid>/{uid,gid}_map.
   */
  user?: string;
  uidMap?: string;
  gidMap?: string;
  /** Files to pin each new namespace on (made, with their directories, if missing); a kind left out is not created. */
  net?: string;
  ipc?: string;
  uts?: string;
  /** Set in the new UTS namespace. */
  hostname?: string;
  /** [/proc/sys path, value], written from inside the new namespaces. */
  sysctls: [string, string][];
}

let addon: Addon | undefined;

/** The addon itself, for modules that wrap its lower-level calls (util/spawn.ts). */
export function native(): Addon {
  return load();
}

function load(): Addon {
  if (!addon) {
    addon = createRequire(import.meta.url)(packageFile("build", "Release", "skiff_native.node")) as Addon;
  }
  return addon;
}

/**
 * Connects to a SOCK_SEQPACKET unix socket (conmon's attach socket) and returns
 * a stream socket on which each received packet arrives as a u32 big-endian
 * length followed by the packet; bytes written are sent as packets.
 */
export function openSeqpacketBridge(path: string): net.Socket {
  const fd = load().seqpacketBridge(path);
  return new net.Socket({ fd, readable: true, writable: true });
}

/** A TCP connection to localhost:port made from inside the network namespace at nsPath. */
export function connectInNetns(nsPath: string, port: number): net.Socket {
  const fd = load().connectInNetns(nsPath, port);
  return new net.Socket({ fd, readable: true, writable: true });
}

/** /proc/net/dev as the network namespace at nsPath sees it. */
export function readNetDevInNetns(nsPath: string): string {
  return load().readNetDevInNetns(nsPath);
}

/** One sd_notify message (e.g. "READY=1") to systemd's notification socket. */
export function notifySystemd(socketPath: string, message: string): void {
  load().notifySystemd(socketPath, message);
}

/**
 * Creates a pod's namespaces and pins them on files, with the hostname set,
 * lo up and the sysctls written inside them: a few syscalls, on libuv's
 * thread pool (a new network namespace can take the kernel milliseconds).
 */
export function createPodNamespaces(options: PodNamespaceOptions): Promise<void> {
  return load().createPodNamespaces(options);
}

/** mount(2)'s flags that skiff uses. */
export const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8 } as const;
/** umount2(2)'s flags that skiff uses. */
export const MNT = { DETACH: 2, NOFOLLOW: 8 } as const;

/**
 * mount(2) on libuv's thread pool. With `cwd`, relative paths in `data` (an
 * overlay's lowerdirs) resolve against it. `mkdirs` are made first (mode
 * 0755, parents before children; existing ones are fine), in the same job.
 * Rejects with an Error whose code is the errno's name.
 */
export function mount(source: string, target: string, fstype: string, flags: number, data: string | null, cwd: string | null = null, mkdirs: string[] | null = null): Promise<void> {
  return load().mount(source, target, fstype, flags, data, cwd, mkdirs);
}

/**
 * An idmapped copy of the mount at `source` (every submount too when
 * `recursive`), attached at `target`, which must exist and be of the same kind
 * (directory or file). Ids are mapped through the user namespace pinned at
 * `usernsPath`. On libuv's thread pool.
 */
export function idmapMount(source: string, target: string, usernsPath: string, recursive: boolean): Promise<void> {
  return load().idmapMount(source, target, usernsPath, recursive);
}

/** umount2(2) on libuv's thread pool; code EINVAL when target is not a mount point. */
export function unmount(target: string, flags: number): Promise<void> {
  return load().unmount(target, flags);
}

/**
 * Replaces dir/name atomically in one job on libuv's thread pool: a temp
 * file written and renamed over name, so that readers (and a restart after
 * kill -9) see the old content or the new. `durable` also fsyncs the file
 * before the rename and the directory after it, for power loss. Rejects with
 * an Error whose code is the errno's name.
 */
export function replaceFile(dir: string, name: string, data: string | Buffer, opts: { mode: number; durable: boolean }): Promise<void> {
  return load().replaceFile(dir, name, data, opts.mode, opts.durable);
}

/**
 * Writes `data` at `offset` of the open file `fd` (its end) and fdatasyncs it,
 * in one job on libuv's thread pool. On failure the file is cut back to
 * `offset`; rejects with an Error whose code is the errno's name.
 */
export function appendDurable(fd: number, data: Buffer, offset: number): Promise<void> {
  return load().appendDurable(fd, data, offset);
}

/** Reads up to 64 small files (1 MiB each) whole in one pool job; undefined for each that cannot be read. */
export function readSmallFiles(paths: string[]): Promise<(string | undefined)[]> {
  return load().readSmallFiles(paths);
}

/** Returns the C heap's free pages to the kernel (malloc_trim), on libuv's thread pool; for after a burst of allocation such as a pull. */
export function trimMemory(): Promise<void> {
  return load().trimMemory();
}

/**
 * A memfd holding a copy of the executable at `path`, sealed against writes,
 * growth and shrinking (close-on-exec; the caller keeps it). Throws with the
 * errno's code when the kernel refuses.
 */
export function sealedCopy(path: string, name: string): number {
  return load().sealedCopy(path, name);
}

/** Closes a descriptor the addon handed out. */
export function closeDescriptor(fd: number): void {
  load().closeFd(fd);
}
