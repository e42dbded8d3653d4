// Loads the CRI schema from proto/ at run time. Both the daemon and the test
// client use these options so that both sides see the same JS shapes:
// snake_case fields, int64 as decimal strings (nanosecond timestamps exceed
// 2^53), enums as their names, and defaults filled in.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import type { ProtoGrpcType } from "./generated/cri-api.js";

export const PROTO_PATH = fileURLToPath(new URL("../../proto/cri-api.proto", import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: ProtoGrpcType | undefined;

export function loadCri(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return cached;
}
