// crun guards against CVE-2019-5736 by copying itself (or bind-mounting
// itself read-only) and executing itself again at every call, unless it
// already runs from a sealed memfd: ~1.2 ms of each create, start, kill,
// delete and exec here. skiff keeps one sealed copy of the binary and runs
// that instead (native/sealed_copy.c), reached through a symlink named like
// the binary, so that ps and /proc/<pid>/comm still say "crun". The copy
// follows the file on disk: one stat per use, a new copy when it changed (an
// upgrade), so no call runs a binary the host has replaced.

import { mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import path from "node:path";
import { closeDescriptor, sealedCopy } from "../native/index.js";

/** Whether a runtime binary runs itself a second time at every call unless it runs from a sealed memfd. Pure. */
export function reexecsItself(binary: string): boolean {
  return path.basename(binary) === "crun";
}

export class SealedBinary {
  private fd = -1;
  private identity = "";

  private constructor(
    /** The binary on disk (an absolute path). */
    readonly source: string,
    /** What to execute: a symlink to the copy, under the daemon's state directory. */
    readonly link: string,
  ) {}

  /** Copies `source` and links `<dir>/<its name>` to the copy; throws when the kernel refuses a sealed memfd. */
  static create(source: string, dir: string): SealedBinary {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sealed = new SealedBinary(source, path.join(dir, path.basename(source)));
    sealed.refresh();
    return sealed;
  }

  /**
   * The path to execute: the link, to a copy of what `source` holds now, or
   * `source` itself when it cannot be copied any more (removed, say), so
   * that the call fails or runs as it would without a copy.
   */
  program(): string {
    try {
      this.refresh();
      return this.link;
    } catch {
      return this.source;
    }
  }

  /** Removes the link and drops the copy. */
  close(): void {
    rmSync(this.link, { force: true });
    if (this.fd >= 0) closeDescriptor(this.fd);
    this.fd = -1;
    this.identity = "";
  }

  private refresh(): void {
    const st = statSync(this.source);
    const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (identity !== this.identity) {
      const fd = sealedCopy(this.source, `skiff sealed copy of ${this.source}`.slice(0, 199));
      try {
        this.point(fd);
      } catch (err) {
        closeDescriptor(fd);
        throw err;
      }
      if (this.fd >= 0) closeDescriptor(this.fd);
      this.fd = fd;
      this.identity = identity;
    } else if (linkTarget(this.link) !== target(this.fd)) {
      this.point(this.fd); // the link was removed or changed under the daemon
    }
  }

  /** Replaces the link in one rename: an exec (or a conmon about to run it) finds the old copy or the new one. */
  private point(fd: number): void {
    const tmp = `${this.link}.${fd}.tmp`;
    rmSync(tmp, { force: true });
    symlinkSync(target(fd), tmp);
    renameSync(tmp, this.link);
  }
}

function target(fd: number): string {
  return `/proc/${process.pid}/fd/${fd}`;
}

function linkTarget(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}
