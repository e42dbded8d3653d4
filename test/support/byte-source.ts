import type { ByteSource } from "../../src/image-service/unpack/blob-source.js";

/** Everything a source gives until its end, read through one reused buffer as the unpacker does. */
export async function readAll(source: ByteSource, onChunk?: (bytes: Buffer) => void): Promise<Buffer> {
  const buf = Buffer.alloc(64 * 1024);
  const parts: Buffer[] = [];
  try {
    for (let n = await source.read(buf); n > 0; n = await source.read(buf)) {
      const part = Buffer.from(buf.subarray(0, n));
      parts.push(part);
      onChunk?.(part);
    }
  } finally {
    source.close();
  }
  return Buffer.concat(parts);
}
