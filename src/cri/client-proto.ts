// gRPC client constructors for the CRI and admin services (skiff's own CLI).
// The daemon does not load grpc-js: it serves the schema with its own
// transport (transport/).

import * as grpc from "@grpc/grpc-js";
import type { ProtoGrpcType } from "./generated/cri-api.js";
import type { ProtoGrpcType as AdminGrpcType } from "./generated/skiff-admin.js";
import { ADMIN_PROTO_PATH, packageDefinition, PROTO_PATH, protoRoot } from "./proto.js";

let cached: ProtoGrpcType | undefined;

export function loadCri(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(packageDefinition(protoRoot(PROTO_PATH))) as unknown as ProtoGrpcType;
  return cached;
}

let cachedAdmin: AdminGrpcType | undefined;

/** skiff's own admin API (proto/skiff-admin.proto). */
export function loadAdmin(): AdminGrpcType {
  cachedAdmin ??= grpc.loadPackageDefinition(packageDefinition(protoRoot(ADMIN_PROTO_PATH))) as unknown as AdminGrpcType;
  return cachedAdmin;
}
