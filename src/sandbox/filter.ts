// ListPodSandbox filtering. Pure.

import type { SandboxRecord, SandboxState } from "./types.js";

export interface SandboxFilter {
  id?: string;
  state?: Exclude<SandboxState, "creating">;
  labels?: Record<string, string>;
}

export function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function filterSandboxes(records: SandboxRecord[], f: SandboxFilter): SandboxRecord[] {
  return records.filter(
    (r) =>
      r.state !== "creating" &&
      (!f.id || r.id.startsWith(f.id)) &&
      (!f.state || r.state === f.state) &&
      matchesLabels(r.spec.labels, f.labels),
  );
}
