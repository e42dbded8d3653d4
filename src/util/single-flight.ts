// Concurrent callers asking for the same key share one in-flight promise: two
// pulls of one image fetch each blob once.

export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const p = fn().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  has(key: string): boolean {
    return this.inFlight.has(key);
  }
}
