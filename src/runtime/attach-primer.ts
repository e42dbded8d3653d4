// Starts the kernel's slow part of a cgroup attach early. Moving a process
// into a cgroup takes a global lock (cgroup_threadgroup_rwsem) whose writer
// first waits for an RCU grace period, 6-20 ms on the test machines, unless
// another attach happened within the last ~20 ms. runc pays that wait in the
// middle of `runc create`. skiff makes a no-op attach of its own (the daemon
// into the cgroup it is already in) as soon as a container creation begins,
// so that the wait runs alongside the rootfs mount and conmon's start-up and
// runc finds the lock ready. Hosts whose cgroup mounts say favordynmods keep
// the lock ready all the time and need none of this.

import { constants } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

interface CgroupMount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

function cgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(" ");
    const [fstype, , superOpts] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    out.push({ root: unescape(fields[3] ?? ""), point: unescape(fields[4] ?? ""), fstype, superOptions: (superOpts ?? "").split(",") });
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The cgroup.procs file of the cgroup a process is in, in one of its
 * hierarchies (the unified one when mounted, else the first v1 hierarchy found
 * mounted), from its /proc/<pid>/cgroup and /proc/<pid>/mountinfo; undefined
 * when none is mounted where the process can see it, or when a mount has
 * favordynmods (no wait to hide). Pure.
 */
export function ownCgroupProcsFile(procCgroup: string, mountinfo: string): string | undefined {
  const mounts = cgroupMounts(mountinfo);
  if (mounts.some((m) => m.superOptions.includes("favordynmods"))) return undefined;
  const entries = procCgroup
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, controllers = "", ...rest] = line.split(":");
      return { controllers: controllers.split(",").filter(Boolean), cgroup: rest.join(":") };
    })
    .sort((a, b) => a.controllers.length - b.controllers.length); // the unified entry ("0::/path") first
  for (const e of entries) {
    const mount = mounts.find((m) =>
      e.controllers.length === 0 ? m.fstype === "cgroup2" : m.fstype === "cgroup" && e.controllers.every((c) => m.superOptions.includes(c)),
    );
    if (!mount) continue;
    const rel = path.posix.relative(mount.root, e.cgroup);
    if (rel.startsWith("..")) continue; // the process's cgroup is outside what this mount shows
    return path.join(mount.point, rel, "cgroup.procs");
  }
  return undefined;
}

export class AttachPrimer {
  private inFlight = false;

  private constructor(
    private procsFile: string | undefined,
    private readonly onDisabled: (reason: string) => void,
  ) {}

  static async detect(onDisabled: (reason: string) => void): Promise<AttachPrimer> {
    const [procCgroup, mountinfo] = await Promise.all([readFile("/proc/self/cgroup", "utf8"), readFile("/proc/self/mountinfo", "utf8")]).catch(() => ["", ""]);
    return new AttachPrimer(ownCgroupProcsFile(procCgroup, mountinfo), onDisabled);
  }

  get file(): string | undefined {
    return this.procsFile;
  }

  /**
   * Begins a no-op attach on the thread pool and returns at once. Skipped
   * while one is under way (the lock is being readied already); turned off
   * for good after a failure (such as a read-only cgroupfs), which is reported once.
   */
  prime(): void {
    const file = this.procsFile;
    if (!file || this.inFlight) return;
    this.inFlight = true;
    // "0" is the writing process: the daemon, moved to where it already is.
    writeFile(file, "0", { flag: constants.O_WRONLY }).then(
      () => (this.inFlight = false),
      (err: Error) => {
        this.inFlight = false;
        this.procsFile = undefined;
        this.onDisabled(`cannot write ${file}: ${err.message}`);
      },
    );
  }
}
