// Worker-thread side of the unpack pool: extracts one layer per job; a layer
// still downloading is followed through the progress the pool forwards.

import { parentPort } from "node:worker_threads";
import type { Compression } from "../media-types.js";
import { blobSource } from "./blob-source.js";
import { extractLayer, UnsafeLayerError } from "./extract.js";
import { WriteProgress, type ProgressState } from "./write-progress.js";

export interface UnpackJob {
  kind: "unpack";
  id: number;
  blobPath: string;
  compression: Compression;
  dest: string;
  /** Set when the blob is still being written. */
  progress?: ProgressState;
}

/** The writer's progress on a job's blob, forwarded by the pool. */
export interface ProgressMessage {
  kind: "progress";
  id: number;
  state: ProgressState;
}

const following = new Map<number, WriteProgress>();

/** With --expose-gc (bin/skiff): a full collection between layers. */
const collect = (globalThis as { gc?: () => void }).gc;

parentPort!.on("message", (msg: UnpackJob | ProgressMessage) => {
  if (msg.kind === "progress") return following.get(msg.id)?.update(msg.state);
  let progress: WriteProgress | undefined;
  if (msg.progress) {
    progress = new WriteProgress();
    progress.update(msg.progress);
    following.set(msg.id, progress);
  }
  extractLayer(blobSource({ path: msg.blobPath, progress }), msg.compression, msg.dest)
    .then(
      (result) => parentPort!.postMessage({ id: msg.id, result }),
      (err: Error) => parentPort!.postMessage({ id: msg.id, error: { message: err.message, unsafe: err instanceof UnsafeLayerError } }),
    )
    .finally(() => {
      following.delete(msg.id);
      // A layer's bookkeeping (a name per entry: 25,000 in a layer of small
      // files) is garbage in the old generation once it is done, where V8
      // would leave it until the heap had grown much more: the next layer
      // starts from a clean heap instead.
      collect?.();
    });
});
