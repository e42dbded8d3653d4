// proto/ must match the upstream CRI schema in every message, field name,
// number, type and label, every enum value and every RPC; only comments differ.

import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { packageDefinition, PROTO_PATH, protoRoot } from "../../src/cri/proto.js";

const REFERENCE_CANDIDATES = [
  new URL("../../../shared/reference/cri-api-v1.36.proto", import.meta.url).pathname,
  "/work/shared/reference/cri-api-v1.36.proto",
];
const reference = REFERENCE_CANDIDATES.find((p) => existsSync(p));

function schemaOf(file: string) {
  const root = new protobuf.Root();
  root.loadSync(file, { keepCase: true });
  // The JSON form leaves comments out; the round trip drops undefined-valued keys.
  return JSON.parse(JSON.stringify(root.lookup("runtime.v1")!.toJSON()));
}

describe("proto/cri-api.proto", () => {
  // The reference copy lives in the shared/ folder beside the repository; a
  // checkout without it cannot make this comparison.
  it.skipIf(!reference)("is the CRI runtime.v1 schema of the reference, field for field", () => {
    expect(schemaOf(PROTO_PATH)).toStrictEqual(schemaOf(reference!));
  });

  it("declares both services with every RPC kubelet uses", () => {
    const root = protobuf.loadSync(PROTO_PATH);
    const runtime = root.lookupService("runtime.v1.RuntimeService");
    const image = root.lookupService("runtime.v1.ImageService");
    expect(Object.keys(runtime.methods)).toEqual(expect.arrayContaining(["Version", "RunPodSandbox", "CreateContainer", "ExecSync", "Status", "GetContainerEvents"]));
    expect(Object.keys(image.methods).sort()).toEqual(["ImageFsInfo", "ImageStatus", "ListImages", "PullImage", "RemoveImage", "StreamImages"]);
  });
});

describe("service definitions (src/cri/proto.ts)", () => {
  // The daemon builds them from protobufjs directly; @grpc/proto-loader, with the
  // options skiff used before, is the reference for what every call looks like.
  const reference = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const ours = packageDefinition(protoRoot(PROTO_PATH));
  const ref = (service: string) => reference[`runtime.v1.${service}`] as Record<string, protoLoader.MethodDefinition<object, object>>;

  it("have every method of proto-loader's, with the same path, streaming and names", () => {
    for (const service of ["RuntimeService", "ImageService"]) {
      const mine = ours[`runtime.v1.${service}`]!;
      expect(Object.keys(mine).sort()).toEqual(Object.keys(ref(service)).sort());
      for (const [name, m] of Object.entries(mine)) {
        const r = ref(service)[name]!;
        expect([m.path, m.requestStream, m.responseStream, m.originalName]).toEqual([r.path, r.requestStream, r.responseStream, r.originalName]);
      }
    }
  });

  it("encode and decode int64, enums, bytes, maps, nested and wrapper messages as proto-loader does", () => {
    const cases: [string, string, object][] = [
      ["RuntimeService", "ContainerStatus", { status: { id: "c", metadata: { name: "n", attempt: 3 }, state: "CONTAINER_EXITED", created_at: "1795000000000000001", exit_code: -1, labels: { a: "b" }, mounts: [{ container_path: "/x", propagation: "PROPAGATION_BIDIRECTIONAL" }], resources: { linux: { memory_limit_in_bytes: "9007199254740993" } } }, info: { k: "v" } }],
      ["RuntimeService", "ExecSync", { stdout: Buffer.from("out\0put"), stderr: Buffer.alloc(0), exit_code: 7 }],
      ["RuntimeService", "ListContainerStats", { stats: [{ attributes: { id: "s" }, cpu: { timestamp: "5", usage_core_nano_seconds: { value: "18446744073709551615" } } }] }],
      ["ImageService", "ImageFsInfo", { image_filesystems: [{ timestamp: "1", fs_id: { mountpoint: "/m" }, used_bytes: { value: "12" } }] }],
    ];
    for (const [service, method, value] of cases) {
      const r = ref(service)[method]!;
      const m = ours[`runtime.v1.${service}`]![method]!;
      const bytes = m.responseSerialize(value);
      expect(Buffer.isBuffer(bytes)).toBe(true);
      // Not byte for byte: protobufjs 8 leaves an empty bytes field out, as proto3 says; what decodes is the same.
      expect(r.responseDeserialize(bytes)).toEqual(r.responseDeserialize(r.responseSerialize(value)));
      expect(m.responseDeserialize(bytes)).toEqual(r.responseDeserialize(bytes));
    }
    const request = { config: { metadata: { name: "c", attempt: 1 }, image: { image: "i" }, envs: [{ key: "A", value: Buffer.from("1") }], linux: { security_context: { run_as_user: { value: "0" }, seccomp: { profile_type: "Localhost", localhost_ref: "p" } } } }, pod_sandbox_id: "p" };
    const r = ref("RuntimeService").CreateContainer!;
    const m = ours["runtime.v1.RuntimeService"]!.CreateContainer!;
    expect(m.requestDeserialize(r.requestSerialize(request))).toEqual(r.requestDeserialize(r.requestSerialize(request)));
  });
});
