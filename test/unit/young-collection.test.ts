import { describe, expect, it } from "vitest";
import { YoungCollector, type Collect } from "../../src/util/young-collection.js";

describe("YoungCollector", () => {
  it("asks for one minor collection per threshold's worth of bytes, and does nothing without gc exposed", () => {
    const calls: unknown[] = [];
    const c = new YoungCollector({ everyBytes: 1000, collect: ((o) => calls.push(o)) as Collect });
    for (let i = 0; i < 25; i++) c.add(100);
    expect(calls).toEqual([{ type: "minor" }, { type: "minor" }]);
    c.add(5000);
    expect(calls).toHaveLength(3);
    expect(() => new YoungCollector({ everyBytes: 1, collect: undefined }).add(10)).not.toThrow();
  });

  it("releases the freed memory after every releaseEvery collections, with or without gc exposed", () => {
    const order: string[] = [];
    const c = new YoungCollector({ everyBytes: 10, collect: () => order.push("collect"), release: () => order.push("release"), releaseEvery: 3 });
    for (let i = 0; i < 7; i++) c.add(10);
    expect(order).toEqual(["collect", "collect", "collect", "release", "collect", "collect", "collect", "release", "collect"]);
    let released = 0;
    const bare = new YoungCollector({ everyBytes: 1, collect: undefined, release: () => released++, releaseEvery: 2 });
    for (let i = 0; i < 4; i++) bare.add(1);
    expect(released).toBe(2);
  });
});
