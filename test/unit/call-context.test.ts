import { describe, expect, it } from "vitest";
import { LiveCallContext, type CallControl } from "../../src/cri/service.js";
import { createLogger } from "../../src/log.js";

/** A transport's call, as LiveCallContext uses it. */
class FakeCall implements CallControl {
  cancelled = false;
  private listeners: (() => void)[] = [];
  constructor(readonly deadline?: number) {}
  onCancel(l: () => void) {
    this.listeners.push(l);
  }
  offCancel(l: () => void) {
    this.listeners = this.listeners.filter((x) => x !== l);
  }
  listenerCount() {
    return this.listeners.length;
  }
  cancel() {
    this.cancelled = true;
    for (const l of this.listeners) l();
  }
}

const log = createLogger("error");

describe("a call's context", () => {
  it("listens for cancellation only once a handler asks for its signal", () => {
    const call = new FakeCall();
    const ctx = new LiveCallContext(call, log);
    expect(call.listenerCount()).toBe(0);
    const signal = ctx.signal;
    expect(call.listenerCount()).toBe(1);
    expect(ctx.signal).toBe(signal);
    call.cancel();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("the client cancelled the call");
  });

  it("gives an aborted signal when the call was cancelled before the handler asked", () => {
    const call = new FakeCall();
    const ctx = new LiveCallContext(call, log);
    call.cancel();
    expect(ctx.signal.aborted).toBe(true);
  });

  it("stops listening when the call ends: a later cancellation aborts nothing", () => {
    const call = new FakeCall(Date.now() + 60_000);
    const ctx = new LiveCallContext(call, log);
    const signal = ctx.signal;
    ctx.end();
    expect(call.listenerCount()).toBe(0);
    call.cancel();
    expect(signal.aborted).toBe(false);
  });

  it("aborts at the deadline, counted from when the call began", async () => {
    const ctx = new LiveCallContext(new FakeCall(Date.now() + 30), log);
    await new Promise((r) => setTimeout(r, 20));
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("deadline exceeded");
    const late = new LiveCallContext(new FakeCall(Date.now() - 1), log);
    const lateSignal = late.signal;
    await new Promise((r) => setTimeout(r, 5));
    expect(lateSignal.aborted).toBe(true);
  });
});
