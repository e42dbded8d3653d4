import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { MAX_STATUS_MESSAGE, Status, toServiceError } from "../../src/cri/grpc-errors.js";
import { notFound } from "../../src/errors.js";
import { shorten } from "../../src/util/shorten.js";

describe("toServiceError", () => {
  it("keeps the kind's code and a short message whole", () => {
    expect(toServiceError(notFound("container abc not found"))).toMatchObject({ code: status.NOT_FOUND, message: "container abc not found" });
    expect(toServiceError(new Error("boom"))).toMatchObject({ code: status.INTERNAL, message: "boom" });
  });

  it("uses grpc's status code numbers", () => {
    const ours = Object.entries(Status).filter(([, v]) => typeof v === "number");
    expect(ours).toHaveLength(17);
    for (const [name, code] of ours) expect(status[name as keyof typeof status], name).toBe(code);
  });

  it("cuts a message that quotes megabytes of input to a bounded prefix", () => {
    const e = toServiceError(notFound(`container ${"a".repeat(512 * 1024)} not found`));
    expect(e.message.length).toBeLessThan(MAX_STATUS_MESSAGE + 64);
    expect(e.message).toMatch(/^container a+… \(\d+ more characters\)$/);
  });
});

describe("shorten", () => {
  it("leaves text that fits and says how much it cut", () => {
    expect(shorten("abc", 3)).toBe("abc");
    expect(shorten("abcdef", 3)).toBe("abc… (3 more characters)");
  });
});
