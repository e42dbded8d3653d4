// Running helper programs (CNI plugins, runc, iptables) with a timeout,
// and errors that name the command and carry its stderr.

import type { Readable } from "node:stream";
import { killTree } from "./process-tree.js";
import { native } from "../native/index.js";
import { childEnv } from "./spawn.js";

export interface ExecOptions {
  input?: string;
  cwd?: string;
  /** The command's whole environment; without it, the daemon's. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Output kept per stream (256 MiB unless said; iptables-save of a big node's nat table runs to tens of MB); more fails the call. */
  maxOutputBytes?: number;
}

const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The timeout passed and the command (with everything it started) was killed. */
  timedOut?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join(" | ");
    super(`${command} failed (exit ${result.code ?? "signal"})${detail ? `: ${detail}` : ""}`);
  }
}

/** Resolves once a stream has no more to give (or failed). */
export function drained(s: Readable | null | undefined): Promise<void> {
  if (!s) return Promise.resolve();
  return new Promise((resolve) => {
    s.once("end", resolve);
    s.once("close", resolve);
    s.once("error", () => resolve());
  });
}

/**
 * Runs a command and resolves with its output whatever the exit code, once it
 * has exited and both outputs have ended. It is started, its input written
 * and its output read by a thread of the native addon (native/run_captured.c):
 * no streams on the event loop, which does not wait for the child's exec.
 */
export async function execCommand(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const maxOutput = opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  let done!: (r: { code: number | null; stdout: Buffer; stderr: Buffer; cut: boolean; spawnError: string | null }) => void;
  const finished = new Promise<Parameters<typeof done>[0]>((resolve) => (done = resolve));
  // Set by the addon's thread once the child runs.
  const pidCell = new Int32Array(1);
  try {
    native().runCaptured(file, [file, ...args], childEnv(opts), opts.cwd ?? null, Buffer.from(opts.input ?? ""), maxOutput, pidCell, (code, _signal, stdout, stderr, cut, spawnError) =>
      done({ code, stdout, stderr, cut, spawnError }),
    );
  } catch (err) {
    throw new Error(`cannot run ${file}: ${(err as Error).message}`);
  }
  let timedOut = false;
  const onTimeout = () => {
    const pid = Atomics.load(pidCell, 0);
    if (pid <= 0) {
      // Not started yet (its thread is in posix_spawn): looked at again shortly.
      timer = setTimeout(onTimeout, 10);
      return;
    }
    timedOut = true;
    // Its children too (runc init, iptables under a CNI plugin): they would hold its pipes open.
    void killTree(pid);
  };
  let timer = opts.timeoutMs ? setTimeout(onTimeout, opts.timeoutMs) : undefined;
  try {
    const r = await finished;
    if (r.spawnError !== null) throw new Error(`cannot run ${file}: ${r.spawnError}`);
    // Not a result to act on: a caller would miss what was cut off (rules to remove, say).
    if (r.cut) throw new Error(`${file} wrote more than ${maxOutput} bytes to stdout or stderr; its result is not used`);
    const stderr = r.stderr.toString() + (timedOut ? `\n(killed after ${opts.timeoutMs} ms)` : "");
    return { code: r.code, stdout: r.stdout.toString(), stderr, ...(timedOut ? { timedOut } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command; a non-zero exit is a CommandError. */
export async function run(file: string, args: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execCommand(file, args, { timeoutMs: 60_000, ...opts });
  if (r.code !== 0) throw new CommandError([file, ...args.slice(0, 3)].join(" "), r);
  return r.stdout;
}
