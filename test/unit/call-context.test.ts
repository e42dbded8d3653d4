import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { LiveCallContext } from "../../src/cri/service.js";
import { createLogger } from "../../src/log.js";

/** What LiveCallContext uses of a grpc-js call: its "cancelled" event and flag. */
class FakeCall extends EventEmitter {
  cancelled = false;
  cancel() {
    this.cancelled = true;
    this.emit("cancelled", "cancelled");
  }
}

const log = createLogger("error");

describe("a call's context", () => {
  it("listens for cancellation only once a handler asks for its signal", () => {
    const call = new FakeCall();
    const ctx = new LiveCallContext(call, undefined, log);
    expect(call.listenerCount("cancelled")).toBe(0);
    const signal = ctx.signal;
    expect(call.listenerCount("cancelled")).toBe(1);
    expect(ctx.signal).toBe(signal);
    call.cancel();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("the client cancelled the call");
  });

  it("gives an aborted signal when the call was cancelled before the handler asked", () => {
    const call = new FakeCall();
    const ctx = new LiveCallContext(call, undefined, log);
    call.cancel();
    expect(ctx.signal.aborted).toBe(true);
  });

  it("stops listening when the call ends: grpc-js's close of a finished call aborts nothing", () => {
    const call = new FakeCall();
    const ctx = new LiveCallContext(call, Date.now() + 60_000, log);
    const signal = ctx.signal;
    ctx.end();
    expect(call.listenerCount("cancelled")).toBe(0);
    call.cancel();
    expect(signal.aborted).toBe(false);
  });

  it("aborts at the deadline, counted from when the call began", async () => {
    const ctx = new LiveCallContext(new FakeCall(), Date.now() + 30, log);
    await new Promise((r) => setTimeout(r, 20));
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("deadline exceeded");
    const late = new LiveCallContext(new FakeCall(), Date.now() - 1, log);
    const lateSignal = late.signal;
    await new Promise((r) => setTimeout(r, 5));
    expect(lateSignal.aborted).toBe(true);
  });
});
