// Summaries for benchmark samples. Ratios, not absolute times, are what the
// README reports: these machines are noisy, but both sides share the noise.

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summary(samples: number[]) {
  return { n: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), min: Math.min(...samples), max: Math.max(...samples) };
}

export function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

/**
 * The two runtimes in turn for sample `i`, the order flipping every sample, so
 * that a slow patch of the shared vCPUs lands on both sides.
 */
export function inTurn<A, B>(i: number, pair: readonly [A, B]): (A | B)[] {
  return i % 2 ? [pair[1], pair[0]] : [pair[0], pair[1]];
}
