// A streaming exec session (kubectl exec): one conmon in exec mode runs
// `<runtime> exec -d`, owns the terminal if there is one, reaps the process and
// reports its exit code. The handshake is conmon's "exec attach" one:
//   start pipe (fd 4), 1st write: conmon may begin;
//   attach pipe (fd 5): the attach socket is ready, so no output is lost;
//   start pipe, 2nd write: conmon runs the runtime;
//   sync pipe (fd 3): {"data": pid} (or a failure), later {"data": exit code}.

import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { spawnProcess, type Child } from "../util/spawn.js";
import { relayStdio } from "./attach-socket.js";
import { parseSyncMessage, SyncReader } from "./conmon.js";
import type { OciRuntime } from "./oci-runtime.js";
import type { ProcessStdio, TerminalSize, TerminalSizes } from "./stdio.js";

export interface ExecSessionLaunch {
  conmonPath: string;
  runtime: OciRuntime;
  containerId: string;
  sessionId: string;
  /** The container's own OCI process, which the exec process inherits from. */
  containerProcess: Record<string, unknown>;
  cmd: string[];
  /** <state>/exec/<session>: the session's process spec, pid file, control FIFO. */
  sessionDir: string;
  socketDir: string;
}

/**
 * The exec's process spec: the container's own process with the command, a
 * terminal if asked (with TERM, and the client's size from the first instant,
 * so a command that reads it at once does not see 0x0). Pure.
 */
export function execProcessSpec(containerProcess: Record<string, unknown>, cmd: string[], tty: boolean, size?: TerminalSize): Record<string, unknown> {
  const env = Array.isArray(containerProcess.env) ? (containerProcess.env as string[]) : [];
  const withTerm = tty && !env.some((e) => e.startsWith("TERM=")) ? [...env, "TERM=xterm"] : env;
  const { consoleSize: _drop, ...rest } = containerProcess;
  return { ...rest, args: cmd, terminal: tty, env: withTerm, ...(tty && size ? { consoleSize: { height: size.height, width: size.width } } : {}) };
}

/** Clients send the terminal size right after opening their streams; give it a moment to arrive. */
const FIRST_SIZE_WAIT_MS = 1000;

function firstSize(sizes: TerminalSizes, signal: AbortSignal): Promise<TerminalSize | undefined> {
  if (sizes.latest) return Promise.resolve(sizes.latest);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sizes.off("resize", done);
      signal.removeEventListener("abort", done);
      resolve(sizes.latest);
    };
    const timer = setTimeout(done, FIRST_SIZE_WAIT_MS);
    sizes.on("resize", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

export async function runExecSession(l: ExecSessionLaunch, io: ProcessStdio, signal: AbortSignal): Promise<number> {
  await mkdir(l.sessionDir, { recursive: true, mode: 0o700 });
  const outFile = path.join(l.sessionDir, "conmon.out");
  let conmon: Child | undefined;
  const conmonOutput = async () => (await readFile(outFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
  try {
    const processFile = path.join(l.sessionDir, "process.json");
    const size = io.tty && io.sizes ? await firstSize(io.sizes, signal) : undefined;
    await writeFile(processFile, JSON.stringify(execProcessSpec(l.containerProcess, l.cmd, io.tty, size)));
    const args = [
      "--api-version", "1",
      "-c", l.containerId, "-u", l.sessionId, "-n", l.containerId,
      "-r", l.runtime.program, "--runtime-arg", "--root", "--runtime-arg", l.runtime.root,
      "-b", l.sessionDir, "--persist-dir", l.sessionDir, "-p", path.join(l.sessionDir, "pid"),
      "--socket-dir-path", l.socketDir, "-l", "none", "--log-level", "error",
      "-e", "--exec-attach", "--exec-process-spec", processFile,
      ...(io.stdin ? ["-i"] : []), ...(io.tty ? ["-t"] : []),
    ];
    const fd = openSync(outFile, "a", 0o600);
    try {
      conmon = spawnProcess(l.conmonPath, args, {
        stdio: ["ignore", fd, fd, "pipe", "pipe", "pipe"],
        extraEnv: { _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4", _OCI_ATTACHPIPE: "5" },
        cwd: l.sessionDir,
        detached: true,
      });
    } catch (err) {
      throw new Error(`cannot run conmon: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
    const sync = new SyncReader(conmon.stdio[3]!);
    const attachReady = new SyncReader(conmon.stdio[5]!);
    const start = conmon.stdio[4]!;
    start.on("error", () => undefined);
    start.write("0");
    const ready = await attachReady.next();
    if (ready === undefined) throw new Error(`conmon exited before the exec session was set up: ${await conmonOutput()}`);
    const relay = relayStdio(path.join(l.socketDir, l.sessionId, "attach"), path.join(l.sessionDir, "ctl"), io, signal);
    start.end("0");
    const first = await sync.next();
    if (first === undefined) throw new Error(`conmon exited without starting the command: ${await conmonOutput()}`);
    const started = parseSyncMessage(first);
    if (started.pid === undefined) {
      throw new Error(`${l.runtime.handler} exec failed: ${started.message?.trim()}`);
    }
    const pid = started.pid;
    // The client went away: the command must not outlive its session.
    const kill = () => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    signal.addEventListener("abort", kill, { once: true });
    try {
      const exit = await sync.next();
      await relay;
      if (exit === undefined) throw new Error(`conmon exited without reporting the exit code: ${await conmonOutput()}`);
      const doc = JSON.parse(exit) as { data?: number; message?: string };
      if (typeof doc.data !== "number" || doc.data < 0) throw new Error(`exec session failed: ${doc.message ?? exit}`);
      return doc.data;
    } finally {
      signal.removeEventListener("abort", kill);
    }
  } finally {
    for (const s of conmon?.stdio ?? []) s?.destroy();
    await rm(l.sessionDir, { recursive: true, force: true });
    await rm(path.join(l.socketDir, l.sessionId), { recursive: true, force: true });
  }
}
