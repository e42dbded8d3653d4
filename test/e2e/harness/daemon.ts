// A real `skiff daemon` child process with its own root, state dir, socket,
// CNI conf dir, bridge name and subnet. It can be stopped (SIGTERM), killed
// (SIGKILL) and started again on the same dirs for recovery tests.

import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "smol-toml";
import { CriClient } from "./cri-client.js";
import { startLogged, stopProcess, waitFor, type Started } from "./processes.js";
import { fixtureDir } from "./run-dir.js";

export const SKIFF_BIN = fileURLToPath(new URL("../../../bin/skiff", import.meta.url));

/** Runs the `skiff` command line; never throws for a non-zero exit. */
export async function runSkiff(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(SKIFF_BIN, args, { timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface DaemonOptions {
  /** Config sections merged over the harness defaults (one level deep per table). */
  config?: Record<string, unknown>;
}

let networkCounter = 0;

export class TestDaemon {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly cniConfDir: string;
  readonly bridge: string;
  readonly podCidr: string;
  private proc?: Started;
  private clientValue?: CriClient;

  private constructor(readonly dir: string) {
    this.root = path.join(dir, "root");
    this.state = path.join(dir, "state");
    this.socket = path.join(dir, "skiff.sock");
    this.configFile = path.join(dir, "config.toml");
    this.logFile = path.join(dir, "daemon.log");
    this.cniConfDir = path.join(dir, "cni");
    // A bridge and /24 of our own per daemon, never cni0 or 10.88.0.0/16.
    const n = ((process.pid + networkCounter++) % 200) + 20;
    this.bridge = `skt${n}`;
    this.podCidr = `10.231.${n}.0/24`;
  }

  static async create(options: DaemonOptions = {}): Promise<TestDaemon> {
    const d = new TestDaemon(await fixtureDir("d"));
    await mkdir(d.cniConfDir, { recursive: true });
    await d.writeConfig(options.config ?? {});
    return d;
  }

  /** Creates a daemon and waits until it answers. */
  static async start(options: DaemonOptions = {}): Promise<TestDaemon> {
    const d = await TestDaemon.create(options);
    await d.start();
    return d;
  }

  baseConfig(): Record<string, unknown> {
    return {
      listen: this.socket,
      root: this.root,
      state: this.state,
      log_level: "debug",
      // Tests name the handler they run on (the default selection has tests of its own: runtime-default.test.ts).
      runtime: { default_handler: "runc" },
      cni: { conf_dir: this.cniConfDir, bridge: this.bridge, pod_cidr: this.podCidr },
    };
  }

  async writeConfig(overrides: Record<string, unknown>): Promise<void> {
    const merged: Record<string, unknown> = this.baseConfig();
    for (const [k, v] of Object.entries(overrides)) {
      const base = merged[k];
      merged[k] = isTable(base) && isTable(v) ? { ...base, ...v } : v;
    }
    // An override of undefined removes the harness default (e.g. runtime.default_handler).
    for (const v of Object.values(merged)) if (isTable(v)) for (const [k, x] of Object.entries(v)) if (x === undefined) delete v[k];
    await writeFile(this.configFile, stringify(merged));
  }

  get client(): CriClient {
    this.clientValue ??= new CriClient(this.socket);
    return this.clientValue;
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** Spawns `skiff daemon --config FILE extraArgs...` and returns without waiting. */
  spawn(extraArgs: string[] = []): Started {
    return startLogged(SKIFF_BIN, ["daemon", "--config", this.configFile, ...extraArgs], this.logFile);
  }

  async start(extraArgs: string[] = []): Promise<void> {
    if (this.proc && this.proc.child.exitCode === null && this.proc.child.signalCode === null) throw new Error("daemon already running");
    const proc = this.spawn(extraArgs);
    this.proc = proc;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    await waitFor(
      "the daemon to answer Version",
      async () => {
        if (exited) throw new Error(`daemon exited during start-up:\n${await this.logTail()}`);
        await this.client.runtime.Version({}, { timeoutMs: 1000 });
        return true;
      },
      20_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n--- daemon log ---\n${await this.logTail()}`);
    });
  }

  /** SIGTERM and wait; resolves to how it ended and how long it took. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    if (!this.proc) return { code: 0, signal: null, ms: 0 };
    const t0 = Date.now();
    const r = await stopProcess(this.proc, "SIGTERM");
    return { ...r, ms: Date.now() - t0 };
  }

  /** SIGKILL, as a crash or OOM kill of the daemon would. */
  async kill(): Promise<void> {
    if (this.proc) await stopProcess(this.proc, "SIGKILL");
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async logTail(lines = 40): Promise<string> {
    const text = await readFile(this.logFile, "utf8").catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /** Removes the daemon's pods (if it runs), stops it and removes its dirs. Safe to call more than once. */
  async cleanup(): Promise<void> {
    if (this.proc && this.proc.child.exitCode === null && this.proc.child.signalCode === null) {
      const pods = await this.client.runtime.ListPodSandbox({}, { timeoutMs: 5000 }).catch(() => ({ items: [] }));
      for (const p of pods.items) await this.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.id }, { timeoutMs: 30_000 }).catch(() => {});
    }
    this.clientValue?.close();
    this.clientValue = undefined;
    await this.stop();
    // The daemon logs and survives an error that nothing handled; a test that caused one fails all the same.
    const faults = (await readFile(this.logFile, "utf8").catch(() => "")).split("\n").filter((l) => /"msg":"(uncaught exception|unhandled rejection)/.test(l));
    await rm(this.dir, { recursive: true, force: true });
    if (faults.length) throw new Error(`the daemon logged ${faults.length} error(s) that nothing handled:\n${faults.slice(0, 3).join("\n")}`);
  }
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
