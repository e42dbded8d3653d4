// ContainerStats, ListContainerStats, StreamContainerStats, PodSandboxStats,
// ListPodSandboxStats, StreamPodSandboxStats, ListMetricDescriptors,
// ListPodSandboxMetrics, StreamPodSandboxMetrics.

import { podMetrics, METRIC_DESCRIPTORS, type MetricValue } from "../../stats/metrics.js";
import { matchesLabels } from "../../sandbox/filter.js";
import type { CriDeps } from "../deps.js";
import type { ContainerStatsFilter__Output } from "../generated/runtime/v1/ContainerStatsFilter.js";
import type { ContainerStatsRequest__Output } from "../generated/runtime/v1/ContainerStatsRequest.js";
import type { ContainerStatsResponse } from "../generated/runtime/v1/ContainerStatsResponse.js";
import type { ListContainerStatsRequest__Output } from "../generated/runtime/v1/ListContainerStatsRequest.js";
import type { ListContainerStatsResponse } from "../generated/runtime/v1/ListContainerStatsResponse.js";
import type { ListMetricDescriptorsResponse } from "../generated/runtime/v1/ListMetricDescriptorsResponse.js";
import type { ListPodSandboxMetricsResponse } from "../generated/runtime/v1/ListPodSandboxMetricsResponse.js";
import type { ListPodSandboxStatsRequest__Output } from "../generated/runtime/v1/ListPodSandboxStatsRequest.js";
import type { ListPodSandboxStatsResponse } from "../generated/runtime/v1/ListPodSandboxStatsResponse.js";
import type { Metric } from "../generated/runtime/v1/Metric.js";
import type { PodSandboxMetrics } from "../generated/runtime/v1/PodSandboxMetrics.js";
import type { PodSandboxStatsFilter__Output } from "../generated/runtime/v1/PodSandboxStatsFilter.js";
import type { PodSandboxStatsRequest__Output } from "../generated/runtime/v1/PodSandboxStatsRequest.js";
import type { PodSandboxStatsResponse } from "../generated/runtime/v1/PodSandboxStatsResponse.js";
import type { StreamContainerStatsRequest__Output } from "../generated/runtime/v1/StreamContainerStatsRequest.js";
import type { StreamContainerStatsResponse } from "../generated/runtime/v1/StreamContainerStatsResponse.js";
import type { StreamPodSandboxMetricsResponse } from "../generated/runtime/v1/StreamPodSandboxMetricsResponse.js";
import type { StreamPodSandboxStatsRequest__Output } from "../generated/runtime/v1/StreamPodSandboxStatsRequest.js";
import type { StreamPodSandboxStatsResponse } from "../generated/runtime/v1/StreamPodSandboxStatsResponse.js";
import { toCriContainerStats, toCriPodSandboxStats } from "../mappers/stats.js";
import type { StreamSink } from "../service.js";
import { requireField } from "../validate.js";

const BATCH = 100;

function toCriMetric(m: MetricValue): Metric {
  return { name: m.name, timestamp: String(Math.round(m.timestampNs)), metric_type: m.type === "counter" ? "COUNTER" : "GAUGE", label_values: m.labelValues, value: { value: String(Math.max(0, Math.round(m.value))) } };
}

export function statsHandlers(deps: CriDeps) {
  const { containers, sandboxes, stats } = deps;
  const containerStats = async (f: ContainerStatsFilter__Output | null) => {
    // Containers with a cgroup: created or running (exited ones have no usage left to report).
    const list = containers.list({ id: f?.id || undefined, sandboxId: f?.pod_sandbox_id || undefined, labels: f?.label_selector }).filter((c) => c.state === "running" || c.state === "created");
    return Promise.all(list.map(async (c) => toCriContainerStats(await stats.container(c, sandboxes.find(c.sandboxId)))));
  };
  const podSamples = async (f: PodSandboxStatsFilter__Output | null) => {
    const pods = sandboxes.list({ id: f?.id || undefined, state: "ready" }).filter((s) => matchesLabels(s.spec.labels, f?.label_selector));
    return Promise.all(pods.map((s) => stats.pod(s, containers.list({ sandboxId: s.id }))));
  };
  const metrics = async (): Promise<PodSandboxMetrics[]> =>
    (await podSamples(null)).map(podMetrics).map((m) => ({
      pod_sandbox_id: m.sandboxId,
      metrics: m.metrics.map(toCriMetric),
      container_metrics: m.containers.map((c) => ({ container_id: c.containerId, metrics: c.metrics.map(toCriMetric) })),
    }));
  return {
    async ContainerStats(req: ContainerStatsRequest__Output): Promise<ContainerStatsResponse> {
      const c = containers.get(requireField(req.container_id, "ContainerStats", "container_id"));
      return { stats: toCriContainerStats(await stats.container(c, sandboxes.find(c.sandboxId))) };
    },
    async ListContainerStats(req: ListContainerStatsRequest__Output): Promise<ListContainerStatsResponse> {
      return { stats: await containerStats(req.filter) };
    },
    async StreamContainerStats(req: StreamContainerStatsRequest__Output, out: StreamSink<StreamContainerStatsResponse>) {
      const all = await containerStats(req.filter);
      for (let i = 0; i < all.length; i += BATCH) await out.write({ container_stats: all.slice(i, i + BATCH) });
    },
    async PodSandboxStats(req: PodSandboxStatsRequest__Output): Promise<PodSandboxStatsResponse> {
      const s = sandboxes.get(requireField(req.pod_sandbox_id, "PodSandboxStats", "pod_sandbox_id"));
      return { stats: toCriPodSandboxStats(await stats.pod(s, containers.list({ sandboxId: s.id }))) };
    },
    async ListPodSandboxStats(req: ListPodSandboxStatsRequest__Output): Promise<ListPodSandboxStatsResponse> {
      return { stats: (await podSamples(req.filter)).map(toCriPodSandboxStats) };
    },
    async StreamPodSandboxStats(req: StreamPodSandboxStatsRequest__Output, out: StreamSink<StreamPodSandboxStatsResponse>) {
      const all = (await podSamples(req.filter)).map(toCriPodSandboxStats);
      for (let i = 0; i < all.length; i += BATCH) await out.write({ pod_sandbox_stats: all.slice(i, i + BATCH) });
    },
    async ListMetricDescriptors(): Promise<ListMetricDescriptorsResponse> {
      return { descriptors: METRIC_DESCRIPTORS.map((d) => ({ name: d.name, help: d.help, label_keys: d.labelKeys })) };
    },
    async ListPodSandboxMetrics(): Promise<ListPodSandboxMetricsResponse> {
      return { pod_metrics: await metrics() };
    },
    async StreamPodSandboxMetrics(_req: unknown, out: StreamSink<StreamPodSandboxMetricsResponse>) {
      const all = await metrics();
      for (let i = 0; i < all.length; i += BATCH) await out.write({ pod_sandbox_metrics: all.slice(i, i + BATCH) });
    },
  };
}
