import { describe, expect, it } from "vitest";
import { parseCidr } from "../../src/util/cidr.js";

describe("parseCidr", () => {
  it("parses IPv4 and IPv6 CIDRs", () => {
    expect(parseCidr("10.85.0.0/16")).toEqual({ address: "10.85.0.0", prefix: 16, family: 4 });
    expect(parseCidr("fd00::/64")).toEqual({ address: "fd00::", prefix: 64, family: 6 });
  });
  it.each(["10.85.0.0", "10.85.0.0/33", "10.85.0/16", "x/8", "10.0.0.0/-1", "10.0.0.0/1a", "fd00::/129", ""])("rejects %j", (s) => {
    expect(parseCidr(s)).toBeUndefined();
  });
});
