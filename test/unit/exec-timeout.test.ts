import { describe, expect, it } from "vitest";
import { execTimeoutMs } from "../../src/cri/handlers/containers.js";

describe("execTimeoutMs", () => {
  const now = 1_000_000;
  it("is the request's timeout when the call has no nearer deadline", () => {
    expect(execTimeoutMs(5, undefined, now)).toBe(5000);
    expect(execTimeoutMs(5, now + 125_000, now)).toBe(5000); // cri-client: timeout + 2 min
  });
  it("ends before a nearer call deadline, leaving time for the reply", () => {
    expect(execTimeoutMs(60, now + 1500, now)).toBe(1300);
    expect(execTimeoutMs(0, now + 1500, now)).toBe(1300);
    expect(execTimeoutMs(60, now + 50, now)).toBe(1);
  });
  it("is 0 (no bound) with neither", () => {
    expect(execTimeoutMs(0, undefined, now)).toBe(0);
  });
});
