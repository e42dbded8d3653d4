// A small pool of worker threads that unpack layers in parallel without
// blocking the gRPC server's event loop. A layer still downloading is unpacked
// as it arrives: the pool forwards the download's progress to the worker.
// Where the compiled worker is not available (tests running the TypeScript
// sources) layers unpack in-thread.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Compression } from "../media-types.js";
import { trimMemory } from "../../native/index.js";
import { blobSource, type LayerBlob } from "./blob-source.js";
import { extractLayer, UnsafeLayerError, type ExtractResult } from "./extract.js";
import type { ProgressMessage, UnpackJob } from "./worker.js";
import type { ProgressState } from "./write-progress.js";

interface Pending {
  resolve(r: ExtractResult): void;
  reject(e: Error): void;
  /** Stops forwarding the blob's download progress. */
  unfollow?: () => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  jobs: Map<number, Pending>;
  idleTimer?: NodeJS.Timeout;
}

/** A worker thread costs memory (its own V8 heap): idle ones are ended after this long. */
const IDLE_MS = 5000;
/**
 * A download's progress goes to the worker in steps of at least this much (or
 * at its end): each message wakes the worker's thread, which costs the
 * daemon's main thread ~0.25 ms here.
 */
const PROGRESS_STEP = 4 * 1024 * 1024;

/**
 * The compiled worker: beside this module after tsc, or beside the bundle
 * (dist/bundle/unpack-worker.mjs, built from worker.js) when the daemon runs bundled.
 */
const WORKER_URL = [new URL("./worker.js", import.meta.url), new URL("./unpack-worker.mjs", import.meta.url)].find((u) => existsSync(fileURLToPath(u)));

export class UnpackPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { blob: LayerBlob; compression: Compression; dest: string; pending: Pending }[] = [];
  private nextId = 1;
  private readonly useWorkers = WORKER_URL !== undefined;

  constructor(private readonly size: number) {}

  unpack(blob: LayerBlob, compression: Compression, dest: string): Promise<ExtractResult> {
    if (!this.useWorkers) return extractLayer(blobSource(blob), compression, dest);
    return new Promise((resolve, reject) => {
      this.queue.push({ blob, compression, dest, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.busy);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const { blob, compression, dest, pending } = this.queue.shift()!;
      const id = this.nextId++;
      clearTimeout(slot.idleTimer);
      slot.busy = true;
      slot.jobs.set(id, pending);
      const worker = slot.worker;
      worker.postMessage({ kind: "unpack", id, blobPath: blob.path, compression, dest, progress: blob.progress?.current } satisfies UnpackJob);
      if (blob.progress) {
        let posted = blob.progress.current.written;
        pending.unfollow = blob.progress.subscribe((state: ProgressState) => {
          if (!state.end && state.error === undefined && state.written - posted < PROGRESS_STEP) return;
          posted = state.written;
          worker.postMessage({ kind: "progress", id, state } satisfies ProgressMessage);
        });
      }
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL!);
    const slot: Slot = { worker, busy: false, jobs: new Map() };
    worker.unref();
    worker.on("message", (msg: { id: number; result?: ExtractResult; error?: { message: string; unsafe: boolean } }) => {
      const p = slot.jobs.get(msg.id);
      p?.unfollow?.();
      slot.jobs.delete(msg.id);
      slot.busy = false;
      if (msg.error) p?.reject(msg.error.unsafe ? new UnsafeLayerError(msg.error.message) : new Error(msg.error.message));
      else p?.resolve(msg.result!);
      this.dispatch();
      if (!slot.busy) {
        slot.idleTimer = setTimeout(() => this.retire(slot), IDLE_MS);
        slot.idleTimer.unref();
      }
    });
    const fail = (err: Error) => {
      for (const p of slot.jobs.values()) {
        p.unfollow?.();
        p.reject(new Error(`unpack worker failed: ${err.message}`));
      }
      slot.jobs.clear();
      this.slots.splice(this.slots.indexOf(slot), 1);
      this.dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => code !== 0 && code !== 1 && this.slots.includes(slot) && fail(new Error(`exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot): void {
    if (slot.busy) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    // The last worker gone, the pull's burst is over: what the workers and their buffers
    // freed stays in glibc's arenas (tens of MB) unless given back.
    void slot.worker.terminate().then(
      () => (this.slots.length === 0 ? trimMemory() : undefined),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
