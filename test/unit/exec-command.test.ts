import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { execCommand } from "../../src/util/exec.js";
import { childEnv, spawnProcess } from "../../src/util/spawn.js";

describe("execCommand", () => {
  it("writes the input while it reads the output: a megabyte through cat", async () => {
    const input = randomBytes(512 * 1024).toString("hex");
    const r = await execCommand("cat", [], { input });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(input.length);
    expect(r.stdout === input).toBe(true);
  });

  it("gives the exit code, stdout and stderr apart, and runs in the given cwd with the given environment", async () => {
    const r = await execCommand("sh", ["-c", 'echo "out $GREETING"; pwd; echo err >&2; exit 3'], { env: { PATH: process.env.PATH, GREETING: "hi" }, cwd: "/tmp" });
    expect(r).toEqual({ code: 3, stdout: "out hi\n/tmp\n", stderr: "err\n" });
  });

  it("reports a child killed by a signal with no exit code", async () => {
    const r = await execCommand("sh", ["-c", "kill -TERM $$"]);
    expect(r.code).toBeNull();
  });

  it("finishes when the child leaves its input unread", async () => {
    const r = await execCommand("true", [], { input: "x".repeat(4 * 1024 * 1024) });
    expect(r.code).toBe(0);
  });

  it("kills the command and what it started once the timeout passes", async () => {
    const started = Date.now();
    const r = await execCommand("sh", ["-c", "sleep 100 & sleep 100"], { timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.timedOut).toBe(true);
    expect(r.stderr).toContain("(killed after 200 ms)");
  });

  it("leaves no descriptor of ours open", async () => {
    const open = () => readdirSync("/proc/self/fd").length;
    await execCommand("true", []);
    const before = open();
    await Promise.all(Array.from({ length: 20 }, (_, i) => execCommand("sh", ["-c", `echo ${i}; echo ${i} >&2`], { input: "in" })));
    await execCommand("/nonexistent/helper", []).catch(() => undefined);
    expect(open()).toBe(before);
  });

  it("fails rather than give output cut short", async () => {
    await expect(execCommand("head", ["-c", "300000", "/dev/zero"], { maxOutputBytes: 100_000 })).rejects.toThrow(/head wrote more than 100000 bytes/);
    expect((await execCommand("head", ["-c", "100000", "/dev/zero"], { maxOutputBytes: 100_000 })).stdout.length).toBe(100_000);
  });

  it("fails with the program's name when it cannot be started", async () => {
    await expect(execCommand("/nonexistent/helper", [])).rejects.toThrow(/cannot run \/nonexistent\/helper/);
  });
});

describe("childEnv", () => {
  it("is the daemon's environment, with extra variables added in place of any of the same name, or the one given", () => {
    expect(childEnv({})).toContain(`PATH=${process.env.PATH}`);
    const extended = childEnv({ extraEnv: { _OCI_SYNCPIPE: "3", PATH: "/opt/bin" } });
    expect(extended.filter((e) => e.startsWith("PATH="))).toEqual(["PATH=/opt/bin"]);
    expect(extended).toContain("_OCI_SYNCPIPE=3");
    expect(extended.length).toBe(childEnv({}).length + 1);
    expect(childEnv({ env: { A: "1", B: undefined } })).toEqual(["A=1"]);
  });

  it("reaches the child: a spawned program sees the daemon's variables and the extra ones", async () => {
    const child = spawnProcess("sh", ["-c", 'test "$HOME" = "$EXPECT_HOME" && test "$EXTRA" = yes'], { stdio: ["ignore", "ignore", "ignore"], extraEnv: { EXTRA: "yes", EXPECT_HOME: process.env.HOME ?? "" } });
    expect((await child.exited).code).toBe(0);
  });
});
