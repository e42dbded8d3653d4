// Whether containers can be checkpointed and restored here. runc drives CRIU
// (`runc --criu <path> checkpoint|restore`); Debian's crun 1.8.1 is built
// without libcriu. CRIU itself must work with the running kernel, which is
// what `criu check` answers (Debian 12's CRIU 3.17 does not on Linux 6.13+,
// whose vDSO it cannot parse; `checkpoint.criu` can name a newer one).

import { execCommand } from "../../util/exec.js";
import { findExecutable } from "../../util/executable.js";

export function runtimeSupportsCheckpoint(runtimePath: string): boolean {
  return /(^|\/)runc$/.test(runtimePath);
}

/** Why CRIU at `criuPath` cannot checkpoint on this host, or undefined when `criu check` passes. */
export async function criuProblem(criuPath: string): Promise<string | undefined> {
  const bin = await findExecutable(criuPath);
  if (!bin) return `CRIU (${criuPath}) is not installed: install Debian's criu or set checkpoint.criu to one`;
  const r = await execCommand(bin, ["check"], { timeoutMs: 30_000 });
  if (r.code === 0) return undefined;
  const errors = `${r.stderr}\n${r.stdout}`.split("\n").filter((l) => /error/i.test(l));
  return `${bin} check failed on this kernel: ${(errors.at(0) ?? r.stderr.trim().split("\n").at(-1) ?? `exit ${r.code}`).trim()}`;
}
