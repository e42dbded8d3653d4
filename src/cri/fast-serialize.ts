// Faster serialisation of the large list replies. The generic serializer goes
// through protobufjs's reflective fromObject, which dominates on busy nodes
// (20,000 containers: ~500 ms of ~600). The list replies need only their state
// enums turned into numbers before a direct encode (~4x faster).

import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PROTO_PATH, protoRoot } from "./proto.js";

type Item = Record<string, unknown> & { state?: string | number };

function install(def: grpc.ServiceDefinition, method: string, type: protobuf.Type, listField: string, states: Record<string, number>): void {
  const m = def[method];
  if (!m) throw new Error(`no method ${method} to install a serializer on`);
  m.responseSerialize = (value: Record<string, Item[]>) => {
    const items = (value[listField] ?? []).map((it) => (typeof it.state === "string" ? { ...it, state: states[it.state] ?? 0 } : it));
    return Buffer.from(type.encode({ ...value, [listField]: items }).finish());
  };
}

export function installFastSerializers(runtimeService: grpc.ServiceDefinition): void {
  const root = protoRoot(PROTO_PATH);
  const containerStates = root.lookupEnum("runtime.v1.ContainerState").values;
  const sandboxStates = root.lookupEnum("runtime.v1.PodSandboxState").values;
  install(runtimeService, "ListContainers", root.lookupType("runtime.v1.ListContainersResponse"), "containers", containerStates);
  install(runtimeService, "StreamContainers", root.lookupType("runtime.v1.StreamContainersResponse"), "containers", containerStates);
  install(runtimeService, "ListPodSandbox", root.lookupType("runtime.v1.ListPodSandboxResponse"), "items", sandboxStates);
  install(runtimeService, "StreamPodSandboxes", root.lookupType("runtime.v1.StreamPodSandboxesResponse"), "pod_sandboxes", sandboxStates);
}
