// Worker-thread side of the unpack pool: extracts one layer per message.

import { parentPort } from "node:worker_threads";
import type { Compression } from "../media-types.js";
import { extractLayer, layerSource, UnsafeLayerError } from "./extract.js";

export interface UnpackJob {
  id: number;
  blobPath: string;
  compression: Compression;
  dest: string;
}

parentPort!.on("message", (job: UnpackJob) => {
  extractLayer(layerSource(job.blobPath), job.compression, job.dest).then(
    (result) => parentPort!.postMessage({ id: job.id, result }),
    (err: Error) => parentPort!.postMessage({ id: job.id, error: { message: err.message, unsafe: err instanceof UnsafeLayerError } }),
  );
});
