import { describe, expect, it } from "vitest";
import { EventBus, SubscriberTooSlowError } from "../../src/util/event-bus.js";

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push((await it.next()).value as T);
  return out;
}

describe("event bus", () => {
  it("delivers every event to every subscriber, in order", async () => {
    const bus = new EventBus<number>();
    const a = bus.subscribe()[Symbol.asyncIterator]();
    const b = bus.subscribe()[Symbol.asyncIterator]();
    const pending = a.next(); // a waiting reader gets the event directly
    for (const n of [1, 2, 3]) bus.publish(n);
    expect((await pending).value).toBe(1);
    expect(await take(a, 2)).toEqual([2, 3]);
    expect(await take(b, 3)).toEqual([1, 2, 3]);
  });

  it("ends a subscriber that falls behind its bound with an error, without affecting others", async () => {
    const bus = new EventBus<number>(2);
    const slow = bus.subscribe();
    const fast = bus.subscribe()[Symbol.asyncIterator]();
    const got: number[] = [];
    for (const n of [1, 2, 3]) {
      bus.publish(n);
      got.push((await fast.next()).value as number);
    }
    expect(got).toEqual([1, 2, 3]);
    const it = slow[Symbol.asyncIterator]();
    expect(await take(it, 2)).toEqual([1, 2]);
    await expect(it.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
    expect(bus.subscriberCount).toBe(1);
  });

  it("frees a subscription when it is closed, ending its iteration", async () => {
    const bus = new EventBus<number>();
    const s = bus.subscribe();
    const it = s[Symbol.asyncIterator]();
    const pending = it.next();
    s.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(bus.subscriberCount).toBe(0);
    bus.publish(1); // nobody left: nothing happens
  });
});
