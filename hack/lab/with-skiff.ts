// Runs a command against a skiff daemon built from this checkout, the way the
// real clients (critest, crictl, kubelet) meet it on a node: a registry on
// 127.0.0.1 holding the lab images (hack/lab/images.ts) stands in for
// registry.k8s.io and gcr.io as their mirror; the daemon has its own root,
// state, socket, CNI bridge and subnet. A second registry asks for basic
// auth (for `crictl pull --creds`). The command gets SKIFF_SOCKET, SKIFF_LOG,
// LAB_REGISTRY, LAB_AUTH_REGISTRY and LAB_AUTH_CREDS (user:password) in its
// environment. Everything is removed afterwards.
//   npx vite-node hack/lab/with-skiff.ts -- COMMAND [ARGS...]
// Env: SKIFF_LAB_HANDLER=crun makes crun the default runtime handler.

import { spawn, spawnSync } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";

process.env.SKIFF_LAB_DIR ??= await mkdtemp("/tmp/skiff-lab-");
const { TestRegistry } = await import("../../test/e2e/harness/registry.js");
const { TestDaemon } = await import("../../test/e2e/harness/daemon.js");
const { labImages } = await import("./images.js");
const { chainsNamed, removeChainsMadeSince } = await import("../../test/e2e/harness/iptables-chains.js");

const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
if (argv.length === 0) {
  console.error("usage: with-skiff.ts -- COMMAND [ARGS...]");
  process.exit(2);
}

// The portmap plugin's shared chains, made at the first pod with a hostPort (critest has some).
const portmapChainsBefore = chainsNamed("CNI-HOSTPORT-");
const AUTH = { username: "lab", password: "lab-secret" };
const registry = await TestRegistry.start();
const authRegistry = await TestRegistry.start({ htpasswd: `${AUTH.username}:${bcrypt.hashSync(AUTH.password, 8)}\n` });
authRegistry.pushAuth = AUTH;
let daemon: Awaited<ReturnType<typeof TestDaemon.create>> | undefined;
let code = 1;
try {
  const images = await labImages();
  for (const img of images) for (const tag of img.tags) await registry.push(img.repo, tag, img.image);
  await authRegistry.push("private/busybox", "1", images[0]!.image);
  const mirror = { mirrors: [registry.url] };
  daemon = await TestDaemon.create({
    config: {
      log_level: process.env.SKIFF_LAB_LOG_LEVEL ?? "info",
      metrics: { address: "127.0.0.1:0" },
      registries: { "registry.k8s.io": mirror, "gcr.io": mirror, [registry.host]: { insecure: true }, [authRegistry.host]: { insecure: true } },
      ...(process.env.SKIFF_LAB_HANDLER ? { runtime: { default_handler: process.env.SKIFF_LAB_HANDLER } } : {}),
    },
  });
  await daemon.start();
  console.error(`with-skiff: daemon pid ${daemon.pid} on ${daemon.socket} (log ${daemon.logFile}); registry ${registry.host}`);
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: "inherit",
    env: {
      ...process.env,
      SKIFF_SOCKET: daemon.socket,
      SKIFF_LOG: daemon.logFile,
      LAB_REGISTRY: registry.host,
      LAB_AUTH_REGISTRY: authRegistry.host,
      LAB_AUTH_CREDS: `${AUTH.username}:${AUTH.password}`,
    },
  });
  const stop = () => child.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  code = await new Promise<number>((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 128 : 1))));
} finally {
  const keepLog = process.env.SKIFF_LAB_KEEP_LOG;
  if (keepLog && daemon) await copyFile(daemon.logFile, keepLog).catch(() => {});
  // An error the daemon logged as unhandled fails the run, after everything below is cleaned up.
  const fault = await daemon?.cleanup().then(
    () => undefined,
    (err: Error) => err.message,
  );
  // The daemon's pod bridge outlives its pods (as cni0 does); the lab made it, so the lab removes it.
  if (daemon) spawnSync("ip", ["link", "del", daemon.bridge]);
  for (const line of removeChainsMadeSince("CNI-HOSTPORT-", portmapChainsBefore)) console.error(`with-skiff: ${line}`);
  await registry.stop();
  await authRegistry.stop();
  await rm(path.resolve(process.env.SKIFF_LAB_DIR), { recursive: true, force: true });
  if (fault) {
    console.error(`with-skiff: ${fault}`);
    code ||= 1;
  }
}
process.exit(code);
