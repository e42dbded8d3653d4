// Running helper programs (CNI plugins, runc, iptables) with a timeout,
// and errors that name the command and carry its stderr.

import type { Readable } from "node:stream";
import { killTree } from "./process-tree.js";
import { spawnProcess, spawnTurn } from "./spawn.js";

export interface ExecOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

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

/** Runs a command and resolves with its output whatever the exit code. */
export async function execCommand(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  await spawnTurn();
  let child;
  try {
    child = spawnProcess(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`cannot run ${file}: ${(err as Error).message}`);
  }
  const [stdin, out, err] = child.stdio;
  let stdout = "";
  let stderr = "";
  out!.on("data", (d: Buffer) => (stdout += d.toString()));
  err!.on("data", (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stderr += `\n(killed after ${opts.timeoutMs} ms)`;
        // Its children too (runc init, iptables under a CNI plugin): they would hold its pipes open.
        void killTree(child.pid);
      }, opts.timeoutMs)
    : undefined;
  stdin!.on("error", () => {});
  stdin!.end(opts.input ?? "");
  try {
    // Like child_process's 'close': the exit and the end of both outputs.
    const [status] = await Promise.all([child.exited, drained(out), drained(err)]);
    return { code: status.code, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
  } finally {
    clearTimeout(timer);
    for (const s of child.stdio) s?.destroy();
  }
}

/** Runs a command; a non-zero exit is a CommandError. */
export async function run(file: string, args: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execCommand(file, args, { timeoutMs: 60_000, ...opts });
  if (r.code !== 0) throw new CommandError([file, ...args.slice(0, 3)].join(" "), r);
  return r.stdout;
}
