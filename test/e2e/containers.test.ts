// Containers through the CRI socket: real conmon, runc and crun, overlay
// rootfs from pulled images, CRI log files, exit codes.

import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { busyboxImage, containerConfig, runContainer, startPod, waitExited } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { TestRegistry } from "./harness/registry.js";

const CRI_LINE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/;

for (const handler of ["runc", "crun"] as const) {
  describe(`containers (${handler})`, () => {
    let reg: TestRegistry;
    let d: TestDaemon;
    let image: string;
    beforeAll(async () => {
      reg = await TestRegistry.start();
      d = await TestDaemon.start({ config: { runtime: { default_handler: handler } } });
      image = await busyboxImage(reg, d);
    });
    afterEach(async () => {
      const { items } = await d.client.runtime.ListPodSandbox({});
      for (const p of items) await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: p.id });
    });
    afterAll(async () => {
      await d?.cleanup();
      await reg?.stop();
    });

    it("writes stdout and stderr to the CRI log file, tagging partial lines", async () => {
      const pod = await startPod(d, "logs");
      const long = "x".repeat(20_000);
      const id = await runContainer(d, pod, containerConfig("echo", image, { command: ["sh", "-c", `echo hello; echo oops >&2; printf 'no-newline'; echo; echo ${long}`] }));
      const s = await waitExited(d, id);
      expect(s).toMatchObject({ exit_code: 0, reason: "Completed", log_path: path.join(pod.logDir, "echo/0.log") });
      const lines = (await readFile(s.log_path, "utf8")).split("\n").filter(Boolean).map((l) => CRI_LINE.exec(l)!);
      expect(lines.every(Boolean)).toBe(true);
      for (const l of lines) expect(Number.isNaN(Date.parse(l[1]!))).toBe(false);
      const out = lines.filter((l) => l[2] === "stdout");
      expect(out[0]!.slice(3)).toEqual(["F", "hello"]);
      expect(lines.find((l) => l[2] === "stderr")!.slice(3)).toEqual(["F", "oops"]);
      // the long line arrives as partial (P) pieces followed by one full (F) piece
      const longParts = out.filter((l) => l[4]!.startsWith("x"));
      expect(longParts.length).toBeGreaterThan(1);
      expect(longParts.slice(0, -1).every((l) => l[3] === "P")).toBe(true);
      expect(longParts.at(-1)![3]).toBe("F");
      expect(longParts.map((l) => l[4]).join("")).toBe(long);
    });

    it("reports exit codes and reasons, and timestamps in order", async () => {
      const pod = await startPod(d, "codes");
      const failed = await waitExited(d, await runContainer(d, pod, containerConfig("three", image, { command: ["sh", "-c", "exit 3"] })));
      expect(failed).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 3, reason: "Error" });
      const ok = await waitExited(d, await runContainer(d, pod, containerConfig("true", image, { command: ["true"] })));
      expect(ok).toMatchObject({ exit_code: 0, reason: "Completed" });
      expect(BigInt(ok.created_at)).toBeGreaterThan(0n);
      expect(BigInt(ok.started_at)).toBeGreaterThanOrEqual(BigInt(ok.created_at));
      expect(BigInt(ok.finished_at)).toBeGreaterThanOrEqual(BigInt(ok.started_at));
      expect(ok.image_id).toMatch(/^sha256:/);
    });

    it("stops a SIGTERM-ignoring process with SIGKILL after the timeout", async () => {
      const pod = await startPod(d, "stubborn");
      const id = await runContainer(d, pod, containerConfig("ignore", image, { command: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"] }));
      const t0 = Date.now();
      await d.client.runtime.StopContainer({ container_id: id, timeout: "2" });
      const elapsed = Date.now() - t0;
      const s = (await d.client.runtime.ContainerStatus({ container_id: id })).status!;
      expect(s).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 137 });
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(10_000);
      // stopping again is fine
      await d.client.runtime.StopContainer({ container_id: id, timeout: "2" });
    });

    it("stops a process that handles SIGTERM at once, lists containers and removes them", async () => {
      const pod = await startPod(d, "polite");
      // PID 1 of a PID namespace only gets signals it handles, so this one handles TERM.
      const id = await runContainer(d, pod, containerConfig("sleeper", image, { command: ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"], labels: { role: "sleeper" } }));
      const created = (await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("later", image, { command: ["true"] }), sandbox_config: pod.config })).container_id;
      const ids = async (filter: object) => (await d.client.runtime.ListContainers({ filter })).containers.map((c) => c.id).sort();
      expect(await ids({ pod_sandbox_id: pod.id.slice(0, 10) })).toEqual([id, created].sort());
      expect(await ids({ state: { state: "CONTAINER_RUNNING" } })).toEqual([id]);
      expect(await ids({ state: { state: "CONTAINER_CREATED" } })).toEqual([created]);
      expect(await ids({ label_selector: { role: "sleeper" } })).toEqual([id]);
      expect(await ids({ id: id.slice(0, 12) })).toEqual([id]);

      const t0 = Date.now();
      await d.client.runtime.StopContainer({ container_id: id, timeout: "10" });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await d.client.runtime.ContainerStatus({ container_id: id })).status).toMatchObject({ exit_code: 7, reason: "Error" });
      expect(await ids({ state: { state: "CONTAINER_EXITED" } })).toEqual([id]);

      await d.client.runtime.RemoveContainer({ container_id: id });
      await d.client.runtime.RemoveContainer({ container_id: id });
      await d.client.runtime.RemoveContainer({ container_id: created });
      expect(await ids({})).toEqual([]);
      const err = await grpcError(d.client.runtime.ContainerStatus({ container_id: id }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(await readdir(path.join(d.root, "containers"))).toEqual(["records"]);
    });

    it("refuses containers with a duplicate name, an unknown image, or in a stopped pod", async () => {
      const pod = await startPod(d, "refuse");
      const config = containerConfig("dup", image, { command: ["sleep", "100"] });
      const first = (await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config })).container_id;
      let err = await grpcError(d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
      expect(err.details).toContain(first);
      err = await grpcError(d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("noimg", "nowhere/nothing:1"), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toContain('image "nowhere/nothing:1" not found');
      await d.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id });
      // stopping the pod stopped its container
      expect((await d.client.runtime.ContainerStatus({ container_id: first })).status!.state).toBe("CONTAINER_EXITED");
      err = await grpcError(d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("late", image), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      err = await grpcError(d.client.runtime.CreateContainer({ pod_sandbox_id: "f".repeat(64), config: containerConfig("x", image), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    });
  });
}
