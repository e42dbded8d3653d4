// The pure parts of pods with a user namespace: the CRI's mapping rules, id
// conversions, the container's agreement with its pod, and the OCI specs.

import { describe, expect, it } from "vitest";
import { toSandboxSpec } from "../../src/cri/mappers/sandbox.js";
import type { PodSandboxConfig__Output } from "../../src/cri/generated/runtime/v1/PodSandboxConfig.js";
import { containerUserNamespace } from "../../src/runtime/container-userns.js";
import { buildContainerSpec, DEFAULT_CAPABILITIES } from "../../src/runtime/spec/container-spec.js";
import { infraSpec } from "../../src/runtime/spec/infra-spec.js";
import type { ContainerRequest } from "../../src/runtime/types.js";
import { identityInside } from "../../src/runtime/user.js";
import type { SandboxRecord } from "../../src/sandbox/types.js";
import { checkPodMappings, idMapText, sameMappings, toContainerId, toHostId } from "../../src/sandbox/userns.js";

const range = (hostId: number, containerId = 0, length = 65536) => ({ containerId, hostId, length });
const mappings = { uids: [range(100000)], gids: [range(100000)] };

describe("user namespace mappings", () => {
  it("takes one range each that maps container id 0, and says what is wrong otherwise", () => {
    expect(checkPodMappings(mappings, "X")).toBe(mappings);
    expect(() => checkPodMappings({ uids: [range(1), range(2)], gids: [range(1)] }, "X")).toThrow(/X: a pod user namespace needs exactly one uids mapping, got 2/);
    expect(() => checkPodMappings({ uids: [range(1)], gids: [] }, "X")).toThrow(/exactly one gids mapping, got 0/);
    expect(() => checkPodMappings({ uids: [range(1, 1)], gids: [range(1)] }, "X")).toThrow(/must map container id 0 \(it starts at 1\)/);
    expect(() => checkPodMappings({ uids: [range(1, 0, 0)], gids: [range(1)] }, "X")).toThrow(/length 0/);
    expect(() => checkPodMappings({ uids: [range(2 ** 32 - 10, 0, 65536)], gids: [range(1)] }, "X")).toThrow(/goes past the largest id/);
  });
  it("converts ids both ways and writes /proc's map format", () => {
    const list = [range(100000), range(500000, 70000, 10)];
    expect(idMapText(list)).toBe("0 100000 65536\n70000 500000 10\n");
    expect([toHostId(0, list), toHostId(65535, list), toHostId(65536, list), toHostId(70005, list)]).toEqual([100000, 165535, undefined, 500005]);
    expect([toContainerId(100000, list), toContainerId(99999, list), toContainerId(500009, list)]).toEqual([0, undefined, 70009]);
    expect(sameMappings(list, [range(100000), range(500000, 70000, 10)])).toBe(true);
    expect(sameMappings(list, [range(100000)])).toBe(false);
  });
  it("shows a host-side identity as the container sees it, unmapped ids as the overflow id", () => {
    expect(identityInside({ uid: 101000, gid: 101000, groups: [5, 100000, 101000] }, mappings)).toEqual({ uid: 1000, gid: 1000, groups: [0, 1000, 65534] });
  });
});

describe("RunPodSandbox's userns_options", () => {
  const config = (ns: object, extra: object = {}) =>
    ({ metadata: { name: "p", namespace: "n", uid: "u", attempt: 0 }, hostname: "", log_directory: "", port_mappings: [], labels: {}, annotations: {}, linux: { security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD", target_id: "", ...ns }, ...extra } } }) as unknown as PodSandboxConfig__Output;
  const wire = [{ host_id: 100000, container_id: 0, length: 65536 }];
  it("keeps POD's mappings and gives NODE (or none) the host's", () => {
    expect(toSandboxSpec(config({ userns_options: { mode: "POD", uids: wire, gids: wire } }), "").userNamespace).toEqual(mappings);
    expect(toSandboxSpec(config({ userns_options: { mode: "NODE", uids: [], gids: [] } }), "").userNamespace).toBeUndefined();
    expect(toSandboxSpec(config({ userns_options: null }), "").userNamespace).toBeUndefined();
  });
  it.each([
    [{ userns_options: { mode: "CONTAINER", uids: [], gids: [] } }, {}, /mode CONTAINER is not valid/],
    [{ userns_options: { mode: "TARGET", uids: [], gids: [] } }, {}, /mode TARGET is not valid/],
    [{ network: "NODE", userns_options: { mode: "POD", uids: wire, gids: wire } }, {}, /cannot use the host's network namespace/],
    [{ pid: "NODE", userns_options: { mode: "POD", uids: wire, gids: wire } }, {}, /cannot use the host's PID namespace/],
    [{ userns_options: { mode: "POD", uids: wire, gids: wire } }, { privileged: true }, /a privileged pod cannot have its own user namespace/],
  ])("refuses %j %j", (ns, extra, message) => {
    expect(() => toSandboxSpec(config(ns, extra), "")).toThrow(message);
  });
});

describe("a container's user namespace", () => {
  const pod = (userns: boolean) => ({ id: "pod1", namespaces: userns ? { user: "/ns/user" } : {}, spec: userns ? { userNamespace: mappings } : {} }) as unknown as SandboxRecord;
  const req = (over: Partial<ContainerRequest["security"]> = {}, mounts: ContainerRequest["mounts"] = []) =>
    ({ mounts, security: { privileged: false, pidMode: "CONTAINER", ...over } }) as unknown as ContainerRequest;
  const mount = (idmap?: typeof mappings) => ({ containerPath: "/m", hostPath: "/h", readonly: false, propagation: "private" as const, ...(idmap ? { idmap } : {}) });
  it("is the pod's, with the host ids of its root; none in a pod without one", () => {
    expect(containerUserNamespace(pod(true), req({}, [mount(mappings)]))).toEqual({ path: "/ns/user", mappings, root: { uid: 100000, gid: 100000 } });
    expect(containerUserNamespace(pod(true), req({ userNamespace: { mode: "POD", mappings } }))).toMatchObject({ path: "/ns/user" });
    expect(containerUserNamespace(pod(false), req({ userNamespace: { mode: "NODE", mappings: { uids: [], gids: [] } } }, [mount()]))).toBeUndefined();
  });
  it.each([
    [true, { userNamespace: { mode: "NODE" as const, mappings: { uids: [], gids: [] } } }, [], /cannot use the host's/],
    [false, { userNamespace: { mode: "POD" as const, mappings } }, [], /asks for its pod's user namespace, but pod pod1 has none/],
    [true, { userNamespace: { mode: "POD" as const, mappings: { uids: [range(1)], gids: [range(1)] } } }, [], /mappings differ from those of pod pod1/],
    [true, { userNamespace: { mode: "CONTAINER" as const, mappings } }, [], /mode CONTAINER is not supported/],
    [false, {}, [mount(mappings)], /is idmapped, but pod pod1 has no user namespace/],
    [true, {}, [mount({ uids: [range(7)], gids: [range(7)] })], /other idmappings than pod pod1's/],
    [true, { privileged: true }, [], /privileged container cannot run/],
    [true, { pidMode: "NODE" as const }, [], /cannot use the host's PID namespace/],
  ])("refuses (pod userns %s) %j %j", (userns, sec, mounts, message) => {
    expect(() => containerUserNamespace(pod(userns), req(sec, mounts))).toThrow(message);
  });
});

describe("OCI specs in a pod's user namespace", () => {
  const oci = [{ containerID: 0, hostID: 100000, size: 65536 }];
  it("joins the user namespace first, with its mappings, in containers and the infra process", () => {
    const request = { metadata: { name: "c", attempt: 0 }, image: "i", command: ["sh"], args: [], workingDir: "", envs: [], mounts: [], devices: [], labels: {}, annotations: {}, logPath: "", stdin: false, stdinOnce: false, tty: false, security: { privileged: false, readonlyRootfs: false, supplementalGroups: [], capAdd: [], capDrop: [], noNewPrivs: false, pidMode: "CONTAINER", seccomp: { kind: "unconfined" } }, resources: {} } as ContainerRequest;
    const pod = { namespaces: { user: "/ns/user", net: "/ns/net" }, userNamespace: mappings, hostname: "h", filesDir: "/f", cgroupParent: "" };
    const spec = buildContainerSpec({ id: "a", sandboxId: "s", rootfs: "/r", request, image: {}, pod, user: { uid: 0, gid: 0, additionalGids: [] }, oomScoreAdjFloor: 0, availableCapabilities: DEFAULT_CAPABILITIES }) as { linux: Record<string, unknown> };
    expect(spec.linux.namespaces).toEqual([{ type: "user", path: "/ns/user" }, { type: "mount" }, { type: "network", path: "/ns/net" }, { type: "pid" }]);
    expect([spec.linux.uidMappings, spec.linux.gidMappings]).toEqual([oci, oci]);
    const plain = buildContainerSpec({ id: "a", sandboxId: "s", rootfs: "/r", request, image: {}, pod: { ...pod, userNamespace: undefined, namespaces: { net: "/ns/net" } }, user: { uid: 0, gid: 0, additionalGids: [] }, oomScoreAdjFloor: 0, availableCapabilities: DEFAULT_CAPABILITIES }) as { linux: Record<string, unknown> };
    expect(plain.linux.uidMappings).toBeUndefined();
    const infra = infraSpec({ rootfs: "/r", namespaces: { user: "/ns/user", net: "/ns/net" }, userNamespace: mappings, cgroupsPath: "/x" }) as { linux: Record<string, unknown> };
    expect(infra.linux.namespaces).toEqual([{ type: "pid" }, { type: "mount" }, { type: "user", path: "/ns/user" }, { type: "network", path: "/ns/net" }]);
    expect(infra.linux.uidMappings).toEqual(oci);
  });
});
