// Child processes started by fixtures: spawned in their own process group,
// stopped by pid only, and waited for.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns with stdout and stderr appended to logFile. */
export function startLogged(command: string, args: string[], logFile: string, options: SpawnOptions = {}): Started {
  const fd = openSync(logFile, "a");
  const child = spawn(command, args, { ...options, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  return { child, exited };
}

/** Sends `signal`, waits up to timeoutMs, then SIGKILLs. Returns how it ended. */
export async function stopProcess(p: Started, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

/** "pid command line" of every process whose command line mentions `text`, for leak checks. */
export async function processesMentioning(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(text)) out.push(`${pid} ${cmd.replaceAll("\0", " ")}`);
  }
  return out;
}
