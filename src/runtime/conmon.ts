// One conmon per container: it runs `<runtime> create`, then stays to hold the
// container's stdio, write its CRI log file and its exit file, and notice OOM
// kills, whether or not skiff is running. The handshake is conmon's own: a
// start pipe (fd 4) releases it, a sync pipe (fd 3) returns the pid or an error.

import { closeSync, constants, openSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { killTree, waitGone } from "../util/process-tree.js";
import { spawnProcess } from "../util/spawn.js";
import type { OciRuntime } from "./oci-runtime.js";

export interface ConmonLaunch {
  conmonPath: string;
  runtime: OciRuntime;
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  exitDir: string;
  socketDir: string;
  stdin: boolean;
  /** The first attach client to close stdin closes the container's stdin for good. */
  stdinOnce: boolean;
  tty: boolean;
  /** Restore the container from these CRIU images (`<runtime> restore`, which starts it) instead of creating it. */
  restore?: { imagePath: string; workPath: string; criuPath: string };
}

/** Parses conmon's sync message: {"data"|"pid": N, "message"?: "..."}. Pure. */
export function parseSyncMessage(text: string): { pid?: number; message?: string } {
  const doc = JSON.parse(text) as { data?: number; pid?: number; message?: string };
  const pid = doc.data ?? doc.pid;
  if (pid === undefined || pid < 0) return { message: doc.message ?? "conmon reported a failure without a message" };
  return { pid };
}

/** Reads conmon's newline-separated JSON messages from a pipe, one at a time. */
export class SyncReader {
  private buf = "";
  private readonly queue: string[] = [];
  private waiting: ((v: string | undefined) => void) | undefined;
  private ended = false;

  constructor(pipe: Readable) {
    pipe.on("data", (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line) this.deliver(line);
      }
    });
    // The sockets allow half-open connections: conmon's close arrives as 'end'.
    const finish = () => {
      if (this.ended) return;
      this.ended = true;
      if (this.buf.trim()) this.deliver(this.buf.trim());
      this.buf = "";
      this.waiting?.(undefined);
      this.waiting = undefined;
    };
    pipe.on("end", finish);
    pipe.on("close", finish);
    pipe.on("error", finish);
  }

  private deliver(line: string) {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(line);
    } else this.queue.push(line);
  }

  next(): Promise<string | undefined> {
    const line = this.queue.shift();
    if (line !== undefined || this.ended) return Promise.resolve(line);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/** A conmon that has started and waits at its start pipe, before running `<runtime> create`. */
export interface HeldConmon {
  /** Lets conmon create the container (the bundle must be complete); resolves to the container's pid. */
  release(): Promise<number>;
  /** Ends a conmon that will not be released (the creation failed meanwhile) and waits for it. */
  abort(): Promise<void>;
}

/**
 * Starts conmon for a new container. conmon parses its options, opens the log
 * file, then blocks on the start pipe until release(): so the caller can start
 * it while the rootfs and bundle are still being made, and its start-up no
 * longer adds to CreateContainer. The log file's directory and the bundle
 * directory (conmon's working directory) must exist.
 */
export function startConmon(l: ConmonLaunch): HeldConmon {
  const args = [
    "--api-version", "1",
    "-c", l.id, "-u", l.id, "-n", l.name,
    "-r", l.runtime.program, "--runtime-arg", "--root", "--runtime-arg", l.runtime.root,
    "-b", l.bundle, "-p", path.join(l.bundle, "pidfile"), "-P", path.join(l.bundle, "conmon.pid"),
    "--persist-dir", l.bundle, "--exit-dir", l.exitDir, "--socket-dir-path", l.socketDir,
    "-l", `k8s-file:${l.logPath}`, "--log-level", "info",
    ...(l.stdin ? ["-i"] : []), ...(l.stdin && !l.stdinOnce ? ["--leave-stdin-open"] : []), ...(l.tty ? ["-t"] : []),
    ...(l.restore
      ? ["--restore", l.restore.imagePath, "--runtime-arg", "--criu", "--runtime-arg", l.restore.criuPath, "--runtime-opt", `--work-path=${l.restore.workPath}`, "--runtime-opt", "--file-locks"]
      : []),
  ];
  // conmon's own output goes to a file: a pipe of ours would be held by the daemonised conmon.
  const outFile = path.join(l.bundle, "conmon.out");
  const fd = openSync(outFile, "a", 0o600);
  let child;
  try {
    child = spawnProcess(l.conmonPath, args, {
      stdio: ["ignore", fd, fd, "pipe", "pipe"],
      // conmon drops an "oom" marker file in its working directory on cgroup v1.
      cwd: l.bundle,
      extraEnv: { _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4" },
      detached: true,
    });
  } catch (err) {
    throw new Error(`cannot run conmon: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
  const syncPipe = child.stdio[3]!;
  const start = child.stdio[4]!;
  start.on("error", () => undefined);
  // Read from now on, so that an early exit of conmon is noticed as such.
  const sync = new SyncReader(syncPipe);
  const close = () => {
    syncPipe.destroy();
    start.destroy();
  };
  return {
    async release() {
      start.end("0");
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), l.runtime.timeoutMs)));
      const message = await Promise.race([sync.next(), deadline]).finally(() => clearTimeout(timer));
      if (message === "late") {
        // conmon has daemonised: its pid file names it. It goes with the runtime it waits for, before any undo.
        const pid = Number((await readFile(path.join(l.bundle, "conmon.pid"), "utf8").catch(() => "")).trim());
        await Promise.all([pid > 0 ? killTree(pid) : undefined, killTree(child.pid)]);
        if (pid > 0) await waitGone(pid, 5000);
        close();
        throw l.runtime.deadlineError("create", l.id);
      }
      close();
      if (message === undefined) {
        throw new Error(`conmon exited without reporting: ${(await readFile(outFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ")}`);
      }
      const r = parseSyncMessage(message);
      if (r.pid === undefined) throw new Error(`${l.runtime.handler} ${l.restore ? "restore" : "create"} failed: ${r.message}`);
      return r.pid;
    },
    async abort() {
      // Still blocked on the start pipe: it has forked nothing yet.
      child.kill("SIGKILL");
      await child.exited;
      close();
    },
  };
}

/**
 * Whether the conmon that monitors container `id` still runs: the pid it
 * wrote to <bundle>/conmon.pid names a live process whose command line has
 * the id. (A conmon whose daemon died before reading the container's pid
 * exits when it cannot report it.)
 */
export async function monitorAlive(bundle: string, id: string): Promise<boolean> {
  const pid = Number.parseInt((await readFile(path.join(bundle, "conmon.pid"), "utf8").catch(() => "")).trim(), 10);
  if (!(pid > 0)) return false;
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  return /(^|\/)conmon$/.test(argv[0] ?? "") && argv.includes(id);
}

/**
 * Writes one message to conmon's control FIFO ("<type> <height> <width>\n"):
 * type 1 resizes the terminal, type 2 reopens the log file. Non-blocking: the
 * FIFO has a reader as long as conmon runs, and fails with ENXIO otherwise.
 */
export async function writeConmonControl(ctlPath: string, type: 1 | 2, height: number, width: number): Promise<void> {
  const fh = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    await fh.write(`${type} ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}
