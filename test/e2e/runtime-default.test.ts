// The default runtime handler: crun where it can run, runc (said in the log
// and in Status) where it cannot, and never replaced when the config names it.
// The e2e global set-up frees the hybrid cgroup controllers crun refuses, so
// crun can run here; a handler path that does not exist stands in for a host
// without crun.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { busyboxImage, containerConfig, runContainer, startPod } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { removeAllPods } from "./harness/pods.js";
import { TestRegistry } from "./harness/registry.js";

async function handlerInfo(d: TestDaemon): Promise<{ default: string; defaultFallback?: string }> {
  const res = await d.client.runtime.Status({ verbose: true });
  return JSON.parse(res.info.runtimeHandlers!);
}

describe("default runtime handler", () => {
  let reg: TestRegistry;
  let d: TestDaemon | undefined;
  beforeAll(async () => {
    reg = await TestRegistry.start();
  });
  afterEach(async () => {
    if (d) await removeAllPods(d);
    await d?.cleanup();
    d = undefined;
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("is crun when the config names none and crun can run: a pod without a handler runs on it", async () => {
    d = await TestDaemon.start({ config: { runtime: { default_handler: undefined } } });
    expect(await handlerInfo(d)).toMatchObject({ default: "crun" });
    expect((await handlerInfo(d)).defaultFallback).toBeUndefined();
    const image = await busyboxImage(reg, d);
    const pod = await startPod(d, "default-crun");
    const id = await runContainer(d, pod, containerConfig("c", image, { command: ["sleep", "100"] }));
    expect(await readdir(path.join(d.state, "crun"))).toContain(id);
    expect(await readdir(path.join(d.state, "runc")).catch(() => [])).not.toContain(id);
    expect((await d.client.runtime.ListPodSandbox({})).items[0]!.runtime_handler).toBe("");
  });

  it("falls back to runc where crun cannot run, and says why in the log and in Status", async () => {
    d = await TestDaemon.start({ config: { runtime: { default_handler: undefined, handlers: { crun: { path: "/nonexistent/bin/crun" } } } } });
    const info = await handlerInfo(d);
    expect(info.default).toBe("runc");
    expect(info.defaultFallback).toMatch(/default handler crun cannot run here \("\/nonexistent\/bin\/crun" not found\); pods without a runtime handler use runc/);
    expect(await readFile(d.logFile, "utf8")).toContain("default handler crun cannot run here");
    const ready = (await d.client.runtime.Status({})).status!.conditions.find((c) => c.type === "RuntimeReady")!;
    expect(ready.status).toBe(true);
    const image = await busyboxImage(reg, d);
    const pod = await startPod(d, "default-fallback");
    const id = await runContainer(d, pod, containerConfig("c", image, { command: ["sleep", "100"] }));
    expect(await readdir(path.join(d.state, "runc"))).toContain(id);
  });

  it("is never replaced when the config names it: a missing crun then makes the runtime not ready", async () => {
    d = await TestDaemon.start({ config: { runtime: { default_handler: "crun", handlers: { crun: { path: "/nonexistent/bin/crun" } } } } });
    expect(await handlerInfo(d)).toMatchObject({ default: "crun" });
    const ready = (await d.client.runtime.Status({})).status!.conditions.find((c) => c.type === "RuntimeReady")!;
    expect(ready).toMatchObject({ status: false, reason: "RuntimeBinaryNotFound" });
    expect(ready.message).toContain("/nonexistent/bin/crun");
  });
});
