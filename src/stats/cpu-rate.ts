// usage_nano_cores: the CPU rate between two samples of cumulative usage, at
// least MIN_INTERVAL apart so that two calls in quick succession do not give
// a noisy rate from a few milliseconds. Pure (time is passed in).

const MIN_INTERVAL_NS = 1e9;

interface Point {
  atNs: number;
  usageNs: number;
}

export class CpuRates {
  private readonly last = new Map<string, { point: Point; rate?: number }>();

  /** Records a sample and returns the rate over the last interval, if one is known. */
  observe(key: string, atNs: number, usageNs: number): number | undefined {
    const prev = this.last.get(key);
    if (!prev || usageNs < prev.point.usageNs) {
      this.last.set(key, { point: { atNs, usageNs } });
      return undefined;
    }
    const dt = atNs - prev.point.atNs;
    if (dt < MIN_INTERVAL_NS) return prev.rate;
    const rate = Math.round(((usageNs - prev.point.usageNs) / dt) * 1e9);
    this.last.set(key, { point: { atNs, usageNs }, rate });
    return rate;
  }

  /** Forgets keys no longer sampled (removed containers and pods). */
  retain(keys: Set<string>): void {
    for (const k of this.last.keys()) if (!keys.has(k)) this.last.delete(k);
  }
}
