// A minor garbage collection every so many bytes of buffers that die young.
// A download turns its size over in socket buffers; V8 counts their bytes
// only loosely, so with a 1 MB young generation they pile up to tens of MB
// before a collection frees them. Collecting the young generation (a fraction
// of a millisecond at 1 MB) every megabyte or so keeps them to a few. What
// the collections free goes back to the C heap, which glibc keeps for itself
// unless asked: every few collections it is handed back to the kernel too.
// Needs --expose-gc (bin/skiff passes it); without it this only releases.

export type Collect = (options?: { type: "minor" | "major" }) => void;

export interface YoungCollectorOptions {
  /** A minor collection after this many bytes. */
  everyBytes: number;
  /** Hands the C heap's free pages back (e.g. malloc_trim) after every `releaseEvery` collections. */
  release?: () => void;
  releaseEvery?: number;
  /** V8's gc, when exposed. */
  collect?: Collect;
}

export class YoungCollector {
  private since = 0;
  private collections = 0;
  private readonly everyBytes: number;
  private readonly release?: () => void;
  private readonly releaseEvery: number;
  private readonly collect?: Collect;

  constructor(o: YoungCollectorOptions) {
    this.everyBytes = o.everyBytes;
    this.release = o.release;
    this.releaseEvery = o.releaseEvery ?? 4;
    this.collect = "collect" in o ? o.collect : (globalThis as { gc?: Collect }).gc;
  }

  /** Counts `bytes` more of short-lived buffers; collects once enough have gone by. */
  add(bytes: number): void {
    this.since += bytes;
    if (this.since < this.everyBytes) return;
    this.since = 0;
    this.collect?.({ type: "minor" });
    if (++this.collections % this.releaseEvery === 0) this.release?.();
  }
}
