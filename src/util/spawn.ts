// Starting child processes without fork(): posix_spawn through the native
// addon (vfork semantics), because Node's child_process forks the whole daemon
// on the event loop, ~3 ms of page-table copying per runc or CNI call at
// skiff's size, and skiff runs several per pod. Stdio "pipe"s are socket
// pairs, as libuv makes them.

import net from "node:net";
import os from "node:os";
import { native } from "../native/index.js";

let lastTurn: Promise<void> = Promise.resolve();

/**
 * Resolves when the caller may spawn: at most one spawn per turn of the event
 * loop. Each spawn holds the loop while the child is set up and execs (a few
 * ms on a loaded machine); twenty in one turn (a burst of ExecSync calls) would
 * add up to one long stall for every other call.
 */
export function spawnTurn(): Promise<void> {
  const mine = lastTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  lastTurn = mine;
  return mine;
}

/** Per child fd: /dev/null, a new pipe to the parent, or an fd of ours. */
export type StdioSpec = "ignore" | "pipe" | number;

export interface SpawnOptions {
  cwd?: string;
  /** The child's whole environment; without it, the daemon's with `extraEnv` added. */
  env?: NodeJS.ProcessEnv;
  extraEnv?: Record<string, string>;
  stdio: StdioSpec[];
  /** In a session of its own (setsid), like child_process's `detached`. */
  detached?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  pid: number;
  /** The parent's end of each "pipe" (null for other stdio kinds). */
  stdio: (net.Socket | null)[];
  exited: Promise<ExitStatus>;
  /** Signals the child unless it has already been reaped. */
  kill(signal?: NodeJS.Signals): void;
}

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** An environment as the NAME=value strings exec wants. */
function envList(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

let inherited: string[] | undefined;

/**
 * A child's environment: `env` if given, else the daemon's own with `extraEnv`
 * added. The daemon's is read once: process.env goes through C++ at every
 * access (~60 µs to copy 35 variables, at each runtime or conmon start), and
 * skiff never changes its own environment.
 */
export function childEnv(opts: { env?: NodeJS.ProcessEnv; extraEnv?: Record<string, string> }): string[] {
  if (opts.env) return envList(opts.env);
  inherited ??= envList(process.env);
  const extra = opts.extraEnv;
  if (!extra) return inherited;
  return [...inherited.filter((entry) => !Object.hasOwn(extra, entry.slice(0, entry.indexOf("=")))), ...envList(extra)];
}

/** Throws (ENOENT and the like) when the program cannot be started. */
export function spawnProcess(file: string, args: string[], opts: SpawnOptions): Child {
  const addon = native();
  const pairs = opts.stdio.map((s) => (s === "pipe" ? addon.makeSocketPair() : undefined));
  const fds = opts.stdio.map((s, i) => (s === "pipe" ? pairs[i]![1] : s === "ignore" ? -1 : s));
  let reaped = false;
  let resolveExit!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((resolve) => (resolveExit = resolve));
  let pid: number;
  try {
    pid = addon.spawnProcess(file, [file, ...args], childEnv(opts), opts.cwd ?? null, fds, !!opts.detached, (code, signal) => {
      reaped = true;
      resolveExit({ code, signal: signal ? (SIGNAL_NAMES.get(signal) ?? null) : null });
    });
  } catch (err) {
    for (const p of pairs) if (p) addon.closeFd(p[0]);
    throw err;
  } finally {
    // The child has its copies (or failed to start): ours go.
    for (const p of pairs) if (p) addon.closeFd(p[1]);
  }
  const stdio = pairs.map((p) => (p ? new net.Socket({ fd: p[0], readable: true, writable: true, allowHalfOpen: true }) : null));
  return {
    pid,
    stdio,
    exited,
    kill(signal: NodeJS.Signals = "SIGTERM") {
      if (reaped) return;
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    },
  };
}
