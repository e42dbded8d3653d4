/** Nanoseconds since the epoch as a decimal string (CRI int64 timestamps exceed 2^53). */
export function nowNanos(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

/** The later of two nanosecond timestamps (decimal strings). Pure. */
export function laterNanos(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}
