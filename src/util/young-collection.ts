// A minor garbage collection every so many bytes of buffers that die young.
// A download turns its size over in socket buffers; V8 counts their bytes
// only loosely, so with a 1 MB young generation they pile up to tens of MB
// before a collection frees them. Collecting the young generation (a fraction
// of a millisecond at 1 MB) every megabyte or so keeps them to a few.
// Needs --expose-gc (bin/skiff passes it); without it this does nothing.

export type Collect = (options?: { type: "minor" | "major" }) => void;

export class YoungCollector {
  private since = 0;

  constructor(
    private readonly everyBytes: number,
    private readonly collect: Collect | undefined = (globalThis as { gc?: Collect }).gc,
  ) {}

  /** Counts `bytes` more of short-lived buffers; collects once enough have gone by. */
  add(bytes: number): void {
    this.since += bytes;
    if (this.since < this.everyBytes) return;
    this.since = 0;
    this.collect?.({ type: "minor" });
  }
}
