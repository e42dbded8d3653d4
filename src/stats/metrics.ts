// The cAdvisor-style metrics of ListPodSandboxMetrics, built from stats
// samples. Pure. kubelet turns each descriptor into a Prometheus metric with
// these label keys, so every value carries exactly that many label values.

import type { ContainerRecord } from "../runtime/types.js";
import type { SandboxRecord } from "../sandbox/types.js";
import type { ContainerStatsSample, PodStatsSample } from "./stats.js";

export interface MetricDescriptor {
  name: string;
  help: string;
  labelKeys: string[];
}

export interface MetricValue {
  name: string;
  timestampNs: number;
  type: "counter" | "gauge";
  labelValues: string[];
  value: number;
}

export interface PodMetrics {
  sandboxId: string;
  metrics: MetricValue[];
  containers: { containerId: string; metrics: MetricValue[] }[];
}

const CONTAINER_LABELS = ["container", "id", "image", "name", "namespace", "pod"];
const NETWORK_LABELS = [...CONTAINER_LABELS, "interface"];

type ContainerMetricSpec = { name: string; help: string; type: MetricValue["type"]; value: (s: ContainerStatsSample) => number | undefined };

const CONTAINER_METRICS: ContainerMetricSpec[] = [
  { name: "container_cpu_usage_seconds_total", help: "Cumulative CPU time consumed, in seconds.", type: "counter", value: (s) => s.cpu && Math.floor(s.cpu.usageCoreNanoSeconds / 1e9) },
  { name: "container_memory_usage_bytes", help: "Current memory usage, including all memory regardless of when it was accessed, in bytes.", type: "gauge", value: (s) => s.memory?.usageBytes },
  { name: "container_memory_working_set_bytes", help: "Current working set, in bytes.", type: "gauge", value: (s) => s.memory?.workingSetBytes },
  { name: "container_memory_rss", help: "Size of RSS, in bytes.", type: "gauge", value: (s) => s.memory?.rssBytes },
  { name: "container_memory_failures_total", help: "Cumulative count of memory allocation failures (page faults).", type: "counter", value: (s) => s.memory?.pageFaults },
  { name: "container_spec_memory_limit_bytes", help: "Memory limit of the container, in bytes (0: none).", type: "gauge", value: (s) => (s.memory ? (s.memory.limitBytes ?? 0) : undefined) },
  { name: "container_processes", help: "Number of processes running inside the container.", type: "gauge", value: (s) => s.processes },
  { name: "container_fs_usage_bytes", help: "Bytes used by the container's writable layer.", type: "gauge", value: (s) => s.writableLayer.usedBytes },
  { name: "container_fs_inodes_total", help: "Inodes used by the container's writable layer.", type: "gauge", value: (s) => s.writableLayer.inodesUsed },
  { name: "container_last_seen", help: "Last time the container was seen by the runtime, in seconds since the epoch.", type: "gauge", value: (s) => Math.floor(s.timestampNs / 1e9) },
];

type NetworkMetricSpec = { name: string; help: string; value: (i: { rxBytes: number; rxErrors: number; txBytes: number; txErrors: number }) => number };

const NETWORK_METRICS: NetworkMetricSpec[] = [
  { name: "container_network_receive_bytes_total", help: "Cumulative count of bytes received.", value: (i) => i.rxBytes },
  { name: "container_network_receive_errors_total", help: "Cumulative count of errors encountered while receiving.", value: (i) => i.rxErrors },
  { name: "container_network_transmit_bytes_total", help: "Cumulative count of bytes transmitted.", value: (i) => i.txBytes },
  { name: "container_network_transmit_errors_total", help: "Cumulative count of errors encountered while transmitting.", value: (i) => i.txErrors },
];

export const METRIC_DESCRIPTORS: MetricDescriptor[] = [
  ...CONTAINER_METRICS.map((m) => ({ name: m.name, help: m.help, labelKeys: CONTAINER_LABELS })),
  ...NETWORK_METRICS.map((m) => ({ name: m.name, help: m.help, labelKeys: NETWORK_LABELS })),
];

function containerLabels(c: ContainerRecord | undefined, s: SandboxRecord): string[] {
  const m = s.spec.metadata;
  // Pod-level series (the network) belong to no container, as cAdvisor's pause-container series do.
  return c ? [c.request.metadata.name, c.id, c.request.image, c.name, m.namespace, m.name] : ["POD", s.id, "", s.name, m.namespace, m.name];
}

export function podMetrics(p: PodStatsSample): PodMetrics {
  const s = p.sandbox;
  const metrics: MetricValue[] = [];
  for (const i of p.network?.interfaces ?? []) {
    for (const spec of NETWORK_METRICS) {
      metrics.push({ name: spec.name, timestampNs: p.timestampNs, type: "counter", labelValues: [...containerLabels(undefined, s), i.name], value: spec.value(i) });
    }
  }
  const containers = p.containers.map((cs) => ({
    containerId: cs.container.id,
    metrics: CONTAINER_METRICS.flatMap((spec) => {
      const value = spec.value(cs);
      return value === undefined ? [] : [{ name: spec.name, timestampNs: cs.timestampNs, type: spec.type, labelValues: containerLabels(cs.container, s), value }];
    }),
  }));
  return { sandboxId: s.id, metrics, containers };
}
