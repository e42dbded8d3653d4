// The effective configuration as a TOML document with the file's own key
// names (`skiff config`): what the daemon would run with, defaults filled in.
// Pure; reading it back gives the same Config (unit-tested).

import { stringify } from "smol-toml";
import type { Config } from "./config.js";

export function renderConfig(c: Config): string {
  const doc = {
    listen: c.listen,
    root: c.root,
    container_root: c.containerRoot,
    state: c.state,
    log_level: c.logLevel,
    shutdown_timeout: c.shutdownTimeoutSeconds,
    grpc_max_message_size: c.grpcMaxMessageBytes,
    conmon: c.conmonPath,
    runtime: {
      // Left out unless set: an unset default may fall back to runc where crun cannot run.
      ...(c.defaultRuntimeHandlerPinned ? { default_handler: c.defaultRuntimeHandler } : {}),
      timeout: c.runtimeTimeoutSeconds,
      sealed_copy: c.runtimeSealedCopy,
      handlers: Object.fromEntries(Object.entries(c.runtimeHandlers).map(([name, h]) => [name, { path: h.path, root: h.root }])),
    },
    cdi: { spec_dirs: c.cdiSpecDirs },
    checkpoint: { criu: c.criuPath },
    cni: { conf_dir: c.cni.confDir, bin_dirs: c.cni.binDirs, builtin_network: c.cni.builtinNetwork, bridge: c.cni.bridge, pod_cidr: c.cni.podCidr, timeout: c.cni.timeoutSeconds },
    registries: Object.fromEntries(Object.entries(c.registries).map(([host, r]) => [host, { mirrors: r.mirrors, insecure: r.insecure }])),
    image: {
      request_timeout: c.image.requestTimeoutSeconds,
      stall_timeout: c.image.stallTimeoutSeconds,
      max_concurrent_downloads: c.image.maxConcurrentDownloads,
      max_concurrent_unpacks: c.image.maxConcurrentUnpacks,
    },
    streaming: {
      host: c.streaming.host,
      port: c.streaming.port,
      token_ttl: c.streaming.tokenTtlSeconds,
      ...(c.streaming.tlsCertFile ? { tls_cert_file: c.streaming.tlsCertFile, tls_key_file: c.streaming.tlsKeyFile } : {}),
    },
    metrics: { address: c.metrics.address },
  };
  return stringify(doc) + "\n";
}
