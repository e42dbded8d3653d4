import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { installFastSerializers } from "../../src/cri/fast-serialize.js";
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
