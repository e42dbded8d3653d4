// Unpacks layers in a worker thread, so that their tar parsing, gunzip and
// hashing never block the gRPC server's event loop. One thread does for any
// number of layers at once: their file system work runs on libuv's pool
// (layer-steps.ts), and a second thread would cost ~8 MB of its own V8 heap.
// A layer still downloading is unpacked as it arrives: the pool forwards the
// download's progress to the worker. Where the compiled worker is not
// available (tests running the TypeScript sources) layers unpack in-thread.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Compression } from "../media-types.js";
import { trimMemory } from "../../native/index.js";
import type { Collect } from "../../util/young-collection.js";
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

/** With --expose-gc (bin/skiff). */
const collect = (globalThis as { gc?: Collect }).gc;
/** The worker costs memory (its own V8 heap): it is ended after this long idle. */
const IDLE_MS = 5000;
/**
 * A download's progress goes to the worker in steps of at least this much (or
 * at its end): each message wakes the worker's thread, which costs the
 * daemon's main thread ~0.25 ms here.
 */
const PROGRESS_STEP = 4 * 1024 * 1024;
/**
 * The first step, when the worker was given the job before any byte came (the
 * usual case: the unpack gets ready while the response is awaited): smaller,
 * so that a layer of a few MB is not left to unpack only once it is all there,
 * yet not so small that a tiny layer costs a message more than its end does.
 */
const FIRST_PROGRESS_STEP = 256 * 1024;

/**
 * The compiled worker: beside this module after tsc, or beside the bundle
 * (dist/bundle/unpack-worker.mjs, built from worker.js) when the daemon runs bundled.
 */
const WORKER_URL = [new URL("./worker.js", import.meta.url), new URL("./unpack-worker.mjs", import.meta.url)].find((u) => existsSync(fileURLToPath(u)));

export class UnpackPool {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Pending>();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly queue: { blob: LayerBlob; compression: Compression; dest: string; pending: Pending }[] = [];
  private nextId = 1;
  private readonly useWorkers = WORKER_URL !== undefined;

  /** `size`: how many layers are unpacked at once; more wait their turn. */
  constructor(private readonly size: number) {}

  unpack(blob: LayerBlob, compression: Compression, dest: string): Promise<ExtractResult> {
    if (!this.useWorkers) return extractLayer(blobSource(blob), compression, dest);
    return new Promise((resolve, reject) => {
      this.queue.push({ blob, compression, dest, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length && this.jobs.size < this.size) {
      const { blob, compression, dest, pending } = this.queue.shift()!;
      const worker = (this.worker ??= this.spawn());
      const id = this.nextId++;
      clearTimeout(this.idleTimer);
      this.jobs.set(id, pending);
      worker.postMessage({ kind: "unpack", id, blobPath: blob.path, compression, dest, progress: blob.progress?.current } satisfies UnpackJob);
      if (blob.progress) {
        let posted = blob.progress.current.written;
        pending.unfollow = blob.progress.subscribe((state: ProgressState) => {
          const step = posted === 0 ? FIRST_PROGRESS_STEP : PROGRESS_STEP;
          if (!state.end && state.error === undefined && state.written - posted < step) return;
          posted = state.written;
          worker.postMessage({ kind: "progress", id, state } satisfies ProgressMessage);
        });
      }
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL!);
    worker.unref();
    worker.on("message", (msg: { id: number; result?: ExtractResult; error?: { message: string; unsafe: boolean } }) => {
      const p = this.jobs.get(msg.id);
      p?.unfollow?.();
      this.jobs.delete(msg.id);
      if (msg.error) p?.reject(msg.error.unsafe ? new UnsafeLayerError(msg.error.message) : new Error(msg.error.message));
      else p?.resolve(msg.result!);
      this.dispatch();
      if (this.jobs.size === 0) {
        this.idleTimer = setTimeout(() => this.retire(worker), IDLE_MS);
        this.idleTimer.unref();
      }
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const p of this.jobs.values()) {
        p.unfollow?.();
        p.reject(new Error(`unpack worker failed: ${err.message}`));
      }
      this.jobs.clear();
      this.dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => code !== 0 && code !== 1 && fail(new Error(`exited with code ${code}`)));
    return worker;
  }

  private retire(worker: Worker): void {
    if (this.worker !== worker || this.jobs.size) return;
    this.worker = undefined;
    // The pull's burst is over. Buffers of its downloads that lived long
    // enough to be promoted keep their C memory until a full collection, which
    // an idle daemon may not run for hours: ~5 MB after a 300 MB pull. The
    // collection holds the event loop 10-16 ms here, once per burst. Then what
    // the worker and those buffers freed stays in glibc's arenas unless given back.
    void worker.terminate().then(
      () => {
        if (this.worker) return; // another pull began meanwhile
        collect?.();
        return trimMemory();
      },
      () => undefined,
    );
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
