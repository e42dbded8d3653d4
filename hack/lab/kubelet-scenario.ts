// An unmodified kubelet in standalone mode (static pods, no API server) on a
// skiff daemon: run inside hack/lab/with-skiff.ts, which provides
// SKIFF_SOCKET and the lab images. Prints one line per check (ok / FAIL) and
// exits non-zero if any failed. The kubelet changes a few host sysctls and
// adds its KUBE-* iptables chains; the sysctls are put back as they were, the
// chains it made are removed, and the kubelet is stopped, whatever happens.
//   npx vite-node hack/lab/with-skiff.ts -- npx vite-node hack/lab/kubelet-scenario.ts -- /path/to/kubelet

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { CriClient } from "../../test/e2e/harness/cri-client.js";
import { chainsNamed, removeChainsMadeSince } from "../../test/e2e/harness/iptables-chains.js";
import { freePort } from "../../test/e2e/harness/registry.js";
import { spdyCommand, spdyConnect, wsCommand } from "../../test/e2e/harness/streaming-clients.js";

const kubeletBin = process.argv.slice(2).find((a) => a !== "--");
const socket = process.env.SKIFF_SOCKET;
if (!kubeletBin || !socket) {
  console.error("usage (inside with-skiff.ts): kubelet-scenario.ts -- /path/to/kubelet");
  process.exit(2);
}

const SYSCTLS = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"];
const node = os.hostname().toLowerCase();
const BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.29-2";
const NGINX = "registry.k8s.io/e2e-test-images/nginx:1.14-2";
const results: { name: string; ok: boolean; detail: string }[] = [];
const cri = new CriClient(socket);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function check(name: string, ok: boolean, detail = ""): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(1000);
  }
  console.log(`     (gave up waiting for ${what})`);
  return undefined;
}

function kubeletGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, path: urlPath, rejectUnauthorized: false }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

const manifests = {
  "web.yaml": `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default }
spec:
  containers:
  - name: nginx
    image: ${NGINX}
    ports: [{ containerPort: 80 }]
    readinessProbe: { httpGet: { path: /, port: 80 }, periodSeconds: 2 }
    livenessProbe: { exec: { command: [cat, /etc/nginx/nginx.conf] }, periodSeconds: 3 }
    resources:
      limits: { cpu: 500m, memory: 128Mi }
      requests: { cpu: 100m, memory: 64Mi }
  - name: talker
    image: ${BUSYBOX}
    command: [sh, -c, "i=0; while true; do echo talker line $i; i=$((i+1)); sleep 1; done"]
`,
  "crash.yaml": `apiVersion: v1
kind: Pod
metadata: { name: crash, namespace: default }
spec:
  restartPolicy: Always
  containers:
  - name: crash
    image: ${BUSYBOX}
    command: [sh, -c, "echo crashing now; exit 3"]
`,
};

async function containersOf(pod: string) {
  const { containers } = await cri.runtime.ListContainers({ filter: { label_selector: { "io.kubernetes.pod.name": `${pod}-${node}` } } });
  return containers;
}

async function main(dir: string, kubeletPort: number): Promise<void> {
  const manifestDir = path.join(dir, "manifests");
  await mkdir(manifestDir, { recursive: true });
  const config = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: ${manifestDir}
fileCheckFrequency: 2s
address: 127.0.0.1
port: ${kubeletPort}
readOnlyPort: 0
healthzPort: 0
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
evictionHard: { memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
featureGates: { PodAndContainerStatsFromCRI: true }
`;
  await writeFile(path.join(dir, "config.yaml"), config);
  const logFile = path.join(dir, "kubelet.log");
  const args = [
    `--config=${path.join(dir, "config.yaml")}`,
    `--root-dir=${path.join(dir, "root")}`,
    `--cert-dir=${path.join(dir, "pki")}`,
    `--container-runtime-endpoint=unix://${socket}`,
    "--v=2",
  ];
  let kubelet: ChildProcess | undefined;
  const startKubelet = async () => {
    const out = await import("node:fs").then((fs) => fs.openSync(logFile, "a"));
    kubelet = spawn(kubeletBin!, args, { stdio: ["ignore", out, out] });
    await until("the kubelet's API", async () => ((await kubeletGet(kubeletPort, "/healthz")).status === 200 ? true : undefined), 60_000);
  };
  const stopKubelet = async () => {
    if (!kubelet || kubelet.exitCode !== null) return;
    const exited = new Promise((r) => kubelet!.once("exit", r));
    kubelet.kill("SIGTERM");
    await Promise.race([exited, sleep(15_000)]);
    if (kubelet.exitCode === null) kubelet.kill("SIGKILL");
  };
  try {
    await startKubelet();
    check("kubelet starts on skiff and serves its API", (await kubeletGet(kubeletPort, "/healthz")).status === 200);
    for (const [name, text] of Object.entries(manifests)) await writeFile(path.join(manifestDir, name), text);

    const web = await until("web's containers running", async () => {
      const cs = await containersOf("web");
      return cs.filter((c) => c.state === "CONTAINER_RUNNING").length === 2 ? cs : undefined;
    }, 120_000);
    check("static pod with two containers runs", !!web, web ? web.map((c) => c.metadata?.name).join(", ") : "not running");
    const webPod = (await cri.runtime.ListPodSandbox({ filter: { label_selector: { "io.kubernetes.pod.name": `web-${node}` } } })).items[0];
    const podIp = webPod ? (await cri.runtime.PodSandboxStatus({ pod_sandbox_id: webPod.id })).status?.network?.ip : undefined;
    const page = podIp ? await fetch(`http://${podIp}:80/`).then((r) => r.status, () => 0) : 0;
    check("the container port answers on the pod IP", page === 200, `${podIp}:80 -> HTTP ${page}`);

    const probes = await until("successful readiness and liveness probes", async () => {
      const { body } = await kubeletGet(kubeletPort, "/metrics/probes");
      const ok = (type: string) => new RegExp(`prober_probe_total\\{[^}]*container="nginx"[^}]*probe_type="${type}"[^}]*result="successful"[^}]*\\} ([1-9]\\d*)`).exec(body)?.[1];
      const r = ok("Readiness");
      const l = ok("Liveness");
      return r && l ? `readiness ${r}, liveness ${l} successful` : undefined;
    }, 60_000);
    check("HTTP readiness and exec liveness probes succeed", !!probes, probes ?? "no successful probes in /metrics/probes");

    const limits = web?.find((c) => c.metadata?.name === "nginx");
    if (limits) {
      const st = await cri.runtime.ContainerStatus({ container_id: limits.id, verbose: true });
      const spec = JSON.parse(st.info.info ?? "{}").runtimeSpec?.linux?.resources;
      check("limits reach the OCI spec", spec?.memory?.limit === 128 * 1024 * 1024 && spec?.cpu?.quota === 50000, `memory ${spec?.memory?.limit}, cpu quota ${spec?.cpu?.quota}/${spec?.cpu?.period}`);
    }

    // CrashLoopBackOff: restarts keep coming, each further apart. The kubelet keeps
    // only the latest dead container, so every attempt is noted as it appears.
    const attempts = new Map<string, { attempt: number; created: number; restartCount: number }>();
    await until("attempt 3 of the crashing container", async () => {
      for (const c of await containersOf("crash")) {
        attempts.set(c.id, { attempt: c.metadata?.attempt ?? 0, created: Number(BigInt(c.created_at) / 1_000_000n), restartCount: Number(c.annotations["io.kubernetes.container.restartCount"]) });
      }
      return [...attempts.values()].some((a) => a.attempt >= 3) ? true : undefined;
    }, 150_000);
    const seen = [...attempts.values()].sort((a, b) => a.attempt - b.attempt);
    const gaps = seen.slice(1).map((a, i) => Math.round((a.created - seen[i]!.created) / 1000));
    const kubeletLog = () => readFile(logFile, "utf8");
    check(
      "a crashing container goes through CrashLoopBackOff with growing restart counts",
      seen.length >= 3 &&
        seen.every((a, i) => a.restartCount === a.attempt && (i === 0 || a.attempt === seen[i - 1]!.attempt + 1)) &&
        gaps.every((g, i) => i === 0 || g > gaps[i - 1]!) &&
        (await kubeletLog()).includes("CrashLoopBackOff"),
      `attempts ${seen.map((a) => a.attempt).join(",")}, restart counts ${seen.map((a) => a.restartCount).join(",")}, seconds between starts ${gaps.join(",")}`,
    );

    // The kubelet's own API: logs, exec, port-forward.
    const logs = await kubeletGet(kubeletPort, `/containerLogs/default/crash-${node}/crash`);
    check("containerLogs through the kubelet API", logs.status === 200 && logs.body.includes("crashing now"), `HTTP ${logs.status} ${JSON.stringify(logs.body.trim().slice(0, 60))}`);
    const tail = await kubeletGet(kubeletPort, `/containerLogs/default/web-${node}/talker?tailLines=2`);
    check("containerLogs with tailLines", tail.status === 200 && tail.body.trim().split("\n").length === 2, JSON.stringify(tail.body.trim()));

    const execUrl = `https://127.0.0.1:${kubeletPort}/exec/default/web-${node}/talker?command=sh&command=-c&command=echo%20exec-ok%20%24HOSTNAME&output=1&error=1`;
    const spdyExec = await spdyCommand(execUrl, { stdout: true, stderr: true }).catch((e: Error) => ({ stdout: "", error: e.message }));
    check("exec through the kubelet API over SPDY", spdyExec.stdout.startsWith("exec-ok"), JSON.stringify(spdyExec.stdout.trim() || spdyExec.error));
    const wsExec = await wsCommand(execUrl, { stdout: true }, "v4.channel.k8s.io").catch((e: Error) => ({ stdout: "", error: e.message }));
    check("exec through the kubelet API over WebSocket", wsExec.stdout.startsWith("exec-ok"), JSON.stringify(wsExec.stdout.trim() || wsExec.error));

    const pfSpdy = await (async () => {
      const { session } = await spdyConnect(`https://127.0.0.1:${kubeletPort}/portForward/default/web-${node}`, ["portforward.k8s.io"]);
      try {
        const headers = { port: "80", requestID: "0" };
        await session.openStream({ ...headers, streamType: "error" });
        const data = await session.openStream({ ...headers, streamType: "data" });
        let body = "";
        data.on("data", (d: Buffer) => (body += d.toString()));
        data.end("GET / HTTP/1.0\r\n\r\n");
        await Promise.race([new Promise((r) => data.on("end", r)), sleep(10_000)]);
        return body;
      } finally {
        session.close();
      }
    })().catch((e: Error) => e.message);
    check("portForward through the kubelet API over SPDY", /^HTTP\/1\.[01] 200/.test(pfSpdy), JSON.stringify(pfSpdy.split("\r\n")[0]));
    const pfWs = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${kubeletPort}/portForward/default/web-${node}?port=80`, ["v4.channel.k8s.io"], { rejectUnauthorized: false });
      const frames: Buffer[] = [];
      ws.on("message", (d: Buffer) => {
        frames.push(d);
        if (frames.length === 2) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("GET / HTTP/1.0\r\n\r\n")]));
      });
      ws.on("close", () => resolve(Buffer.concat(frames.slice(2).filter((f) => f[0] === 0).map((f) => f.subarray(1))).toString()));
      ws.on("error", (e) => resolve(e.message));
      setTimeout(() => ws.close(), 10_000);
    });
    check("portForward through the kubelet API over WebSocket", /^HTTP\/1\.[01] 200/.test(pfWs), JSON.stringify(pfWs.split("\r\n")[0]));

    // /stats/summary: CPU, memory, rootfs and logs per container; the pod's network (PodAndContainerStatsFromCRI).
    const summary = await until("stats with CPU figures", async () => {
      const s = JSON.parse((await kubeletGet(kubeletPort, "/stats/summary")).body) as {
        pods: { podRef: { name: string }; network?: { rxBytes?: number }; containers: { name: string; cpu?: { usageNanoCores?: number; usageCoreNanoSeconds?: number }; memory?: { workingSetBytes?: number }; rootfs?: { usedBytes?: number }; logs?: { usedBytes?: number } }[] }[];
      };
      const pod = s.pods.find((p) => p.podRef.name === `web-${node}`);
      return pod && pod.containers.length === 2 && pod.containers.every((c) => c.cpu?.usageCoreNanoSeconds !== undefined) ? pod : undefined;
    }, 60_000);
    const complete = summary?.containers.every((c) => c.cpu?.usageCoreNanoSeconds !== undefined && c.memory?.workingSetBytes !== undefined && c.rootfs?.usedBytes !== undefined && c.logs?.usedBytes !== undefined);
    check(
      "/stats/summary has CPU, memory, rootfs and logs per container, and pod network",
      !!complete && summary!.network?.rxBytes !== undefined,
      summary ? summary.containers.map((c) => `${c.name}: cpu ${c.cpu?.usageCoreNanoSeconds} ns, mem ${c.memory?.workingSetBytes} B, rootfs ${c.rootfs?.usedBytes} B, logs ${c.logs?.usedBytes} B`).join("; ") + `; pod rx ${summary.network?.rxBytes} B` : "no summary",
    );

    // A kubelet restart leaves running containers running.
    const before = (await containersOf("web")).filter((c) => c.state === "CONTAINER_RUNNING").map((c) => c.id).sort();
    await stopKubelet();
    await startKubelet();
    await sleep(20_000);
    const after = (await containersOf("web")).filter((c) => c.state === "CONTAINER_RUNNING").map((c) => c.id).sort();
    check("a kubelet restart leaves running containers running", before.length === 2 && JSON.stringify(before) === JSON.stringify(after), `${before.length} before, ${after.length} after, same ids: ${JSON.stringify(before) === JSON.stringify(after)}`);

    // Deleting the manifests stops everything, and GC removes it.
    for (const name of Object.keys(manifests)) await rm(path.join(manifestDir, name));
    const gone = await until("every pod and container removed", async () => {
      const pods = (await cri.runtime.ListPodSandbox({})).items.length;
      const ctrs = (await cri.runtime.ListContainers({})).containers.length;
      return pods === 0 && ctrs === 0 ? true : undefined;
    }, 240_000);
    const left = `${(await cri.runtime.ListPodSandbox({})).items.length} pods, ${(await cri.runtime.ListContainers({})).containers.length} containers left`;
    check("deleting the manifests stops and (after GC) removes everything", !!gone, left);

    const errors = (await kubeletLog()).split("\n").filter((l) => /^E\d{4}/.test(l) && /rpc error|remote_runtime|remote_image|runtime service failed/i.test(l));
    check("the kubelet logs no runtime errors", errors.length === 0, errors.length ? `${errors.length} lines, first: ${errors[0]!.slice(0, 300)}` : "");
  } finally {
    await stopKubelet();
    console.log(`kubelet log: ${logFile}`);
  }
}

const saved = SYSCTLS.map((k) => [k, readFileSync(`/proc/sys/${k}`, "utf8").trim()] as const);
const chainsBefore = chainsNamed("KUBE-");
const dir = await mkdtemp("/tmp/skiff-kubelet-");
try {
  await main(dir, await freePort());
} catch (err) {
  check("scenario ran to the end", false, (err as Error).stack ?? String(err));
} finally {
  for (const [k, v] of saved) await writeFile(`/proc/sys/${k}`, v).catch((e: Error) => console.error(`could not restore ${k}: ${e.message}`));
  for (const line of removeChainsMadeSince("KUBE-", chainsBefore)) console.log(`kubelet: ${line}`);
  cri.close();
  // The kubelet bind-mounts its root dir onto itself (to make it shared) and leaves that behind.
  spawnSync("umount", ["-R", path.join(dir, "root")], { stdio: "ignore" });
  const keep = process.env.SKIFF_LAB_KEEP_KUBELET_LOG;
  if (keep) await import("node:fs/promises").then((fs) => fs.copyFile(path.join(dir, "kubelet.log"), keep)).catch(() => {});
  await rm(dir, { recursive: true, force: true }).catch(() => {});
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
