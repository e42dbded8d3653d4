// Wiring: state dirs, domain services, the CRI server, and signal handling.
// Shutdown stops serving but never touches containers: they keep running under
// their monitors and are recovered by the next start.

import { mkdir } from "node:fs/promises";
import type { Config } from "./config/config.js";
import { parseHostPort } from "./config/parse.js";
import { startCriServer } from "./cri/server.js";
import { acquireDaemonLock } from "./daemon-lock.js";
import { setLogLevel, type Logger } from "./log.js";
import { notifySystemd } from "./native/index.js";
import { Images } from "./image-service/images.js";
import { Containers } from "./runtime/containers.js";
import { Runtimes } from "./runtime/runtimes.js";
import { PodNetwork } from "./sandbox/pod-network.js";
import { registerStateGauges } from "./observability/metrics.js";
import { startMetricsServer, type MetricsServer } from "./observability/metrics-server.js";
import { Sandboxes } from "./sandbox/sandboxes.js";
import { Stats } from "./stats/stats.js";
import { StreamingServer } from "./streaming/server.js";
import { SKIFF_VERSION } from "./version.js";

/**
 * `reload` re-reads the configuration (SIGHUP). Only the parts that can change
 * safely while running are applied: the log level and the registries
 * (mirrors, insecure); everything else needs a restart and is reported.
 */
export async function runDaemon(config: Config, logger: Logger, reload?: () => Promise<Config>): Promise<void> {
  await mkdir(config.root, { recursive: true, mode: 0o711 });
  await mkdir(config.state, { recursive: true, mode: 0o711 });
  // Searchable by others, as root is: pods with a user namespace reach their rootfs below it as an unprivileged id.
  await mkdir(config.containerRoot, { recursive: true, mode: 0o711 });
  const lock = await acquireDaemonLock(config.state);

  let server;
  let streaming: StreamingServer | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    const podNetwork = new PodNetwork(config.cni, config.root);
    await podNetwork.load();
    const images = new Images(config, logger.child({ module: "images" }));
    await images.init();
    const runtimes = await Runtimes.detect(config);
    for (const [handler, problem] of Object.entries(runtimes.problems())) logger.warn({ handler }, problem);
    if (runtimes.fallbackReason) logger.warn({ handler: config.defaultRuntimeHandler }, runtimes.fallbackReason);
    else logger.info({ handler: config.defaultRuntimeHandler }, "default runtime handler");
    for (const { handler, source, problem } of await runtimes.sealBinaries()) {
      if (problem) logger.warn({ handler, binary: source, problem }, "cannot run the handler from a sealed copy of its binary; running it from disk");
      else logger.info({ handler, binary: source }, "handler runs from a sealed in-memory copy of its binary (runtime.sealed_copy)");
    }
    const sandboxes = new Sandboxes({ config, podNetwork, runtimes, log: logger.child({ module: "sandboxes" }) });
    await sandboxes.load();
    const containers = new Containers({ config, images, sandboxes, runtimes, log: logger.child({ module: "containers" }) });
    await containers.init();
    streaming = await StreamingServer.start(
      config.streaming,
      {
        exec: (id, cmd, io, signal) => containers.execStream(id, cmd, io, signal),
        attach: (id, io, signal) => containers.attach(id, io, signal),
        connectPort: (sandboxId, port) => sandboxes.connectPort(sandboxId, port),
      },
      logger.child({ module: "streaming" }),
    );
    const stats = new Stats({
      layout: runtimes.cgroups,
      containersDir: config.containerRoot,
      containers: () => containers.list({}),
      sandboxes: () => sandboxes.list({}),
      log: logger.child({ module: "stats" }),
    });
    registerStateGauges({ sandboxes: () => sandboxes.list({}), containers: () => containers.list({}) });
    const metricsAt = parseHostPort(config.metrics.address);
    if (metricsAt) metricsServer = await startMetricsServer(metricsAt.host, metricsAt.port, logger.child({ module: "metrics" }));
    const endpoints = { streaming: streaming.address, metrics: metricsServer?.address };
    // Recovery (a runtime and CNI check per object) starts once the socket answers: kubelet's Version and
    // Status need none of it; every call that reads or changes pods and containers waits for it.
    let listening!: () => void;
    const serving = new Promise<void>((resolve) => (listening = resolve));
    let startedRecovery = 0;
    const recovered = serving.then(async () => {
      startedRecovery = Date.now();
      await sandboxes.recover();
      await containers.recover();
      logger.info({ ms: Date.now() - startedRecovery, sandboxes: sandboxes.list({}).length, containers: containers.list({}).length }, "recovery done");
      // What a crash kept from the collection after a removal (RemoveImage answers before it): once the
      // containers are known, which keep their snapshots.
      void images.collectSoon();
    }).catch((err: Error) => logger.error({ err: err.message }, "recovery failed; serving what was recovered"));
    server = await startCriServer({ config, podNetwork, images, runtimes, sandboxes, containers, streaming, stats, endpoints }, logger, recovered);
    listening();
    // CPU baselines for stats: after recovery, which they would only slow down (stats calls wait for it anyway).
    void recovered.then(() => stats.start());
  } catch (err) {
    await streaming?.close();
    await metricsServer?.close();
    await lock.release();
    throw err;
  }
  logger.info({ version: SKIFF_VERSION, root: config.root, state: config.state }, "skiff daemon started");

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down: no new calls accepted");
    void server
      .shutdown(config.shutdownTimeoutSeconds * 1000)
      .then(() => streaming.close())
      .then(() => metricsServer?.close())
      .then(() => lock.release())
      .then(() => {
        logger.info("shutdown complete");
        logger.flush();
        process.exit(0);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGHUP", () => {
    if (!reload) return;
    reload().then(
      (next) => {
        const ignored = restartOnlyChanges(config, next);
        config.logLevel = next.logLevel;
        config.registries = next.registries;
        setLogLevel(next.logLevel);
        logger.info({ logLevel: next.logLevel, registries: Object.keys(next.registries), ...(ignored.length ? { needsRestart: ignored } : {}) }, "configuration reloaded");
      },
      (err: Error) => logger.error({ err: err.message }, "configuration reload failed; keeping the running configuration"),
    );
  });
  if (process.env.NOTIFY_SOCKET) {
    try {
      notifySystemd(process.env.NOTIFY_SOCKET, `READY=1\nSTATUS=serving CRI on ${config.listen}\nMAINPID=${process.pid}`);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "cannot tell systemd that the daemon is ready");
    }
  }
  // A bug in one call must not take every container's runtime down with it.
  process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception (daemon keeps running)"));
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection (daemon keeps running)"));
}

/** Top-level config keys whose new value a reload cannot apply. Pure. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  const reloadable = new Set(["logLevel", "registries"]);
  return (Object.keys(next) as (keyof Config)[]).filter((k) => !reloadable.has(k) && JSON.stringify(running[k]) !== JSON.stringify(next[k]));
}
