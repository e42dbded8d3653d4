// Running helper programs (unshare, mount, CNI plugins, runc) with a timeout,
// and errors that name the command and carry its stderr.

import { spawn } from "node:child_process";

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

/** Runs a command and resolves with its output whatever the exit code. */
export function execCommand(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(killed after ${opts.timeoutMs} ms)`;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs a command; a non-zero exit is a CommandError. */
export async function run(file: string, args: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execCommand(file, args, { timeoutMs: 60_000, ...opts });
  if (r.code !== 0) throw new CommandError([file, ...args.slice(0, 3)].join(" "), r);
  return r.stdout;
}
