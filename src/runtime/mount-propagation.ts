// Host-path mounts with propagation need the host side to propagate: a
// bidirectional mount must sit on a shared mount, a host-to-container one on a
// shared or slave mount. Otherwise the request would silently not propagate,
// so it is refused with the fix (as containerd does).

import { realpath } from "node:fs/promises";
import { failedPrecondition } from "../errors.js";
import { mountOf, readMountInfo } from "../util/mounts.js";
import type { ContainerRequest } from "./types.js";

export async function checkMountPropagation(mounts: ContainerRequest["mounts"]): Promise<void> {
  const propagating = mounts.filter((m) => m.propagation !== "private");
  if (propagating.length === 0) return;
  const table = await readMountInfo();
  for (const m of propagating) {
    const source = await realpath(m.hostPath).catch(() => m.hostPath);
    const on = mountOf(table, source);
    if (!on) continue;
    const shared = on.optional.some((o) => o.startsWith("shared:"));
    const slave = on.optional.some((o) => o.startsWith("master:"));
    if (m.propagation === "bidirectional" && !shared) {
      throw failedPrecondition(`mount ${m.containerPath}: bidirectional propagation needs ${m.hostPath} on a shared mount, but ${on.mountPoint} is not shared (mount --make-rshared ${on.mountPoint})`);
    }
    if (m.propagation === "host-to-container" && !shared && !slave) {
      throw failedPrecondition(`mount ${m.containerPath}: host-to-container propagation needs ${m.hostPath} on a shared or slave mount, but ${on.mountPoint} is private (mount --make-rshared ${on.mountPoint})`);
    }
  }
}
