// The CRI schema, read from proto/ at run time with protobufjs, and the gRPC
// service definitions made from it. Both the daemon and the test client use
// them, so both sides see the same JS shapes: snake_case fields, int64 as
// decimal strings (nanosecond timestamps exceed 2^53), enums as their names,
// and defaults filled in (what @grpc/proto-loader gives with keepCase, longs:
// String, enums: String, defaults, oneofs; its descriptor building, for
// reflection skiff does not serve, cost a tenth of a second at every start).

import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { packageFile } from "../package-root.js";

export const PROTO_PATH = packageFile("proto", "cri-api.proto");
export const ADMIN_PROTO_PATH = packageFile("proto", "skiff-admin.proto");

/** How decoded messages are turned into plain objects. */
export const CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

const roots = new Map<string, protobuf.Root>();

/** The parsed schema of a .proto file (field names as written), parsed once. */
export function protoRoot(file: string): protobuf.Root {
  let root = roots.get(file);
  if (!root) {
    root = new protobuf.Root().loadSync(file, { keepCase: true });
    root.resolveAll();
    roots.set(file, root);
  }
  return root;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function methodDefinition(service: protobuf.Service, method: protobuf.Method): grpc.MethodDefinition<object, object> {
  const req = method.resolvedRequestType!;
  const res = method.resolvedResponseType!;
  return {
    path: `/${service.fullName.slice(1)}/${method.name}`,
    requestStream: !!method.requestStream,
    responseStream: !!method.responseStream,
    requestSerialize: (value: object) => toBuffer(req.encode(req.fromObject(value)).finish()),
    requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), CONVERSION),
    responseSerialize: (value: object) => toBuffer(res.encode(res.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), CONVERSION),
    originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
  };
}

/** Every service of the schema by full name, as grpc.loadPackageDefinition takes them. */
export function packageDefinition(root: protobuf.Root): Record<string, grpc.ServiceDefinition> {
  const out: Record<string, grpc.ServiceDefinition> = {};
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Service) {
        out[child.fullName.slice(1)] = Object.fromEntries(child.methodsArray.map((m) => [m.name, methodDefinition(child, m)]));
      } else if (child instanceof protobuf.Namespace) {
        visit(child);
      }
    }
  };
  visit(root);
  return out;
}
