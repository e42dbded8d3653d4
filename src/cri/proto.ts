// Loads the CRI schema from proto/ at run time. Both the daemon and the test
// client use these options so that both sides see the same JS shapes:
// snake_case fields, int64 as decimal strings (nanosecond timestamps exceed
// 2^53), enums as their names, and defaults filled in.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { packageFile } from "../package-root.js";
import type { ProtoGrpcType } from "./generated/cri-api.js";
import type { ProtoGrpcType as AdminGrpcType } from "./generated/skiff-admin.js";

export const PROTO_PATH = packageFile("proto", "cri-api.proto");
export const ADMIN_PROTO_PATH = packageFile("proto", "skiff-admin.proto");

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

let cachedAdmin: AdminGrpcType | undefined;

/** skiff's own admin API (proto/skiff-admin.proto). */
export function loadAdmin(): AdminGrpcType {
  cachedAdmin ??= grpc.loadPackageDefinition(protoLoader.loadSync(ADMIN_PROTO_PATH, LOADER_OPTIONS)) as unknown as AdminGrpcType;
  return cachedAdmin;
}
