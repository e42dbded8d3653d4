// Single-use, expiring tokens for the URLs that Exec, Attach and PortForward
// return. The token is the only credential of a streaming URL, so it is
// unguessable (192 random bits) and works once.

import { randomBytes } from "node:crypto";

export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Undefined when the cache is full of live tokens: the caller refuses the request. */
  insert(value: T): string | undefined {
    this.prune();
    if (this.entries.size >= this.maxEntries) return undefined;
    const token = randomBytes(24).toString("base64url");
    this.entries.set(token, { value, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The value, once; undefined for an unknown, used or expired token. */
  consume(token: string): T | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expiresAt > this.now() ? e.value : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [token, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(token);
  }
}
