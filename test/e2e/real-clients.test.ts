// What the installed base of CRI clients sends and expects, through a real
// daemon: every :authority form that grpc-go, C-core and grpc-java clients put
// on a unix socket (none at all: grpc-transport.test.ts), for unary calls, a
// server stream and a reply over 4 MiB; and the behaviours critest v1.28
// checks that skiff once got wrong (hostname of a pod without one, long pod
// names, ExecSync timeout, run_as_group alone).

import os from "node:os";
import { describe, expect, it } from "vitest";
import { loadCri } from "../../src/cri/client-proto.js";
import type { ContainerEventResponse__Output } from "../../src/cri/generated/runtime/v1/ContainerEventResponse.js";
import { grpc, grpcError } from "./harness/cri-client.js";
import { containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { podConfig } from "./harness/pods.js";
import { waitFor } from "./harness/processes.js";

const MiB = 1024 * 1024;

/** A grpc-js client that sends `authority` as :authority (grpc-js itself never validates it). */
function clientWithAuthority(socket: string, authority: string) {
  const cri = loadCri().runtime.v1;
  return new cri.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure(), {
    "grpc.default_authority": authority,
    "grpc.max_receive_message_length": 16 * MiB,
  }) as unknown as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
}

function unary<T>(client: grpc.Client & Record<string, (...a: unknown[]) => unknown>, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method]!(req, { deadline: Date.now() + 20_000 }, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

describe("real clients' :authority on the CRI socket", () => {
  const f = useContainerDaemon({}, { keepPods: true });

  it("answers unary calls, a server stream and a 5 MB reply for every authority form", async () => {
    const socket = f.d.socket;
    const forms = {
      "socket path (grpc-go before 1.30, grpc-java)": socket,
      "percent-encoded path (C-core 1.57+)": encodeURIComponent(socket),
      "localhost (newer grpc-go)": "localhost",
      "bare name": "skiff",
    };
    const clients = Object.entries(forms).map(([label, authority]) => ({ label, client: clientWithAuthority(socket, authority) }));
    try {
      // Unary, several times per connection: the client's HPACK dynamic table is in play from the second call.
      for (const { label, client } of clients) {
        for (let i = 0; i < 3; i++) {
          const v = await unary<{ runtime_name: string }>(client, "Version", {}).catch((e: Error) => {
            throw new Error(`${label}: ${e.message}`);
          });
          expect(v.runtime_name).toBe("skiff");
        }
      }

      // A server stream on each connection gets a container's events.
      const streams = clients.map(({ label, client }) => {
        const events: ContainerEventResponse__Output[] = [];
        const errors: Error[] = [];
        const s = (client as unknown as { GetContainerEvents(r: object): grpc.ClientReadableStream<ContainerEventResponse__Output> }).GetContainerEvents({});
        s.on("data", (e) => events.push(e));
        s.on("error", (e: Error) => errors.push(e));
        return { label, s, events, errors };
      });
      await waitFor("every stream subscribed", async () => {
        const st = await f.d.client.runtime.Status({ verbose: true });
        return Number(st.info.eventSubscribers) === clients.length ? true : undefined;
      });
      const pod = await startPod(f.d, "authority");
      const id = await runContainer(f.d, pod, containerConfig("big", f.image, { command: ["sleep", "300"] }));
      for (const st of streams) {
        await waitFor(`${st.label}: the container's events`, async () => {
          if (st.errors.length) throw new Error(`${st.label}: ${st.errors[0]!.message}`);
          return st.events.some((e) => e.container_id === id && e.container_event_type === "CONTAINER_STARTED_EVENT") ? true : undefined;
        });
      }
      for (const st of streams) st.s.cancel();

      // A reply larger than grpc's default 4 MiB limit.
      for (const { label, client } of clients) {
        const r = await unary<{ stdout: Buffer; exit_code: number }>(client, "ExecSync", { container_id: id, cmd: ["head", "-c", String(5 * MiB), "/dev/zero"], timeout: 30 });
        expect(r.exit_code, label).toBe(0);
        expect(r.stdout.length, label).toBe(5 * MiB);
      }
      await f.d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
    } finally {
      for (const { client } of clients) client.close();
    }
  });
});

describe("what critest v1.28 checks", () => {
  const f = useContainerDaemon();

  it("gives a pod without a hostname the node's hostname, in its UTS namespace and its containers", async () => {
    const pod = await startPod(f.d, "no-hostname", { hostname: "" });
    const id = await runContainer(f.d, pod, containerConfig("c", f.image, { command: ["sleep", "300"] }));
    const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME"], timeout: 10 });
    expect(r.stdout.toString().split("\n").slice(0, 3)).toEqual([os.hostname(), os.hostname(), os.hostname()]);
  });

  it("runs a pod whose name is 70 characters long", async () => {
    const name = `critest-${"x".repeat(62)}`;
    expect(name).toHaveLength(70);
    const pod = await startPod(f.d, name, { hostname: "" }); // as critest sends it
    const st = await f.d.client.runtime.PodSandboxStatus({ pod_sandbox_id: pod.id });
    expect(st.status!.metadata!.name).toBe(name);
    expect(st.status!.state).toBe("SANDBOX_READY");
  });

  it("refuses a hostname the kernel cannot take with INVALID_ARGUMENT", async () => {
    const err = await grpcError(f.d.client.runtime.RunPodSandbox({ config: podConfig("long-host", { hostname: "h".repeat(65) }) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("hostname");
  });

  it("ExecSync that times out has killed and reaped its command when it answers", async () => {
    const pod = await startPod(f.d, "exec-timeout");
    // `top` as PID 1, as critest runs it: it reaps nothing, so a command left to it stays as a zombie.
    const id = await runContainer(f.d, pod, containerConfig("c", f.image, { command: ["top"] }));
    const err = await grpcError(f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sleep", "4321"], timeout: 1 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // pidof matches zombies too (by their comm), as critest's pgrep does.
    const left = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", "pidof sleep || true"], timeout: 10 });
    expect(left.stdout.toString().trim()).toBe("");
  });

  it("ExecSync with a call deadline shorter than its timeout ends the command before the deadline", async () => {
    const pod = await startPod(f.d, "exec-deadline");
    const id = await runContainer(f.d, pod, containerConfig("c", f.image, { command: ["top"] }));
    const err = await grpcError(f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sleep", "4322"], timeout: 60 }, { timeoutMs: 1500 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // pidof matches zombies too (by their comm), as critest's pgrep does.
    const left = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", "pidof sleep || true"], timeout: 10 });
    expect(left.stdout.toString().trim()).toBe("");
  });

  it("refuses run_as_group without run_as_user or run_as_username", async () => {
    const pod = await startPod(f.d, "group-only");
    const err = await grpcError(
      f.d.client.runtime.CreateContainer({
        pod_sandbox_id: pod.id,
        config: containerConfig("c", f.image, { linux: { security_context: { run_as_group: { value: 1000 } } } }),
        sandbox_config: pod.config,
      }),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("run_as_group");
  });
});
