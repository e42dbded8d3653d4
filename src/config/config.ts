// The daemon's configuration as the rest of the code sees it: plain, validated,
// with every default filled in. Loading and merging live in load.ts / parse.ts.

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface RuntimeHandlerConfig {
  /** OCI runtime binary: an absolute path or a name looked up on PATH. */
  path: string;
  /** The runtime's --root state directory; defaults to <state>/<handler>. */
  root: string;
}

export interface CniConfig {
  /** Directory searched for .conflist/.conf files (lexically first wins). */
  confDir: string;
  /** Directories searched, in order, for plugin binaries. */
  binDirs: string[];
  /** Use the built-in bridge network when confDir holds no config. */
  builtinNetwork: boolean;
  /** Bridge device of the built-in network. */
  bridge: string;
  /** Subnet of the built-in network when kubelet has not sent one. */
  podCidr: string;
  /** A plugin still running after this long is killed and the operation fails. */
  timeoutSeconds: number;
}

export interface RegistryConfig {
  /** Mirror hosts or URLs, tried in order before the registry itself. */
  mirrors: string[];
  /** Plain http, or https without certificate checks. */
  insecure: boolean;
}

export interface ImageConfig {
  /** Time to connect and get response headers from a registry. */
  requestTimeoutSeconds: number;
  /** A blob transfer that delivers no byte for this long fails and is retried. */
  stallTimeoutSeconds: number;
  maxConcurrentDownloads: number;
  /** Layers unpacked at once (by one worker thread, their file system work on libuv's pool). */
  maxConcurrentUnpacks: number;
}

export interface StreamingConfig {
  /** Address of the Exec/Attach/PortForward URLs' server. */
  host: string;
  /** 0: a free port, chosen at start. */
  port: number;
  /** Serve https with these PEM files (both or neither). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** How long a returned URL stays usable. */
  tokenTtlSeconds: number;
}

export interface MetricsConfig {
  /** host:port of the Prometheus /metrics endpoint; "" turns it off. */
  address: string;
}

export interface Config {
  /** Unix socket the CRI gRPC server listens on. */
  listen: string;
  /** Durable state: images, records, container layers. */
  root: string;
  /**
   * Where containers' writable layers and bundles live (default <root>/containers).
   * On another filesystem than root, ImageFsInfo reports the two apart (KEP-4191).
   */
  containerRoot: string;
  /** Volatile state (tmpfs): namespaces, runtime state, conmon files. */
  state: string;
  logLevel: LogLevel;
  /** Bound on how long SIGTERM waits for in-flight RPCs, in seconds. */
  shutdownTimeoutSeconds: number;
  /** gRPC send/receive size limit in bytes (kubelet uses 16 MiB). */
  grpcMaxMessageBytes: number;
  conmonPath: string;
  /**
   * The handler of pods that name none. crun unless configured: where crun
   * cannot run on the host, skiff falls back to runc at start (Runtimes.detect)
   * and says why; a handler named in the config is never replaced.
   */
  defaultRuntimeHandler: string;
  /** Whether default_handler was set in the config (then no fallback). */
  defaultRuntimeHandlerPinned: boolean;
  /** An OCI runtime call (create through conmon, start, kill, delete, update, state) still running after this long is killed. */
  runtimeTimeoutSeconds: number;
  /**
   * Run handlers whose binary copies and re-executes itself at every call
   * (crun) from a sealed in-memory copy, which spares that second exec.
   */
  runtimeSealedCopy: boolean;
  runtimeHandlers: Record<string, RuntimeHandlerConfig>;
  cni: CniConfig;
  /** Directories of CDI spec files, lowest priority first (a later one's device of the same name wins). */
  cdiSpecDirs: string[];
  /** The CRIU binary CheckpointContainer and restores use (runc's --criu): a name looked up in PATH, or a path. */
  criuPath: string;
  /** Per registry host ("docker.io", "127.0.0.1:5000"). */
  registries: Record<string, RegistryConfig>;
  image: ImageConfig;
  streaming: StreamingConfig;
  metrics: MetricsConfig;
}

export const DEFAULT_CONFIG_PATH = "/etc/skiff/config.toml";
