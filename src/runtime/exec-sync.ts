// ExecSync: a command run to completion in a running container with the
// runtime's `exec`, its output captured (16 MiB per stream at most: the rest is
// dropped, as CVE-2022-1708 requires) and a timeout that kills the command
// itself, not only the runtime process waiting for it.

import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { deadlineExceeded } from "../errors.js";
import { drained } from "../util/exec.js";
import { killTree } from "../util/process-tree.js";
import { spawnProcess, spawnTurn } from "../util/spawn.js";
import { execProcessSpec } from "./exec-session.js";
import type { OciRuntime } from "./oci-runtime.js";

export const EXEC_OUTPUT_LIMIT = 16 * 1024 * 1024;

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  push(b: Buffer) {
    if (this.size >= EXEC_OUTPUT_LIMIT) return;
    const part = b.subarray(0, EXEC_OUTPUT_LIMIT - this.size);
    this.chunks.push(part);
    this.size += part.length;
  }
  get value(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** How long runc gets to reap a killed command and exit before it is killed too. */
const REAP_GRACE_MS = 5000;

/**
 * Runs cmd in the container. timeoutMs > 0 bounds it: the command and every
 * process it started are killed, and the call fails only once runc has reaped
 * them (a caller that looks right after must not find them, not even as
 * zombies: a container's PID 1 often reaps nothing).
 */
export async function execSync(runtime: OciRuntime, id: string, bundle: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
  const spec = JSON.parse(await readFile(path.join(bundle, "config.json"), "utf8")) as { process: Record<string, unknown> };
  const tag = randomBytes(6).toString("hex");
  const processFile = path.join(bundle, `exec-${tag}.json`);
  const pidFile = path.join(bundle, `exec-${tag}.pid`);
  await writeFile(processFile, JSON.stringify(execProcessSpec(spec.process, cmd, false)));
  try {
    await spawnTurn();
    const child = spawnProcess(runtime.program, ["--root", runtime.root, "exec", "--process", processFile, "--pid-file", pidFile, id], { stdio: ["ignore", "pipe", "pipe"] });
    const [, out, err] = child.stdio;
    const stdout = new Capped();
    const stderr = new Capped();
    out!.on("data", (d: Buffer) => stdout.push(d));
    err!.on("data", (d: Buffer) => stderr.push(d));
    let timedOut = false;
    let reapTimer: NodeJS.Timeout | undefined;
    const timer =
      timeoutMs > 0
        ? setTimeout(async () => {
            timedOut = true;
            const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
            // runc is the command's parent: it reaps it once killed and then exits.
            if (pid > 0) await killTree(pid);
            else child.kill("SIGKILL"); // not started yet: stop runc itself
            reapTimer = setTimeout(() => child.kill("SIGKILL"), REAP_GRACE_MS);
          }, timeoutMs)
        : undefined;
    const [{ code, signal }] = await Promise.all([child.exited, drained(out), drained(err)]);
    clearTimeout(timer);
    clearTimeout(reapTimer);
    for (const s of child.stdio) s?.destroy();
    if (timedOut) throw deadlineExceeded(`command ${JSON.stringify(cmd).slice(0, 200)} timed out after ${timeoutMs / 1000} s and was killed`);
    return { stdout: stdout.value, stderr: stderr.value, exitCode: code ?? 128 + (signal ? os.constants.signals[signal] : 9) };
  } finally {
    await rm(processFile, { force: true });
    await rm(pidFile, { force: true });
  }
}
