// The configured runtime handlers, and whether each can run on this host.

import path from "node:path";
import type { Config } from "../config/config.js";
import { invalidArgument, failedPrecondition } from "../errors.js";
import { execCommand } from "../util/exec.js";
import { findExecutable } from "../util/executable.js";
import { detectCgroupLayout, runtimeUnusableReason, type CgroupLayout } from "./cgroups.js";
import { criuProblem, runtimeSupportsCheckpoint } from "./checkpoint/criu-support.js";
import { runtimeSupportsUserNamespaces, userNamespaceHostProblem } from "./idmap-support.js";
import { OciRuntime, type OciState } from "./oci-runtime.js";
import { reexecsItself, SealedBinary } from "./sealed-binary.js";

/** The handler pods get when the default (crun) cannot run here and the config did not name one. */
export const FALLBACK_HANDLER = "runc";

export class Runtimes {
  /** Why the default handler is FALLBACK_HANDLER rather than the configured default, if it is. */
  fallbackReason?: string;
  private idmapProbe?: Promise<string | undefined>;
  private criuProbe?: Promise<string | undefined>;
  /** Handlers that run from a sealed copy of their binary (sealed-binary.ts). */
  private readonly sealed = new Map<string, SealedBinary>();

  private constructor(
    private readonly config: Config,
    readonly cgroups: CgroupLayout,
  ) {}

  /**
   * Reads the host's cgroup layout and settles the default handler: crun where
   * it can run, else runc (config.defaultRuntimeHandler is updated, so that
   * everything after sees the handler in use).
   */
  static async detect(config: Config): Promise<Runtimes> {
    const runtimes = new Runtimes(config, await detectCgroupLayout());
    const wanted = config.defaultRuntimeHandler;
    if (!config.defaultRuntimeHandlerPinned && wanted !== FALLBACK_HANDLER && config.runtimeHandlers[FALLBACK_HANDLER]) {
      const problem = await runtimes.unusable(wanted);
      if (problem) {
        runtimes.fallbackReason = `default handler ${wanted} cannot run here (${problem}); pods without a runtime handler use ${FALLBACK_HANDLER}. Set runtime.default_handler to choose one.`;
        config.defaultRuntimeHandler = FALLBACK_HANDLER;
      }
    }
    return runtimes;
  }

  /**
   * Gives each handler whose binary re-executes itself at every call (crun) a
   * sealed copy to run from, when config.runtimeSealedCopy allows. Each copy
   * is tried once (`--version`) before it is used. Returns what was done, or
   * why not, per handler, for the log.
   */
  async sealBinaries(): Promise<{ handler: string; source: string; problem?: string }[]> {
    if (!this.config.runtimeSealedCopy) return [];
    const done: { handler: string; source: string; problem?: string }[] = [];
    for (const [handler, h] of Object.entries(this.config.runtimeHandlers)) {
      if (!reexecsItself(h.path)) continue;
      const source = await findExecutable(h.path);
      if (!source) continue; // reported as the handler's problem
      let sealed: SealedBinary | undefined;
      try {
        sealed = SealedBinary.create(source, path.join(this.config.state, "sealed", handler));
        const r = await execCommand(sealed.link, ["--version"], { timeoutMs: 10_000 });
        if (r.code !== 0) throw new Error(`its --version failed (exit ${r.code ?? "signal"}): ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
        this.sealed.set(handler, sealed);
        done.push({ handler, source });
      } catch (err) {
        sealed?.close();
        done.push({ handler, source, problem: (err as Error).message });
      }
    }
    return done;
  }

  /** handler -> the binary it runs a sealed copy of, for Status verbose info. */
  sealedCopies(): Record<string, string> {
    return Object.fromEntries([...this.sealed].map(([handler, b]) => [handler, b.source]));
  }

  /** Why a handler cannot run containers on this host (its binary missing, or refused cgroups), or undefined. */
  private async unusable(handler: string): Promise<string | undefined> {
    const h = this.config.runtimeHandlers[handler]!;
    if (!(await findExecutable(h.path))) return `"${h.path}" not found`;
    return runtimeUnusableReason(h.path, this.cgroups);
  }

  /**
   * Why pods with a user namespace cannot run on a handler here, or undefined
   * when they can. The host's part is probed once, on first use.
   */
  async userNamespaceProblem(handler: string): Promise<string | undefined> {
    const h = this.config.runtimeHandlers[this.resolveName(handler)]!;
    if (!runtimeSupportsUserNamespaces(h.path)) return `${h.path} is not known to support user namespaces (runc and crun are)`;
    this.idmapProbe ??= userNamespaceHostProblem(this.config);
    return this.idmapProbe;
  }

  /**
   * Why containers of a handler cannot be checkpointed and restored here, or
   * undefined when they can. CRIU is checked once, on first use.
   */
  async checkpointProblem(handler: string): Promise<string | undefined> {
    const h = this.config.runtimeHandlers[this.resolveName(handler)]!;
    if (!runtimeSupportsCheckpoint(h.path)) return `${h.path} cannot checkpoint containers here (runc can)`;
    this.criuProbe ??= criuProblem(this.config.criuPath);
    return this.criuProbe;
  }

  /** "" means the default handler. Unknown handlers are INVALID_ARGUMENT. */
  resolveName(handler: string): string {
    const name = handler || this.config.defaultRuntimeHandler;
    if (!this.config.runtimeHandlers[name]) {
      throw invalidArgument(`unknown runtime handler "${handler}" (configured: ${Object.keys(this.config.runtimeHandlers).join(", ")})`);
    }
    return name;
  }

  /** The runtime for a handler, refusing one that cannot work on this host. */
  get(handler: string): OciRuntime {
    const name = this.resolveName(handler);
    const h = this.config.runtimeHandlers[name]!;
    const problem = runtimeUnusableReason(h.path, this.cgroups);
    if (problem) throw failedPrecondition(`runtime handler "${name}": ${problem}`);
    return new OciRuntime(name, h.path, h.root, this.config.runtimeTimeoutSeconds * 1000, this.sealed.get(name)?.program());
  }

  /**
   * What each handler's runtime knows at this moment, from one `list` per
   * handler instead of one `state` per container (recovery after a restart:
   * 100 pods cost 100 runtime processes otherwise). A handler whose list fails
   * is asked container by container.
   */
  async snapshot(handlers: Iterable<string>): Promise<RuntimeSnapshot> {
    const listed = new Map<string, Map<string, OciState>>();
    for (const handler of new Set(handlers)) {
      try {
        listed.set(handler, await this.get(handler).list());
      } catch {
        // left to state() below, which reports its own failure per container
      }
    }
    return {
      state: (handler, id) => (listed.has(handler) ? Promise.resolve(listed.get(handler)!.get(id)) : this.get(handler).state(id)),
      entries: () => [...listed].flatMap(([handler, states]) => [...states.values()].map((s) => [handler, s] as [string, OciState])),
    };
  }

  /** handler -> problem, for Status verbose info. */
  problems(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, h] of Object.entries(this.config.runtimeHandlers)) {
      const p = runtimeUnusableReason(h.path, this.cgroups);
      if (p) out[name] = p;
    }
    return out;
  }
}

export interface RuntimeSnapshot {
  /** The container's state as the runtime saw it when the snapshot was taken; undefined if unknown to it. */
  state(handler: string, id: string): Promise<OciState | undefined>;
  /** Every container of the handlers whose list succeeded, with its handler. */
  entries(): [string, OciState][];
}
