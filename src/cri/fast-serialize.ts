// Faster serialisation of the replies kubelet asks for all the time. The
// generic serializer goes through protobufjs's reflective fromObject, which
// dominates on busy nodes (20,000 containers: ~500 ms of ~600). Pods, images
// and containers change far less often than kubelet asks about them: each
// list item, image and container status is encoded once (the mappers give
// one object per record) and the list and status replies are put together
// from those bytes.

import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PROTO_PATH, protoRoot } from "./proto.js";

/**
 * Each record's message (toCriImage, toCriContainer, toCriContainerStatus,
 * toCriPodSandbox give one object per record), encoded once as field 1 of a
 * reply: tag, length, bytes. Every reply that carries one has it there, so a
 * list reply is these joined and a status reply is one of them.
 */
const encoded = new WeakMap<object, Buffer>();

/** A message as field 1 of its reply: the tag (field 1, length-delimited), the length as a varint, the bytes. */
function asField1(message: Uint8Array): Buffer {
  let size = 2;
  for (let n = message.length; n >= 0x80; n >>>= 7) size++;
  const out = Buffer.allocUnsafe(size + message.length);
  out[0] = (1 << 3) | 2;
  let at = 1;
  let n = message.length;
  for (; n >= 0x80; n >>>= 7) out[at++] = (n & 0x7f) | 0x80;
  out[at++] = n;
  out.set(message, at);
  return out;
}

/** One buffer of the parts, copied once (Buffer.concat checks and copies each part through more layers). */
function join(parts: Buffer[]): Buffer {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encodedOnce(type: protobuf.Type, message: object): Buffer {
  let bytes = encoded.get(message);
  if (!bytes) encoded.set(message, (bytes = asField1(type.encode(type.fromObject(message)).finish())));
  return bytes;
}

interface OnceTypes {
  image: protobuf.Type;
  containerStatus: protobuf.Type;
  container: protobuf.Type;
  podSandbox: protobuf.Type;
}

let encodedTypes: OnceTypes | undefined;

/** The message types whose encodings are kept per object. */
function onceTypes(): OnceTypes {
  const root = protoRoot(PROTO_PATH);
  return (encodedTypes ??= {
    image: root.lookupType("runtime.v1.Image"),
    containerStatus: root.lookupType("runtime.v1.ContainerStatus"),
    container: root.lookupType("runtime.v1.Container"),
    podSandbox: root.lookupType("runtime.v1.PodSandbox"),
  });
}

/** A reply whose only field is `repeated <type> <listField> = 1`, from each item's bytes. */
function installList(def: grpc.ServiceDefinition, name: string, type: protobuf.Type, listField: string): void {
  method(def, name).responseSerialize = (value: Record<string, object[] | null | undefined>) => {
    const items = value[listField] ?? [];
    const parts = new Array<Buffer>(items.length);
    for (let i = 0; i < items.length; i++) parts[i] = encodedOnce(type, items[i]!);
    return join(parts);
  };
}

export function installFastSerializers(runtimeService: grpc.ServiceDefinition): void {
  const { container, podSandbox } = onceTypes();
  installList(runtimeService, "ListContainers", container, "containers");
  installList(runtimeService, "StreamContainers", container, "containers");
  installList(runtimeService, "ListPodSandbox", podSandbox, "items");
  installList(runtimeService, "StreamPodSandboxes", podSandbox, "pod_sandboxes");
}

/**
 * Maps and encodes a message (with toCriImage or toCriContainerStatus) ahead
 * of the reply that sends it, where the client asks for it next: an image's
 * right after its pull, a container's status right after its start. Only
 * work moved earlier: a failure here is left for that reply to meet and report.
 */
export function encodeAhead(kind: "image" | "containerStatus", message: () => object): void {
  try {
    encodedOnce(onceTypes()[kind], message());
  } catch {
    /* see above */
  }
}

function method(def: grpc.ServiceDefinition, name: string): grpc.ServiceDefinition[string] {
  const m = def[name];
  if (!m) throw new Error(`no method ${name} to install a serializer on`);
  return m;
}

/**
 * For replies of one message (field 1) and the verbose info map (field 2):
 * the message's bytes once, the map (if any) through the generic encoder;
 * fields may come in any order.
 */
function installStatusSerializer(def: grpc.ServiceDefinition, name: string, messageType: protobuf.Type, responseType: protobuf.Type, field: string): void {
  method(def, name).responseSerialize = (value: Record<string, unknown>) => {
    const message = value[field] as object | null | undefined;
    const bytes = message ? encodedOnce(messageType, message) : Buffer.alloc(0);
    const info = value.info as Record<string, string> | null | undefined;
    if (!info || !Object.keys(info).length) return bytes;
    return join([bytes, Buffer.from(responseType.encode(responseType.fromObject({ info })).finish())]);
  };
}

export function installImageSerializers(imageService: grpc.ServiceDefinition): void {
  const root = protoRoot(PROTO_PATH);
  const imageType = onceTypes().image;
  installList(imageService, "ListImages", imageType, "images");
  installList(imageService, "StreamImages", imageType, "images");
  installStatusSerializer(imageService, "ImageStatus", imageType, root.lookupType("runtime.v1.ImageStatusResponse"), "image");
}

export function installContainerStatusSerializer(runtimeService: grpc.ServiceDefinition): void {
  const root = protoRoot(PROTO_PATH);
  installStatusSerializer(runtimeService, "ContainerStatus", onceTypes().containerStatus, root.lookupType("runtime.v1.ContainerStatusResponse"), "status");
}
