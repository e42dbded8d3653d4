// How far a file being written has got, for a reader that follows it while it
// grows (a layer unpacked while it downloads). Bytes up to `written` are in the
// file; `end` comes only once the writer has verified the whole file, and
// `error` when it never will be, so a reader cannot take an unverified or cut
// file for a whole one.

export interface ProgressState {
  written: number;
  end: boolean;
  error?: string;
}

export class WriteProgress {
  private state: ProgressState = { written: 0, end: false };
  private readonly listeners = new Set<(s: ProgressState) => void>();

  get current(): ProgressState {
    return this.state;
  }

  private get settled(): boolean {
    return this.state.end || this.state.error !== undefined;
  }

  advance(bytes: number): void {
    if (!this.settled) this.set({ written: this.state.written + bytes, end: false });
  }

  /** The whole file is written and verified. */
  finish(): void {
    if (!this.settled) this.set({ ...this.state, end: true });
  }

  fail(message: string): void {
    if (!this.settled) this.set({ ...this.state, error: message });
  }

  /** Takes on a state reported by the writer's own copy (in another thread). */
  update(s: ProgressState): void {
    if (!this.settled) this.set(s);
  }

  /** Calls `listener` now and at every change; returns the call that stops it. */
  subscribe(listener: (s: ProgressState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the file has more than `offset` bytes, or has ended or failed. */
  beyond(offset: number): Promise<ProgressState> {
    if (this.state.written > offset || this.settled) return Promise.resolve(this.state);
    return new Promise((resolve) => {
      const stop = this.subscribe((s) => {
        if (s.written > offset || s.end || s.error !== undefined) {
          stop();
          resolve(s);
        }
      });
    });
  }

  private set(s: ProgressState): void {
    this.state = s;
    for (const l of [...this.listeners]) l(s);
  }
}
