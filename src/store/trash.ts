// Removing a directory tree takes a trip through libuv's pool for every file
// in it; a call that deletes one (an image's snapshot) need not wait for
// that. The tree is moved into <root>/trash with one rename, which is atomic:
// from then on it is gone under its old name. It is removed from trash/ after
// the call, and what a crash leaves there is removed at the next start.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../log.js";

export class Trash {
  private readonly removals = new Set<Promise<void>>();

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Makes the directory and starts removing what a previous run left in it. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) this.removeLater(path.join(this.dir, name));
  }

  /**
   * Takes `target` away at once and removes it later. A target that does not
   * exist is not an error; one on another file system (no rename there) is
   * removed before this returns.
   */
  async discard(target: string): Promise<void> {
    const moved = path.join(this.dir, randomBytes(8).toString("hex"));
    try {
      await rename(target, moved);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EXDEV") throw new Error(`cannot move ${target} to ${this.dir}: ${(err as Error).message}`);
      await rm(target, { recursive: true, force: true });
      return;
    }
    this.removeLater(moved);
  }

  /** Settles when every removal started so far has ended. */
  async drain(): Promise<void> {
    await Promise.all([...this.removals]);
  }

  private removeLater(file: string): void {
    const removal: Promise<void> = rm(file, { recursive: true, force: true })
      .catch((err: Error) => this.log.warn({ path: file, err: err.message }, "cannot remove a discarded file; skiff's next start retries"))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }
}
