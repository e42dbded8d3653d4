// Fan-out of events to subscribers, each with a bounded queue: every
// subscriber gets every event in order; one that falls more than `capacity`
// events behind is ended with an error instead of slowing the others or
// growing without bound. Ending a subscription frees it at once.

export class SubscriberTooSlowError extends Error {}

export class Subscription<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiter?: (r: IteratorResult<T>) => void;
  private failure?: Error;
  private closed = false;

  constructor(
    private readonly capacity: number,
    private readonly onClose: (s: Subscription<T>) => void,
  ) {}

  push(event: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.capacity) {
      this.failure = new SubscriberTooSlowError(`the subscriber fell more than ${this.capacity} events behind; subscribe again and list to resynchronise`);
      this.close();
      return;
    }
    this.queue.push(event);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const queued = this.queue.shift();
        if (queued !== undefined) return Promise.resolve({ value: queued, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export class EventBus<T> {
  private readonly subscribers = new Set<Subscription<T>>();

  constructor(private readonly capacity = 1000) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  subscribe(): Subscription<T> {
    const s = new Subscription<T>(this.capacity, (sub) => this.subscribers.delete(sub));
    this.subscribers.add(s);
    return s;
  }

  publish(event: T): void {
    for (const s of this.subscribers) s.push(event);
  }
}
