import { describe, expect, it } from "vitest";
import { SkiffError } from "../../src/errors.js";
import { formatReference, parseReference } from "../../src/image-service/reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("image references", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["someone/app:v2", "docker.io/someone/app:v2"],
    ["index.docker.io/someone/app", "docker.io/someone/app:latest"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/a/b/c:tag", "localhost:5000/a/b/c:tag"],
    ["127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["[::1]:5000/app:x", "[::1]:5000/app:x"],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`quay.io/a/b:tag@${D}`, `quay.io/a/b:tag@${D}`],
    ["a__b/c-d.e_f:T_a.g-9", "docker.io/a__b/c-d.e_f:T_a.g-9"],
  ])("normalises %s", (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it("splits domain, path, tag and digest", () => {
    expect(parseReference(`127.0.0.1:5000/x/y:t@${D}`)).toEqual({ domain: "127.0.0.1:5000", path: "x/y", tag: "t", digest: D });
  });

  it.each([
    ["", "empty"],
    ["Busybox", "lowercase"],
    ["busybox:", "tag"],
    ["busybox:-bad", "tag"],
    [`busybox@sha256:${"a".repeat(63)}`, "digest"],
    ["busybox@md5:abc", "digest"],
    ["a//b", "component"],
    ["bad host!/x", "white space"],
    ["-leading/x", "component"],
    [":tag", "missing"],
    [`x/${"a".repeat(300)}`, "longer than"],
  ])("refuses %j with INVALID_ARGUMENT", (input, why) => {
    try {
      parseReference(input);
      throw new Error("accepted");
    } catch (err) {
      expect(err).toBeInstanceOf(SkiffError);
      expect((err as SkiffError).kind).toBe("invalid-argument");
      expect((err as Error).message).toContain(why);
    }
  });
});
