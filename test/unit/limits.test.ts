import { describe, expect, it } from "vitest";
import { checkRequestLimits, MAX_ARGV_BYTES, MAX_MAP_BYTES, MAX_PATH, MAX_TEXT } from "../../src/cri/limits.js";

const fails = (req: unknown) => {
  try {
    checkRequestLimits("Rpc", req);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
};

describe("checkRequestLimits", () => {
  it("takes ids and prefixes of up to 64 characters, leaving unknown ones to the lookups", () => {
    expect(fails({ container_id: "a".repeat(64) })).toBeUndefined();
    expect(fails({ container_id: "" })).toBeUndefined();
    expect(fails({ filter: { id: "0123abc" } })).toBeUndefined();
    expect(fails({ pod_sandbox_id: "nothing" })).toBeUndefined(); // NOT_FOUND, from the store
    expect(fails({ container_id: "a".repeat(65) })).toBe("Rpc: container_id is 65 characters long; an id or a prefix of one has at most 64");
    expect(fails({ config: { linux: { security_context: { namespace_options: { target_id: "x".repeat(100) } } } } })).toMatch(/^Rpc: config\.linux\.security_context\.namespace_options\.target_id is 100/);
    expect(fails({ container_id: "ab\0cd" })).toMatch(/NUL/);
  });

  it("bounds paths at PATH_MAX and names at Kubernetes' 253, at the limit and one past it", () => {
    expect(fails({ config: { log_path: "a".repeat(MAX_PATH) } })).toBeUndefined();
    expect(fails({ config: { log_path: "a".repeat(MAX_PATH + 1) } })).toBe(`Rpc: config.log_path is ${MAX_PATH + 1} bytes long; at most ${MAX_PATH} are accepted`);
    expect(fails({ config: { metadata: { name: "n".repeat(253) } } })).toBeUndefined();
    expect(fails({ config: { metadata: { name: "n".repeat(254) } } })).toMatch(/config\.metadata\.name is 254 bytes/);
    expect(fails({ config: { mounts: [{ host_path: "/", container_path: "/x".repeat(3000) }] } })).toMatch(/config\.mounts\[0\]\.container_path/);
  });

  it("bounds an image reference and any other text", () => {
    expect(fails({ image: { image: "r/".repeat(600) } })).toMatch(/image\.image is 1200 bytes/);
    expect(fails({ auth: { password: "p".repeat(MAX_TEXT + 1) } })).toMatch(/auth\.password/);
  });

  it("bounds command + args and the environment as wholes, not item by item", () => {
    expect(fails({ config: { args: ["x".repeat(MAX_ARGV_BYTES / 2), "y".repeat(MAX_ARGV_BYTES / 2)] } })).toBeUndefined();
    expect(fails({ config: { args: ["x".repeat(MAX_ARGV_BYTES / 2), "y".repeat(MAX_ARGV_BYTES / 2 + 1)] } })).toMatch(/config\.args is \d+ bytes/);
    const envs = Array.from({ length: 20 }, (_, i) => ({ key: `K${i}`, value: Buffer.alloc(MAX_ARGV_BYTES / 16) }));
    expect(fails({ config: { envs } })).toMatch(/config\.envs is \d+ bytes/);
  });

  it("bounds labels and annotations by their total size", () => {
    const big = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, "v".repeat(1000)]));
    expect(fails({ config: { annotations: big } })).toBeUndefined();
    const bigger = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, "v".repeat(MAX_MAP_BYTES / 256)]));
    expect(fails({ config: { annotations: bigger } })).toMatch(/config\.annotations is \d+ bytes/);
  });

  it("refuses NUL bytes in text, list items and map entries", () => {
    expect(fails({ config: { working_dir: "/a\0b" } })).toBe("Rpc: config.working_dir contains a NUL byte");
    expect(fails({ cmd: ["sh", "-c", "echo\0"] })).toBe("Rpc: cmd[2] contains a NUL byte");
    expect(fails({ config: { labels: { "a\0": "b" } } })).toMatch(/config\.labels key contains a NUL byte/);
  });

  it("leaves enums, numbers, byte fields and unset messages alone", () => {
    expect(fails({ config: { linux: null, stop_signal: "SIGTERM", attempt: 3, envs: [{ key: "A", value: Buffer.from([0, 1, 2]) }] }, timeout: "30" })).toBeUndefined();
  });
});
