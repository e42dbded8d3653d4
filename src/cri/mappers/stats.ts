// Stats samples -> CRI messages. uint64 values travel as decimal strings.

import type { ContainerStats } from "../generated/runtime/v1/ContainerStats.js";
import type { CpuUsage } from "../generated/runtime/v1/CpuUsage.js";
import type { MemoryUsage } from "../generated/runtime/v1/MemoryUsage.js";
import type { NetworkInterfaceUsage } from "../generated/runtime/v1/NetworkInterfaceUsage.js";
import type { PodSandboxStats } from "../generated/runtime/v1/PodSandboxStats.js";
import type { ContainerStatsSample, CpuStats, PodStatsSample } from "../../stats/stats.js";
import type { MemorySample } from "../../stats/cgroup-stats.js";
import type { InterfaceUsage } from "../../stats/net-dev.js";

const u64 = (n: number) => ({ value: String(Math.max(0, Math.round(n))) });
const ts = (ns: number) => String(Math.round(ns));

function cpu(c: CpuStats | undefined, at: number): CpuUsage | null {
  if (!c) return null;
  return { timestamp: ts(at), usage_core_nano_seconds: u64(c.usageCoreNanoSeconds), ...(c.usageNanoCores !== undefined ? { usage_nano_cores: u64(c.usageNanoCores) } : {}) };
}

function memory(m: MemorySample | undefined, at: number): MemoryUsage | null {
  if (!m) return null;
  return {
    timestamp: ts(at),
    working_set_bytes: u64(m.workingSetBytes),
    usage_bytes: u64(m.usageBytes),
    rss_bytes: u64(m.rssBytes),
    page_faults: u64(m.pageFaults),
    major_page_faults: u64(m.majorPageFaults),
    ...(m.availableBytes !== undefined ? { available_bytes: u64(m.availableBytes) } : {}),
  };
}

function iface(i: InterfaceUsage): NetworkInterfaceUsage {
  return { name: i.name, rx_bytes: u64(i.rxBytes), rx_errors: u64(i.rxErrors), tx_bytes: u64(i.txBytes), tx_errors: u64(i.txErrors) };
}

export function toCriContainerStats(s: ContainerStatsSample): ContainerStats {
  const c = s.container;
  const at = s.timestampNs;
  return {
    attributes: { id: c.id, metadata: c.request.metadata, labels: c.request.labels, annotations: c.request.annotations },
    cpu: cpu(s.cpu, at),
    memory: memory(s.memory, at),
    writable_layer: { timestamp: ts(at), fs_id: { mountpoint: s.writableLayer.mountpoint }, used_bytes: u64(s.writableLayer.usedBytes), inodes_used: u64(s.writableLayer.inodesUsed) },
    ...(s.swap ? { swap: { timestamp: ts(at), swap_usage_bytes: u64(s.swap.usageBytes), ...(s.swap.availableBytes !== undefined ? { swap_available_bytes: u64(s.swap.availableBytes) } : {}) } } : {}),
  };
}

export function toCriPodSandboxStats(p: PodStatsSample): PodSandboxStats {
  const s = p.sandbox;
  const at = p.timestampNs;
  return {
    attributes: { id: s.id, metadata: s.spec.metadata, labels: s.spec.labels, annotations: s.spec.annotations },
    linux: {
      cpu: cpu(p.cpu, at),
      memory: memory(p.memory, at),
      network: p.network
        ? { timestamp: ts(at), interfaces: p.network.interfaces.map(iface), ...(p.network.defaultInterface ? { default_interface: iface(p.network.defaultInterface) } : {}) }
        : null,
      process: p.processes !== undefined ? { timestamp: ts(at), process_count: u64(p.processes) } : null,
      containers: p.containers.map(toCriContainerStats),
    },
  };
}
