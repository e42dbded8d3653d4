// proto/ must match the upstream CRI schema in every message, field name,
// number, type and label, every enum value and every RPC; only comments differ.

import { existsSync } from "node:fs";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { PROTO_PATH } from "../../src/cri/proto.js";

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
