// Worker-thread side of the unpack pool: extracts a layer per job, several
// jobs at once; a layer still downloading is followed through the progress
// the pool forwards.

import { parentPort } from "node:worker_threads";
import type { Collect } from "../../util/young-collection.js";
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

/** With --expose-gc (bin/skiff): a full collection after a layer of many entries. */
const collect = (globalThis as { gc?: Collect }).gc;
/**
 * A layer's bookkeeping (a name per entry: 25,000 in a layer of small files)
 * is garbage in the old generation once it is done, where V8 would leave it
 * until the heap had grown much more: after such a layer the ones after it
 * start from a clean heap. A layer of fewer entries leaves too little to be worth a
 * full collection, which takes a CPU for several ms just as the pull returns
 * (on two CPUs it cost critest's pull of a small image a quarter of its time).
 */
const COLLECT_AFTER_ENTRIES = 2000;

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
      (result) => {
        parentPort!.postMessage({ id: msg.id, result });
        return result.inodes;
      },
      (err: Error) => {
        parentPort!.postMessage({ id: msg.id, error: { message: err.message, unsafe: err instanceof UnsafeLayerError } });
        return Infinity; // how much a failed layer left behind is not known
      },
    )
    .then((entries) => {
      following.delete(msg.id);
      if (entries >= COLLECT_AFTER_ENTRIES) collect?.();
    });
});
