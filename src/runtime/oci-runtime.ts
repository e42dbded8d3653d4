// Drives an OCI runtime binary (runc, crun) with its own --root.

import { closeSync, openSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ociRuntimeDuration, timed } from "../observability/metrics.js";
import { execCommand } from "../util/exec.js";
import { spawnProcess } from "../util/spawn.js";

export interface OciState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "stopped" | "paused";
  bundle: string;
}

export class OciRuntime {
  constructor(
    readonly handler: string,
    readonly path: string,
    readonly root: string,
  ) {}

  private args(rest: string[]): string[] {
    return ["--root", this.root, ...rest];
  }

  private timed<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return timed(ociRuntimeDuration, { handler: this.handler, operation }, fn);
  }

  /**
   * create + start in one step, detached. The container inherits the
   * runtime's stdio, so it gets /dev/null and a file for stderr, never a pipe
   * of ours (which it would hold open for as long as it lives).
   */
  runDetached(id: string, bundle: string, pidFile: string): Promise<void> {
    return this.timed("run", () => this.run(id, bundle, pidFile));
  }

  private async run(id: string, bundle: string, pidFile: string): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const errFile = path.join(bundle, "runtime-stderr.log");
    const fd = openSync(errFile, "w", 0o600);
    let code: number | null;
    try {
      let child;
      try {
        child = spawnProcess(this.path, this.args(["run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id]), { stdio: ["ignore", "ignore", fd] });
      } catch (err) {
        throw new Error(`cannot run ${this.path}: ${(err as Error).message}`);
      }
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      code = (await child.exited).code;
      clearTimeout(timer);
    } finally {
      closeSync(fd);
    }
    if (code !== 0) {
      const stderr = (await readFile(errFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`${this.handler} run ${id} failed (exit ${code}): ${stderr}`);
    }
  }

  /** The container's state, or undefined if the runtime does not know it. */
  async state(id: string): Promise<OciState | undefined> {
    const r = await this.timed("state", () => execCommand(this.path, this.args(["state", id]), { timeoutMs: 30_000 }));
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as OciState;
  }

  async start(id: string): Promise<void> {
    const r = await this.timed("start", () => execCommand(this.path, this.args(["start", id]), { timeoutMs: 60_000 }));
    if (r.code !== 0) throw new Error(`${this.handler} start ${id} failed: ${r.stderr.trim()}`);
  }

  /** Applies new cgroup limits (an OCI LinuxResources document) to a running container. */
  async update(id: string, resourcesFile: string): Promise<void> {
    const r = await this.timed("update", () => execCommand(this.path, this.args(["update", "--resources", resourcesFile, id]), { timeoutMs: 30_000 }));
    if (r.code !== 0) throw new Error(`${this.handler} update ${id} failed: ${r.stderr.trim()}`);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const r = await this.timed("kill", () => execCommand(this.path, this.args(["kill", ...(all ? ["--all"] : []), id, signal]), { timeoutMs: 30_000 }));
    // Already gone is fine: the caller wants it dead.
    if (r.code !== 0 && !/not running|does not exist|not found|container .* is stopped/i.test(r.stderr)) {
      throw new Error(`${this.handler} kill ${id} failed: ${r.stderr.trim()}`);
    }
  }

  async delete(id: string): Promise<void> {
    const r = await this.timed("delete", () => execCommand(this.path, this.args(["delete", "--force", id]), { timeoutMs: 30_000 }));
    if (r.code !== 0 && !/does not exist|not found|no such file/i.test(r.stderr)) {
      throw new Error(`${this.handler} delete ${id} failed: ${r.stderr.trim()}`);
    }
  }
}
