// Malformed and oversized requests, and bursts of them: every call gets a
// status within a short deadline, the right code, and the daemon stays the
// same process throughout.

import { describe, expect, it } from "vitest";
import { MAX_ARGV_BYTES, MAX_MAP_BYTES, MAX_PATH } from "../../src/cri/limits.js";
import { grpc } from "./harness/cri-client.js";
import { containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { podConfig } from "./harness/pods.js";

const KiB = 1024;
const hex64 = "f".repeat(64);
const code = (n: number) => grpc.status[n];

type Call = { rpc: string; req: object; expect: number };

/** Calls `rpc` with a 5 s deadline; resolves to the status code, whatever it is. */
function statusOf(client: grpc.Client, rpc: string, req: object): Promise<number> {
  return new Promise((resolve) => {
    (client as unknown as Record<string, (r: object, o: object, cb: (e: grpc.ServiceError | null) => void) => void>)[rpc]!(req, { deadline: Date.now() + 5000 }, (err) =>
      resolve(err ? err.code : grpc.status.OK),
    );
  });
}

describe("bad input", () => {
  const f = useContainerDaemon({}, { keepPods: true });

  it("answers every malformed or oversized request with the right code, quickly, without restarting", async () => {
    const pid = f.d.pid;
    const pod = await startPod(f.d, "bad-input");
    const id = await runContainer(f.d, pod, containerConfig("c", f.image, { command: ["sleep", "300"] }));
    const ctr = (extra: object) => ({ pod_sandbox_id: pod.id, config: containerConfig("x", f.image, extra), sandbox_config: pod.config });
    const { INVALID_ARGUMENT: INVALID, NOT_FOUND, OK } = grpc.status;
    const calls: Call[] = [
      // ids: at the limit (unknown: NOT_FOUND; idempotent calls: OK), past it, not hex, huge, NUL, traversal
      { rpc: "ContainerStatus", req: { container_id: hex64 }, expect: NOT_FOUND },
      { rpc: "ContainerStatus", req: { container_id: `${hex64}f` }, expect: INVALID },
      { rpc: "ContainerStatus", req: { container_id: "a".repeat(512 * KiB) }, expect: INVALID },
      { rpc: "ContainerStatus", req: { container_id: "../../etc/passwd" }, expect: NOT_FOUND }, // a lookup in memory, never a path
      { rpc: "ContainerStatus", req: { container_id: "ab\0cd" }, expect: INVALID },
      { rpc: "PodSandboxStatus", req: { pod_sandbox_id: "Z".repeat(128 * KiB) }, expect: INVALID },
      { rpc: "StopContainer", req: { container_id: hex64, timeout: "0" }, expect: OK },
      { rpc: "RemoveContainer", req: { container_id: "x".repeat(1024 * KiB) }, expect: INVALID },
      { rpc: "RemovePodSandbox", req: { pod_sandbox_id: hex64 }, expect: OK },
      { rpc: "UpdateContainerResources", req: { container_id: "u".repeat(512 * KiB), linux: {} }, expect: INVALID },
      { rpc: "ReopenContainerLog", req: { container_id: "r".repeat(512 * KiB) }, expect: INVALID },
      { rpc: "ListContainers", req: { filter: { id: "q".repeat(100 * KiB) } }, expect: INVALID },
      // ExecSync: command bytes at and past the limit, NUL
      { rpc: "ExecSync", req: { container_id: id, cmd: ["true", "x".repeat(MAX_ARGV_BYTES - 10)], timeout: 10 }, expect: OK },
      { rpc: "ExecSync", req: { container_id: id, cmd: ["true", "x".repeat(MAX_ARGV_BYTES)], timeout: 10 }, expect: INVALID },
      { rpc: "ExecSync", req: { container_id: id, cmd: ["sh", "-c", "echo a\0b"], timeout: 10 }, expect: INVALID },
      // CreateContainer
      { rpc: "CreateContainer", req: ctr({ metadata: { name: "n".repeat(254), attempt: 0 } }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ log_path: "../../escape.log" }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ log_path: `${"d/".repeat(MAX_PATH / 2)}x` }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ annotations: { big: "a".repeat(MAX_MAP_BYTES) } }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ envs: [{ key: "BIG", value: Buffer.alloc(MAX_ARGV_BYTES + 1, 0x61) }] }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ mounts: [{ host_path: "/tmp\0x", container_path: "/x" }] }), expect: INVALID },
      { rpc: "CreateContainer", req: ctr({ command: ["sh", "-c", "x".repeat(MAX_ARGV_BYTES)] }), expect: INVALID },
      // RunPodSandbox
      { rpc: "RunPodSandbox", req: { config: podConfig("h", { hostname: "h".repeat(128 * KiB) }) }, expect: INVALID },
      { rpc: "RunPodSandbox", req: { config: podConfig("n".repeat(1024 * KiB)) }, expect: INVALID },
      { rpc: "RunPodSandbox", req: { config: podConfig("l", { log_directory: `/${"l".repeat(MAX_PATH)}` }) }, expect: INVALID },
      { rpc: "RunPodSandbox", req: { config: podConfig("e", { linux: { security_context: { namespace_options: { network: 99 as unknown as "POD" } } } }) }, expect: INVALID }, // an unknown enum number
      { rpc: "RunPodSandbox", req: { config: podConfig("s", { linux: { sysctls: { "net.ipv4.ping_group_range": "1".repeat(1024 * KiB) } } }) }, expect: INVALID },
    ];
    const imageCalls: Call[] = [
      { rpc: "PullImage", req: { image: { image: `r/${"x".repeat(512 * KiB)}` } }, expect: INVALID },
      { rpc: "ImageStatus", req: { image: { image: "x".repeat(128 * KiB) } }, expect: INVALID },
      { rpc: "RemoveImage", req: { image: { image: "x\0y" } }, expect: INVALID },
    ];
    const seen: string[] = [];
    for (const [client, list] of [
      [f.d.client.rawRuntime, calls],
      [f.d.client.rawImage, imageCalls],
    ] as const) {
      for (const c of list) {
        const got = await statusOf(client, c.rpc, c.req);
        seen.push(`${c.rpc} ${JSON.stringify(c.req).slice(0, 60)}: ${code(got)}`);
        expect(code(got), seen.at(-1)).toBe(code(c.expect));
      }
    }

    // A body that is not a protobuf message at all: answered (INTERNAL, as grpc-go servers do), not left hanging.
    const raw = new grpc.Client(`unix://${f.d.socket}`, grpc.credentials.createInsecure());
    const garbage = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest(
        "/runtime.v1.RuntimeService/ContainerStatus",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
        { deadline: Date.now() + 5000 },
        (err) => resolve(err ? err.code : grpc.status.OK),
      ),
    );
    raw.close();
    expect(code(garbage)).toBe("INTERNAL");

    // Nothing was made by the refused calls, and the daemon is the same process.
    expect((await f.d.client.runtime.ListContainers({})).containers.map((c) => c.id)).toEqual([id]);
    expect((await f.d.client.runtime.ListPodSandbox({})).items.map((p) => p.id)).toEqual([pod.id]);
    expect(f.d.pid).toBe(pid);
    expect((await f.d.client.runtime.Version({})).runtime_name).toBe("skiff");
    await f.d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
  });

  it("answers every call of a burst of 200 concurrent mixed calls, oversized ones among them, over one connection", async () => {
    const pod = await startPod(f.d, "burst");
    const id = await runContainer(f.d, pod, containerConfig("c", f.image, { command: ["sleep", "300"] }));
    // One connection, as kubelet makes all its calls over one.
    const rt = f.d.client.rawRuntime;
    const im = f.d.client.rawImage;
    const kinds: [grpc.Client, string, object, number][] = [
      [rt, "ListContainers", {}, grpc.status.OK],
      [rt, "ListPodSandbox", {}, grpc.status.OK],
      [rt, "ContainerStatus", { container_id: id }, grpc.status.OK],
      [rt, "PodSandboxStatus", { pod_sandbox_id: pod.id }, grpc.status.OK],
      [rt, "ExecSync", { container_id: id, cmd: ["echo", "hi"], timeout: 20 }, grpc.status.OK],
      [rt, "ContainerStatus", { container_id: "a".repeat(256 * KiB) }, grpc.status.INVALID_ARGUMENT],
      [rt, "ListContainerStats", {}, grpc.status.OK],
      [im, "ImageStatus", { image: { image: f.image } }, grpc.status.OK],
      [im, "ListImages", {}, grpc.status.OK],
      [rt, "Status", {}, grpc.status.OK],
    ];
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => kinds[i % kinds.length]!).map(([client, rpc, req, want]) => statusOf(client, rpc, req).then((got) => ({ rpc, got, want }))));
    // Each call had a 5 s deadline: a late one would show as DEADLINE_EXCEEDED here.
    for (const r of results) expect(code(r.got), r.rpc).toBe(code(r.want));
    await f.d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
  });
});
