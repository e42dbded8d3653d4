import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { encodeAhead, installContainerStatusSerializer, installFastSerializers, installImageSerializers } from "../../src/cri/fast-serialize.js";
import { toCriContainer, toCriContainerStatus } from "../../src/cri/mappers/container.js";
import { toCriPodSandbox } from "../../src/cri/mappers/sandbox.js";
import { toCriImage } from "../../src/cri/mappers/image.js";
import type { ImageRecord } from "../../src/image-service/image-record.js";
import { packageDefinition, PROTO_PATH, protoRoot } from "../../src/cri/proto.js";

const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

describe("fast list serializers", () => {
  it("produce replies that decode exactly like proto-loader's own", () => {
    const reference = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)["runtime.v1.RuntimeService"] as Record<string, protoLoader.MethodDefinition<object, object>>;
    const patched = packageDefinition(protoRoot(PROTO_PATH))["runtime.v1.RuntimeService"]!;
    installFastSerializers(patched as never);
    const containers = {
      containers: [
        { id: "a", pod_sandbox_id: "b", metadata: { name: "c", attempt: 2 }, image: { image: "i", annotations: { x: "y" } }, image_ref: "r", image_id: "sha256:x", state: "CONTAINER_RUNNING", created_at: "1795000000000000001", labels: { k: "v" }, annotations: { a: "b" } },
        { id: "d", pod_sandbox_id: "e", state: "CONTAINER_EXITED", created_at: "5", labels: {}, annotations: {} },
        // Lengths of two and three varint bytes.
        { id: "f", pod_sandbox_id: "g", state: "CONTAINER_CREATED", created_at: "6", labels: { l: "v".repeat(200) }, annotations: {} },
        { id: "h", pod_sandbox_id: "i", state: "CONTAINER_CREATED", created_at: "7", labels: {}, annotations: { big: "x".repeat(20_000) } },
      ],
    };
    const pods = { items: [{ id: "p", metadata: { name: "n", uid: "u", namespace: "ns", attempt: 0 }, state: "SANDBOX_NOTREADY", created_at: "7", labels: {}, annotations: { z: "1" }, runtime_handler: "crun" }] };
    for (const [method, value] of [["ListContainers", containers], ["ListPodSandbox", pods]] as const) {
      const fast = patched[method]!.responseSerialize(value);
      const slow = reference[method]!.responseSerialize(value);
      expect(reference[method]!.responseDeserialize(fast)).toEqual(reference[method]!.responseDeserialize(slow));
    }
  });
});

describe("image reply serializers", () => {
  const reference = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)["runtime.v1.ImageService"] as Record<string, protoLoader.MethodDefinition<object, object>>;
  const patched = packageDefinition(protoRoot(PROTO_PATH))["runtime.v1.ImageService"]!;
  installImageSerializers(patched as never);
  const record = (tags: string[], user: string): ImageRecord => ({
    id: "sha256:" + "a".repeat(64),
    repoTags: tags,
    repoDigests: ["r/x@sha256:" + "b".repeat(64)],
    manifestDigest: "sha256:" + "b".repeat(64),
    extraBlobs: [],
    configDigest: "sha256:" + "a".repeat(64),
    layers: [],
    size: 123_456_789_012,
    config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: { User: user } },
    createdAt: 1,
    pinned: true,
  });
  const same = (method: string, value: object) => {
    const fast = patched[method]!.responseSerialize(value);
    const slow = reference[method]!.responseSerialize(value);
    expect(reference[method]!.responseDeserialize(fast)).toEqual(reference[method]!.responseDeserialize(slow));
    return reference[method]!.responseDeserialize(fast) as Record<string, unknown>;
  };

  it("encode ListImages, StreamImages and ImageStatus as the generic encoder does", () => {
    const images = [toCriImage(record(["r/x:1", "r/x:2"], "1000")), toCriImage(record([], "nobody"))];
    same("ListImages", { images });
    same("ListImages", { images: [] });
    same("StreamImages", { images });
    same("ImageStatus", { image: null, info: {} });
    same("ImageStatus", { image: images[0], info: {} });
    same("ImageStatus", { image: images[1], info: { info: JSON.stringify({ big: "x".repeat(300) }) } });
  });

  it("encode a replaced record anew, never from the bytes of the one it replaced", () => {
    const first = record(["r/x:1"], "0");
    same("ListImages", { images: [toCriImage(first)] });
    const retagged = { ...first, repoTags: ["r/x:2"], pinned: false };
    const decoded = same("ListImages", { images: [toCriImage(retagged)] }) as { images: { repo_tags: string[]; pinned: boolean }[] };
    expect(decoded.images[0]).toMatchObject({ repo_tags: ["r/x:2"], pinned: false });
    expect(toCriImage(first)).toBe(toCriImage(first));
  });

  it("reply with the bytes encodeAhead made for an image", () => {
    const image = toCriImage(record(["r/x:ahead"], "0"));
    encodeAhead("image", () => image);
    encodeAhead("image", () => {
      throw new Error("a mapping that fails is left for the reply");
    });
    // Records are never edited; this one is, to tell the bytes made ahead from bytes made now.
    (image as { repo_tags: string[] }).repo_tags = ["r/x:edited"];
    const bytes = patched.ImageStatus!.responseSerialize({ image, info: {} });
    expect(reference.ImageStatus!.responseDeserialize(bytes)).toMatchObject({ image: { repo_tags: ["r/x:ahead"] } });
  });
});

describe("ContainerStatus serializer", () => {
  const reference = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)["runtime.v1.RuntimeService"] as Record<string, protoLoader.MethodDefinition<object, object>>;
  const patched = packageDefinition(protoRoot(PROTO_PATH))["runtime.v1.RuntimeService"]!;
  installContainerStatusSerializer(patched as never);
  const decode = (value: object) => {
    const fast = reference.ContainerStatus!.responseDeserialize(patched.ContainerStatus!.responseSerialize(value));
    expect(fast).toEqual(reference.ContainerStatus!.responseDeserialize(reference.ContainerStatus!.responseSerialize(value)));
    return fast as { status: { state: string; exit_code: number; user: unknown } };
  };
  const running = {
    id: "c1", sandboxId: "p1", state: "running", createdAt: "1795000000000000001", startedAt: "1795000000000000002", pid: 42, imageId: "sha256:" + "a".repeat(64),
    logPath: "/var/log/pods/x/c/0.log", stopSignal: "SIGTERM", dir: "/d", rootfs: "/d/rootfs", runtimeHandler: "runc",
    request: {
      metadata: { name: "c", attempt: 1 }, image: "busybox", labels: { a: "b" }, annotations: { c: "d" },
      mounts: [{ containerPath: "/data", hostPath: "/srv", readonly: true, propagation: "host-to-container" }],
      resources: { cpuShares: 2, memoryLimit: 1 << 30, hugepageLimits: [{ pageSize: "2MB", limit: 0 }], unified: { "memory.high": "1G" } },
    },
  } as never as Parameters<typeof toCriContainerStatus>[0];

  it("encodes as the generic encoder does, with and without the verbose info", () => {
    const identity = { uid: 1000, gid: 1000, groups: [1000, 10] };
    decode({ status: toCriContainerStatus(running, undefined, identity), info: {} });
    decode({ status: toCriContainerStatus(running, undefined, undefined), info: { info: '{"pid":42}' } });
  });

  it("answers from a record's replacement, never from the status of the record it replaced", () => {
    expect(decode({ status: toCriContainerStatus(running, undefined), info: {} }).status.state).toBe("CONTAINER_RUNNING");
    expect(toCriContainerStatus(running, undefined)).toBe(toCriContainerStatus(running, undefined));
    const exited = { ...running, state: "exited", exitCode: 137, finishedAt: "1795000000000000009" } as typeof running;
    expect(decode({ status: toCriContainerStatus(exited, undefined), info: {} }).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 137 });
    // The same record with a different identity (read from /proc once it runs) is a different status.
    expect(decode({ status: toCriContainerStatus(running, undefined, { uid: 5, gid: 6, groups: [6] }), info: {} }).status.user).toMatchObject({ linux: { uid: "5" } });
  });
});

describe("list items encoded once per record", () => {
  const reference = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)["runtime.v1.RuntimeService"] as Record<string, protoLoader.MethodDefinition<object, object>>;
  const patched = packageDefinition(protoRoot(PROTO_PATH))["runtime.v1.RuntimeService"]!;
  installFastSerializers(patched as never);
  const decode = (method: string, value: object) => reference[method]!.responseDeserialize(patched[method]!.responseSerialize(value)) as Record<string, Record<string, unknown>[]>;
  const container = {
    id: "c1", sandboxId: "p1", state: "running", createdAt: "1795000000000000001", imageId: "sha256:" + "a".repeat(64),
    request: { metadata: { name: "c", attempt: 0 }, image: "busybox", labels: {}, annotations: {} },
  } as never as Parameters<typeof toCriContainer>[0];
  const pod = {
    id: "p1", state: "ready", createdAt: "7", spec: { metadata: { name: "n", uid: "u", namespace: "ns", attempt: 0 }, labels: { l: "1" }, annotations: {}, runtimeHandler: "" },
  } as never as Parameters<typeof toCriPodSandbox>[0];

  it("reuse a record's item until the record is replaced, and never for one being created", () => {
    expect(toCriContainer(container, undefined)).toBe(toCriContainer(container, undefined));
    expect(decode("ListContainers", { containers: [toCriContainer(container, undefined)] }).containers![0]).toMatchObject({ id: "c1", state: "CONTAINER_RUNNING" });
    const exited = { ...container, state: "exited" } as typeof container;
    expect(decode("StreamContainers", { containers: [toCriContainer(exited, undefined)] }).containers![0]).toMatchObject({ id: "c1", state: "CONTAINER_EXITED" });
    const creating = { ...container, state: "creating" } as typeof container;
    expect(toCriContainer(creating, undefined)).not.toBe(toCriContainer(creating, undefined));

    expect(toCriPodSandbox(pod)).toBe(toCriPodSandbox(pod));
    expect(decode("ListPodSandbox", { items: [toCriPodSandbox(pod)] }).items![0]).toMatchObject({ id: "p1", state: "SANDBOX_READY", labels: { l: "1" } });
    const stopped = { ...pod, state: "notready" } as typeof pod;
    expect(decode("StreamPodSandboxes", { pod_sandboxes: [toCriPodSandbox(stopped)] }).pod_sandboxes![0]).toMatchObject({ id: "p1", state: "SANDBOX_NOTREADY" });
    expect(decode("ListPodSandbox", { items: [] }).items).toEqual([]);
  });
});
