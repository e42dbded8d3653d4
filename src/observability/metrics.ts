// The daemon's Prometheus metrics (prom-client): one registry, filled by the
// components that do the work (the CRI edge, the puller, CNI, the OCI runtime
// driver, exit handling) and by gauges computed when scraped.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
// The event loop's delay is sampled once a second, not prom-client's every
// 10 ms: that timer alone woke an idle daemon 100 times a second.
collectDefaultMetrics({ register: registry, prefix: "skiff_", eventLoopMonitoringPrecision: 1000 });

const FAST = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SLOW = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export const rpcRequests = new Counter({
  name: "skiff_grpc_requests_total",
  help: "CRI gRPC calls by method and status code.",
  labelNames: ["method", "code"] as const,
  registers: [registry],
});

export const rpcDuration = new Histogram({
  name: "skiff_grpc_request_duration_seconds",
  help: "Time to answer CRI gRPC calls, by method and status code.",
  labelNames: ["method", "code"] as const,
  buckets: FAST,
  registers: [registry],
});

export const criConnections = new Counter({
  name: "skiff_cri_connections_total",
  help: "Client connections accepted on the CRI socket.",
  registers: [registry],
});

export const imagePulls = new Counter({
  name: "skiff_image_pulls_total",
  help: "Image pulls by result (success, failure).",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const imagePullBytes = new Counter({
  name: "skiff_image_pull_bytes_total",
  help: "Bytes of layers and blobs downloaded from registries.",
  registers: [registry],
});

export const imagePullDuration = new Histogram({
  name: "skiff_image_pull_duration_seconds",
  help: "Time to pull an image, successful or not.",
  labelNames: ["result"] as const,
  buckets: SLOW,
  registers: [registry],
});

export const oomKills = new Counter({
  name: "skiff_container_oom_kills_total",
  help: "Containers that ended killed by the OOM killer.",
  registers: [registry],
});

export const cniDuration = new Histogram({
  name: "skiff_cni_operation_duration_seconds",
  help: "Time of CNI ADD and DEL of a pod network (all plugins of the list).",
  labelNames: ["operation"] as const,
  buckets: FAST,
  registers: [registry],
});

export const ociRuntimeDuration = new Histogram({
  name: "skiff_oci_runtime_operation_duration_seconds",
  help: "Time of OCI runtime calls by runtime handler and operation (create, start, kill, delete, update, exec...).",
  labelNames: ["handler", "operation"] as const,
  buckets: FAST,
  registers: [registry],
});

/** Times an async operation into a histogram; failures are timed too. */
export async function timed<T, L extends string>(h: Histogram<L>, labels: Partial<Record<L, string>>, fn: () => Promise<T>): Promise<T> {
  const end = h.startTimer(labels);
  try {
    return await fn();
  } finally {
    end();
  }
}

/** Gauges of objects by state, computed at scrape time. */
export function registerStateGauges(sources: { sandboxes: () => { state: string }[]; containers: () => { state: string }[] }): void {
  const byState = (items: { state: string }[]) => {
    const counts = new Map<string, number>();
    for (const i of items) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
    return counts;
  };
  for (const [name, help, source, states] of [
    ["skiff_pod_sandboxes", "Pod sandboxes by state.", sources.sandboxes, ["ready", "notready"]],
    ["skiff_containers", "Containers by state.", sources.containers, ["created", "running", "exited"]],
  ] as const) {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames: ["state"] as const,
      registers: [registry],
      collect() {
        const counts = byState(source());
        for (const s of states) this.set({ state: s }, counts.get(s) ?? 0);
      },
    });
  }
}
