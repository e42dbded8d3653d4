import { describe, expect, it } from "vitest";
import { YoungCollector, type Collect } from "../../src/util/young-collection.js";

describe("YoungCollector", () => {
  it("asks for one minor collection per threshold's worth of bytes, and does nothing without gc exposed", () => {
    const calls: unknown[] = [];
    const c = new YoungCollector(1000, ((o) => calls.push(o)) as Collect);
    for (let i = 0; i < 25; i++) c.add(100);
    expect(calls).toEqual([{ type: "minor" }, { type: "minor" }]);
    c.add(5000);
    expect(calls).toHaveLength(3);
    expect(() => new YoungCollector(1, undefined).add(10)).not.toThrow();
  });
});
