// Drives an OCI runtime binary (runc, crun) with its own --root.

import { closeSync, openSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ociRuntimeDuration, timed } from "../observability/metrics.js";
import { deadlineExceeded } from "../errors.js";
import { execCommand, type ExecResult } from "../util/exec.js";
import { killTree } from "../util/process-tree.js";
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
    /** Each call's deadline (config runtime.timeout): past it the runtime and its children are killed. */
    readonly timeoutMs = 60_000,
    /** What to execute: `path`, or a sealed copy of it (sealed-binary.ts). */
    readonly program = path,
  ) {}

  private args(rest: string[]): string[] {
    return ["--root", this.root, ...rest];
  }

  /** The error of a call that passed its deadline. */
  deadlineError(operation: string, id: string): Error {
    return deadlineExceeded(`${this.handler} ${operation} ${id} did not finish within ${this.timeoutMs / 1000} s and was killed (runtime.timeout)`);
  }

  /** Runs `<runtime> --root R <rest>`, timed and bounded; a passed deadline is DEADLINE_EXCEEDED. */
  private async call(operation: string, id: string, rest: string[]): Promise<ExecResult> {
    const r = await this.timed(operation, () => execCommand(this.program, this.args(rest), { timeoutMs: this.timeoutMs }));
    if (r.timedOut) throw this.deadlineError(operation, id);
    return r;
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
        child = spawnProcess(this.program, this.args(["run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id]), { stdio: ["ignore", "ignore", fd] });
      } catch (err) {
        throw new Error(`cannot run ${this.path}: ${(err as Error).message}`);
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void killTree(child.pid);
      }, this.timeoutMs);
      code = (await child.exited).code;
      clearTimeout(timer);
      if (timedOut) throw this.deadlineError("run", id);
    } finally {
      closeSync(fd);
    }
    if (code !== 0) {
      const stderr = (await readFile(errFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`${this.handler} run ${id} failed (exit ${code}): ${stderr}`);
    }
  }

  /** Every container the runtime knows under its root, by id. */
  async list(): Promise<Map<string, OciState>> {
    const r = await this.call("list", "", ["list", "--format", "json"]);
    if (r.code !== 0) throw new Error(`${this.handler} list failed: ${r.stderr.trim()}`);
    // runc prints null, crun [], for an empty root
    const states = (JSON.parse(r.stdout.trim() || "null") ?? []) as OciState[];
    return new Map(states.map((s) => [s.id, s]));
  }

  /** The container's state, or undefined if the runtime does not know it. */
  async state(id: string): Promise<OciState | undefined> {
    const r = await this.call("state", id, ["state", id]);
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as OciState;
  }

  /**
   * Checkpoints a running container with CRIU into `imagePath`, leaving it
   * running (`runc --criu <criu> checkpoint`). CRIU's own log is dump.log in `workPath`.
   */
  async checkpoint(id: string, opts: { criuPath: string; imagePath: string; workPath: string; timeoutMs: number }): Promise<void> {
    const args = this.args(["--criu", opts.criuPath, "checkpoint", "--image-path", opts.imagePath, "--work-path", opts.workPath, "--leave-running", "--file-locks", id]);
    const r = await this.timed("checkpoint", () => execCommand(this.program, args, { timeoutMs: opts.timeoutMs }));
    if (r.timedOut) throw deadlineExceeded(`${this.handler} checkpoint ${id} did not finish within ${opts.timeoutMs / 1000} s and was killed`);
    if (r.code !== 0) {
      const log = await readFile(path.join(opts.workPath, "dump.log"), "utf8").catch(() => "");
      const why = log.split("\n").filter((l) => /Error/.test(l)).slice(-2).join(" | ");
      throw new Error(`${this.handler} checkpoint ${id} failed: ${r.stderr.trim()}${why ? ` (CRIU: ${why})` : ""}`);
    }
  }

  /** Freezes every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    const r = await this.call("pause", id, ["pause", id]);
    if (r.code !== 0) throw new Error(`${this.handler} pause ${id} failed: ${r.stderr.trim()}`);
  }

  async resume(id: string): Promise<void> {
    const r = await this.call("resume", id, ["resume", id]);
    if (r.code !== 0) throw new Error(`${this.handler} resume ${id} failed: ${r.stderr.trim()}`);
  }

  async start(id: string): Promise<void> {
    const r = await this.call("start", id, ["start", id]);
    if (r.code !== 0) throw new Error(`${this.handler} start ${id} failed: ${r.stderr.trim()}`);
  }

  /** Applies new cgroup limits (an OCI LinuxResources document) to a running container. */
  async update(id: string, resourcesFile: string): Promise<void> {
    const r = await this.call("update", id, ["update", "--resources", resourcesFile, id]);
    if (r.code !== 0) throw new Error(`${this.handler} update ${id} failed: ${r.stderr.trim()}`);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const r = await this.call("kill", id, ["kill", ...(all ? ["--all"] : []), id, signal]);
    // Already gone (or never made: crun cannot open its status file) is fine: the caller wants it dead.
    if (r.code !== 0 && !/not running|does not exist|not found|no such file|container .* is stopped/i.test(r.stderr)) {
      throw new Error(`${this.handler} kill ${id} failed: ${r.stderr.trim()}`);
    }
  }

  async delete(id: string): Promise<void> {
    const r = await this.call("delete", id, ["delete", "--force", id]);
    if (r.code !== 0 && !/does not exist|not found|no such file/i.test(r.stderr)) {
      throw new Error(`${this.handler} delete ${id} failed: ${r.stderr.trim()}`);
    }
  }
}
