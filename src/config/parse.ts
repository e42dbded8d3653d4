// Turns the TOML document and command-line flags into a validated Config.
// Pure: no file or environment access, so every rule is unit-tested.
// Precedence: flags > file > defaults. Every problem names its dotted key.

import { isIP } from "node:net";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import type { Config, LogLevel, RegistryConfig, RuntimeHandlerConfig } from "./config.js";
import { parseCidr } from "../util/cidr.js";

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(key ? `config: ${key}: ${message}` : `config: ${message}`);
    this.name = "ConfigError";
  }
}

/** Values given on the command line; undefined means "not given". */
export interface ConfigFlags {
  listen?: string;
  root?: string;
  state?: string;
  logLevel?: string;
}

const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal"];
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

type Table = Record<string, unknown>;

/** Reads one table, checking every key against what is allowed. */
class TableReader {
  private readonly used = new Set<string>();
  constructor(
    private readonly values: Table,
    private readonly prefix: string,
  ) {}

  private key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  private raw(name: string): unknown {
    this.used.add(name);
    return this.values[name];
  }

  string(name: string, fallback: string, check?: (v: string) => string | undefined): string {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== "string") throw new ConfigError(this.key(name), `must be a string, got ${describe(v)}`);
    const problem = check?.(v);
    if (problem) throw new ConfigError(this.key(name), problem);
    return v;
  }

  optionalString(name: string, check?: (v: string) => string | undefined): string | undefined {
    return this.raw(name) === undefined ? undefined : this.string(name, "", check);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      throw new ConfigError(this.key(name), `must be an integer, got ${describe(v)}`);
    }
    if (n < min || n > max) throw new ConfigError(this.key(name), `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") throw new ConfigError(this.key(name), `must be true or false, got ${describe(v)}`);
    return v;
  }

  stringList(name: string, fallback: string[], check?: (v: string) => string | undefined): string[] {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      throw new ConfigError(this.key(name), `must be a list of strings, got ${describe(v)}`);
    }
    for (const item of v as string[]) {
      const problem = check?.(item);
      if (problem) throw new ConfigError(this.key(name), problem);
    }
    return v as string[];
  }

  table(name: string): TableReader {
    const v = this.raw(name);
    if (v === undefined) return new TableReader({}, this.key(name));
    if (!isTable(v)) throw new ConfigError(this.key(name), `must be a table, got ${describe(v)}`);
    return new TableReader(v, this.key(name));
  }

  /** Whether the key is set at all. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  /** Names of the sub-tables of a table whose keys are free-form (e.g. handler names). */
  entries(): string[] {
    for (const k of Object.keys(this.values)) this.used.add(k);
    return Object.keys(this.values);
  }

  /** Fails on the first key that no reader asked for: a typo must not be ignored. */
  finish(): void {
    for (const k of Object.keys(this.values)) {
      if (!this.used.has(k)) throw new ConfigError(this.key(k), "unknown key");
    }
  }
}

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (isTable(v)) return "a table";
  return `${typeof v} ${JSON.stringify(typeof v === "bigint" ? v.toString() : v)}`;
}

const absolutePath = (v: string) => (path.isAbsolute(v) ? undefined : `must be an absolute path, got "${v}"`);
const nonEmpty = (v: string) => (v.trim() ? undefined : "must not be empty");

/** Parses TOML text; syntax errors become ConfigError with the line the parser names. */
export function parseTomlText(text: string, source: string): Table {
  try {
    return parseToml(text) as Table;
  } catch (err) {
    throw new ConfigError("", `${source} is not valid TOML: ${(err as Error).message}`);
  }
}

export function buildConfig(file: Table, flags: ConfigFlags = {}): Config {
  const top = new TableReader(file, "");
  // The file's value is always read (and validated) so that a flag overriding
  // it does not make the key look unknown.
  const setting = (key: string, flag: string | undefined, fallback: string, check: (v: string) => string | undefined) => {
    const fromFile = top.string(key, fallback, check);
    if (flag === undefined) return fromFile;
    const problem = check(flag);
    if (problem) throw new ConfigError(key, `(from the command line) ${problem}`);
    return flag;
  };
  const isLevel = (v: string) =>
    (LOG_LEVELS as readonly string[]).includes(v) ? undefined : `must be one of ${LOG_LEVELS.join(", ")}, got "${v}"`;

  const listen = setting("listen", flags.listen, "/run/skiff/skiff.sock", absolutePath);
  const root = setting("root", flags.root, "/var/lib/skiff", absolutePath);
  const state = setting("state", flags.state, "/run/skiff", absolutePath);
  const containerRoot = top.string("container_root", path.join(root, "containers"), absolutePath);
  const logLevel = setting("log_level", flags.logLevel, "info", isLevel) as LogLevel;
  const shutdownTimeoutSeconds = top.int("shutdown_timeout", 10, 0, 3600);
  const grpcMaxMessageBytes = top.int("grpc_max_message_size", 64 * 1024 * 1024, 16 * 1024 * 1024, 2 ** 31 - 1);
  const conmonPath = top.string("conmon", "conmon", nonEmpty);

  const runtime = top.table("runtime");
  const handlersTable = runtime.table("handlers");
  const runtimeHandlers: Record<string, RuntimeHandlerConfig> = {};
  const declared = handlersTable.entries();
  for (const name of declared) {
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name)) {
      throw new ConfigError(`runtime.handlers.${name}`, "a handler name must be lowercase letters, digits, '.', '_' or '-'");
    }
    const h = handlersTable.table(name);
    runtimeHandlers[name] = {
      path: h.string("path", name, nonEmpty),
      root: h.string("root", path.join(state, name), absolutePath),
    };
    h.finish();
  }
  // runc and crun are always available as handlers unless configured otherwise.
  for (const name of ["runc", "crun"]) {
    runtimeHandlers[name] ??= { path: name, root: path.join(state, name) };
  }
  const defaultRuntimeHandlerPinned = runtime.has("default_handler");
  const defaultRuntimeHandler = runtime.string("default_handler", "crun", (v) =>
    runtimeHandlers[v] ? undefined : `"${v}" is not a configured handler (known: ${Object.keys(runtimeHandlers).join(", ")})`,
  );
  const runtimeTimeoutSeconds = runtime.int("timeout", 60, 1, 3600);
  const runtimeSealedCopy = runtime.bool("sealed_copy", true);
  runtime.finish();

  const cdiTable = top.table("cdi");
  const cdiSpecDirs = cdiTable.stringList("spec_dirs", ["/etc/cdi", "/var/run/cdi"], absolutePath);
  cdiTable.finish();

  const checkpointTable = top.table("checkpoint");
  const criuPath = checkpointTable.string("criu", "criu", nonEmpty);
  checkpointTable.finish();

  const cniTable = top.table("cni");
  const cni = {
    confDir: cniTable.string("conf_dir", "/etc/cni/net.d", absolutePath),
    binDirs: cniTable.stringList("bin_dirs", ["/usr/lib/cni", "/opt/cni/bin"], absolutePath),
    builtinNetwork: cniTable.bool("builtin_network", true),
    bridge: cniTable.string("bridge", "skiff0", (v) => (IFNAME.test(v) ? undefined : `"${v}" is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)`)),
    podCidr: cniTable.string("pod_cidr", "10.85.0.0/16", (v) => (parseCidr(v) ? undefined : `"${v}" is not a CIDR such as 10.85.0.0/16`)),
    timeoutSeconds: cniTable.int("timeout", 60, 1, 3600),
  };
  cniTable.finish();

  const registriesTable = top.table("registries");
  const registries: Record<string, RegistryConfig> = {};
  for (const host of registriesTable.entries()) {
    const r = registriesTable.table(host);
    registries[host] = {
      mirrors: r.stringList("mirrors", [], (m) => (/^(https?:\/\/)?[A-Za-z0-9.[\]:-]+\/?$/.test(m) ? undefined : `"${m}" is not a host[:port] or http(s)://host[:port] URL`)),
      insecure: r.bool("insecure", false),
    };
    r.finish();
  }

  const imageTable = top.table("image");
  // unpack_workers: the older name, from when each layer took a worker thread of its own.
  const unpackWorkers = imageTable.has("unpack_workers") ? imageTable.int("unpack_workers", 4, 1, 64) : undefined;
  const image = {
    requestTimeoutSeconds: imageTable.int("request_timeout", 30, 1, 3600),
    stallTimeoutSeconds: imageTable.int("stall_timeout", 60, 1, 3600),
    maxConcurrentDownloads: imageTable.int("max_concurrent_downloads", 3, 1, 64),
    maxConcurrentUnpacks: imageTable.int("max_concurrent_unpacks", unpackWorkers ?? 4, 1, 64),
  };
  imageTable.finish();

  const streamingTable = top.table("streaming");
  const streaming = {
    host: streamingTable.string("host", "127.0.0.1", (v) => (isIP(v) ? undefined : `"${v}" is not an IP address (e.g. 127.0.0.1 or ::1)`)),
    port: streamingTable.int("port", 0, 0, 65535),
    tlsCertFile: streamingTable.optionalString("tls_cert_file", absolutePath),
    tlsKeyFile: streamingTable.optionalString("tls_key_file", absolutePath),
    tokenTtlSeconds: streamingTable.int("token_ttl", 60, 1, 3600),
  };
  if (!streaming.tlsCertFile !== !streaming.tlsKeyFile) throw new ConfigError("streaming", "tls_cert_file and tls_key_file go together: set both or neither");
  streamingTable.finish();

  const metricsTable = top.table("metrics");
  const metrics = { address: metricsTable.string("address", "", (v) => (v === "" || parseHostPort(v) ? undefined : `"${v}" is not an IP:port such as 127.0.0.1:9464 (or "" to turn metrics off)`)) };
  metricsTable.finish();

  top.finish();
  return {
    listen,
    root,
    containerRoot,
    state,
    logLevel,
    shutdownTimeoutSeconds,
    grpcMaxMessageBytes,
    conmonPath,
    defaultRuntimeHandler,
    defaultRuntimeHandlerPinned,
    cdiSpecDirs,
    criuPath,
    runtimeTimeoutSeconds,
    runtimeSealedCopy,
    runtimeHandlers,
    cni,
    registries,
    image,
    streaming,
    metrics,
  };
}

/** "127.0.0.1:9464" or "[::1]:9464" -> host and port; undefined if it is not one. Pure. */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  return isIP(host) && port <= 65535 ? { host, port } : undefined;
}
