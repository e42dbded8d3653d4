// The default runtime handler: crun where it can run, runc (said in the log
// and in Status) where it cannot, and never replaced when the config names it.
// The e2e global set-up frees the hybrid cgroup controllers crun refuses, so
// crun can run here; a handler path that does not exist stands in for a host
// without crun.

import { execFileSync } from "node:child_process";
import { appendFile, copyFile, readdir, readFile, readlink, rename } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { busyboxImage, containerConfig, runContainer, startPod } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { removeAllPods } from "./harness/pods.js";
import { TestRegistry } from "./harness/registry.js";
import { fixtureDir } from "./harness/run-dir.js";

async function handlerInfo(d: TestDaemon): Promise<{ default: string; defaultFallback?: string; sealedCopies: Record<string, string> }> {
  const res = await d.client.runtime.Status({ verbose: true });
  return JSON.parse(res.info.runtimeHandlers!);
}

/** A registry for a describe's tests, and the daemon each test starts (its pods removed and itself stopped after it). */
function useFixture(): { reg: TestRegistry; d?: TestDaemon } {
  const f = {} as { reg: TestRegistry; d?: TestDaemon };
  beforeAll(async () => {
    f.reg = await TestRegistry.start();
  });
  afterEach(async () => {
    if (f.d) await removeAllPods(f.d);
    await f.d?.cleanup();
    f.d = undefined;
  });
  afterAll(async () => {
    await f.reg?.stop();
  });
  return f;
}

describe("default runtime handler", () => {
  const f = useFixture();

  it("is crun when the config names none and crun can run: a pod without a handler runs on it", async () => {
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: undefined } } }));
    expect(await handlerInfo(d)).toMatchObject({ default: "crun" });
    expect((await handlerInfo(d)).defaultFallback).toBeUndefined();
    const image = await busyboxImage(f.reg, d);
    const pod = await startPod(d, "default-crun");
    const id = await runContainer(d, pod, containerConfig("c", image, { command: ["sleep", "100"] }));
    expect(await readdir(path.join(d.state, "crun"))).toContain(id);
    expect(await readdir(path.join(d.state, "runc")).catch(() => [])).not.toContain(id);
    expect((await d.client.runtime.ListPodSandbox({})).items[0]!.runtime_handler).toBe("");
  });

  it("falls back to runc where crun cannot run, and says why in the log and in Status", async () => {
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: undefined, handlers: { crun: { path: "/nonexistent/bin/crun" } } } } }));
    const info = await handlerInfo(d);
    expect(info.default).toBe("runc");
    expect(info.defaultFallback).toMatch(/default handler crun cannot run here \("\/nonexistent\/bin\/crun" not found\); pods without a runtime handler use runc/);
    expect(await readFile(d.logFile, "utf8")).toContain("default handler crun cannot run here");
    const ready = (await d.client.runtime.Status({})).status!.conditions.find((c) => c.type === "RuntimeReady")!;
    expect(ready.status).toBe(true);
    const image = await busyboxImage(f.reg, d);
    const pod = await startPod(d, "default-fallback");
    const id = await runContainer(d, pod, containerConfig("c", image, { command: ["sleep", "100"] }));
    expect(await readdir(path.join(d.state, "runc"))).toContain(id);
  });

  it("is never replaced when the config names it: a missing crun then makes the runtime not ready", async () => {
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: "crun", handlers: { crun: { path: "/nonexistent/bin/crun" } } } } }));
    expect(await handlerInfo(d)).toMatchObject({ default: "crun" });
    const ready = (await d.client.runtime.Status({})).status!.conditions.find((c) => c.type === "RuntimeReady")!;
    expect(ready).toMatchObject({ status: false, reason: "RuntimeBinaryNotFound" });
    expect(ready.message).toContain("/nonexistent/bin/crun");
  });
});

/**
 * The crun process that runs an ExecSync of `sleep` in container `id`: its
 * executable and its name, looked up in /proc while the exec runs.
 */
async function crunOfExec(d: TestDaemon, id: string): Promise<{ exe: string; comm: string }> {
  const exec = d.client.runtime.ExecSync({ container_id: id, cmd: ["sleep", "1"], timeout: 10 });
  try {
    for (let tries = 0; tries < 50; tries++) {
      for (const pid of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
        if (!argv.includes("exec") || !argv.includes(id) || !argv.includes("--process")) continue;
        const [exe, comm] = await Promise.all([readlink(`/proc/${pid}/exe`).catch(() => ""), readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")]);
        if (exe) return { exe, comm: comm.trim() };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no crun exec process of container ${id} seen`);
  } finally {
    expect((await exec).exit_code).toBe(0);
  }
}

describe("crun from a sealed copy of its binary", () => {
  const f = useFixture();

  async function crunContainer(d: TestDaemon, name: string): Promise<string> {
    const image = await busyboxImage(f.reg, d);
    const pod = await startPod(d, name);
    return runContainer(d, pod, containerConfig("c", image, { command: ["sleep", "100"] }));
  }

  it("runs crun (create, start, exec) from a sealed memfd, named crun in ps, and says so in Status and the log", async () => {
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: "crun" } } }));
    const crun = (await handlerInfo(d)).sealedCopies.crun;
    expect(crun).toMatch(/^\/.*\/crun$/);
    expect(await readFile(d.logFile, "utf8")).toContain("handler runs from a sealed in-memory copy of its binary");
    const id = await crunContainer(d, "sealed");
    // conmon ran `crun create` through the link (crun start and exec are skiff's own runs of it).
    const link = path.join(d.state, "sealed", "crun", "crun");
    const conmons = await Promise.all((await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")));
    const conmon = conmons.map((c) => c.split("\0")).find((argv) => /conmon$/.test(argv[0]!) && argv.includes(id))!;
    expect(conmon[conmon.indexOf("-r") + 1]).toBe(link);
    const seen = await crunOfExec(d, id);
    expect(seen.exe).toBe(`/memfd:skiff sealed copy of ${crun} (deleted)`);
    expect(seen.comm).toBe("crun");
    // Sealed: nobody, root included, can change what the next call runs.
    await expect(appendFile(link, "#!/bin/sh\n")).rejects.toThrow(/EPERM|operation not permitted/i);
    expect((await d.client.runtime.ContainerStatus({ container_id: id })).status!.state).toBe("CONTAINER_RUNNING");
  });

  it("runs crun from disk with runtime.sealed_copy = false", async () => {
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: "crun", sealed_copy: false } } }));
    expect((await handlerInfo(d)).sealedCopies).toEqual({});
    const id = await crunContainer(d, "unsealed");
    // crun's own guard then runs it from a detached read-only bind mount of itself ("/" to readlink).
    expect((await crunOfExec(d, id)).exe).not.toMatch(/memfd/);
  });

  it("follows the binary on disk: a replaced crun (an upgrade) is copied again before the next call", async () => {
    const bin = path.join(await fixtureDir("crun-bin"), "crun");
    await copyFile(execFileSync("sh", ["-c", "command -v crun"], { encoding: "utf8" }).trim(), bin);
    const d = (f.d = await TestDaemon.start({ config: { runtime: { default_handler: "crun", handlers: { crun: { path: bin } } } } }));
    expect((await handlerInfo(d)).sealedCopies).toEqual({ crun: bin });
    const link = path.join(d.state, "sealed", "crun", "crun");
    const before = await readlink(link);
    const id = await crunContainer(d, "upgraded");
    // As a package manager does it: a new file renamed over the old one.
    await copyFile(bin, `${bin}.new`);
    await rename(`${bin}.new`, bin);
    expect((await crunOfExec(d, id)).exe).toBe(`/memfd:skiff sealed copy of ${bin} (deleted)`);
    const after = await readlink(link);
    expect(after).not.toBe(before);
    expect(after).toMatch(new RegExp(`^/proc/${d.pid}/fd/\\d+$`));
  });
});
