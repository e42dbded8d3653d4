import { mkdtemp, mkdir, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stopSignalName, toContainerRequest } from "../../src/cri/mappers/container.js";
import { supportsRecursiveReadOnly } from "../../src/runtime/cgroups.js";
import { parseSyncMessage } from "../../src/runtime/conmon.js";
import { buildContainerSpec, capabilities, capabilitiesOfMask, DEFAULT_CAPABILITIES, processArgs, processEnv } from "../../src/runtime/spec/container-spec.js";
import type { ContainerRequest } from "../../src/runtime/types.js";
import { parseGroup, parsePasswd, parseProcessIdentity, readFileInRoot, resolveUser } from "../../src/runtime/user.js";

function request(over: Partial<ContainerRequest> = {}): ContainerRequest {
  return {
    metadata: { name: "c", attempt: 0 }, image: "img", command: [], args: [], workingDir: "", envs: [], mounts: [], devices: [], labels: {}, annotations: {}, logPath: "c/0.log",
    stdin: false, stdinOnce: false, tty: false,
    security: { privileged: false, readonlyRootfs: false, supplementalGroups: [], capAdd: [], capDrop: [], noNewPrivs: false, pidMode: "CONTAINER", seccomp: { kind: "unconfined" } },
    resources: {},
    ...over,
  };
}

describe("process args and env", () => {
  const image = { config: { Entrypoint: ["/entry"], Cmd: ["default"], Env: ["PATH=/img/bin", "A=image", "B=keep"] } };
  it("uses command over Entrypoint and args over Cmd, as kubelet defines", () => {
    expect(processArgs(request(), image)).toEqual(["/entry", "default"]);
    expect(processArgs(request({ args: ["x"] }), image)).toEqual(["/entry", "x"]);
    expect(processArgs(request({ command: ["/bin/sh"] }), image)).toEqual(["/bin/sh"]);
    expect(processArgs(request({ command: ["/bin/sh"], args: ["-c", "true"] }), image)).toEqual(["/bin/sh", "-c", "true"]);
    expect(() => processArgs(request(), {})).toThrow(/no command/);
  });
  it("lets CRI env override image env by name", () => {
    const env = processEnv(request({ envs: [["A", "cri"], ["C", "new"]] }), image, "host");
    expect(env).toEqual(["PATH=/img/bin", "A=cri", "B=keep", "C=new", "HOSTNAME=host"]);
  });
});

describe("capabilities", () => {
  it("adds to and drops from the default set, with ALL in either list", () => {
    expect(capabilities([], [], false)).toEqual(DEFAULT_CAPABILITIES);
    expect(capabilities(["NET_ADMIN"], ["CHOWN"], false)).toEqual([...DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_CHOWN"), "CAP_NET_ADMIN"]);
    expect(capabilities(["SYS_TIME"], ["ALL"], false)).toEqual(["CAP_SYS_TIME"]);
    expect(capabilities(["ALL"], ["NET_RAW"], false, ["CAP_CHOWN", "CAP_NET_RAW"])).toEqual(["CAP_CHOWN"]);
    expect(() => capabilities(["BOGUS"], [], false)).toThrow(/unknown capability "CAP_BOGUS"/);
  });
  it("gives privileged containers what the daemon holds", () => {
    expect(capabilities([], [], true, ["CAP_CHOWN", "CAP_SYS_ADMIN"])).toEqual(["CAP_CHOWN", "CAP_SYS_ADMIN"]);
    const held = capabilitiesOfMask("000001fffeffffff");
    expect(held).toContain("CAP_SYS_ADMIN");
    expect(held).not.toContain("CAP_SYS_RESOURCE"); // bit 24, clear in this mask
    expect(held).toHaveLength(40);
  });
});

describe("container spec", () => {
  const pod = { namespaces: { net: "/ns/net", ipc: "/ns/ipc", uts: "/ns/uts" }, infraPid: 42, hostname: "pod", filesDir: "/files", shm: "/shm", cgroupParent: "/kubepods/pod1" };
  const base = { id: "abc", sandboxId: "sb", rootfs: "/rootfs", image: { config: { Cmd: ["sh"] } }, pod, user: { uid: 1, gid: 2, additionalGids: [3] }, oomScoreAdjFloor: 0, availableCapabilities: DEFAULT_CAPABILITIES };
  type Spec = { process: Record<string, unknown>; root: Record<string, unknown>; mounts: { destination: string; source: string; options: string[] }[]; linux: Record<string, unknown>; annotations: Record<string, string> };

  it("joins the pod's namespaces and mounts its files and shm", () => {
    const spec = buildContainerSpec({ ...base, request: request({ security: { ...request().security, pidMode: "POD" } }) }) as Spec;
    expect(spec.linux.namespaces).toEqual([{ type: "mount" }, { type: "network", path: "/ns/net" }, { type: "ipc", path: "/ns/ipc" }, { type: "uts", path: "/ns/uts" }, { type: "pid", path: "/proc/42/ns/pid" }]);
    const byDest = Object.fromEntries(spec.mounts.map((m) => [m.destination, m]));
    expect(byDest["/etc/hosts"]!.source).toBe("/files/hosts");
    expect(byDest["/etc/resolv.conf"]!.source).toBe("/files/resolv.conf");
    expect(byDest["/dev/shm"]!.source).toBe("/shm");
    expect(spec.linux.cgroupsPath).toBe("/kubepods/pod1/abc");
    expect(spec.process.user).toEqual({ uid: 1, gid: 2, additionalGids: [3] });
    expect(spec.annotations["io.kubernetes.cri.sandbox-id"]).toBe("sb");
  });

  it("joins a target container's PID namespace, the host's with NODE, or makes its own", () => {
    const pidNs = (pidMode: "CONTAINER" | "NODE" | "TARGET", pidTargetPid?: number) =>
      ((buildContainerSpec({ ...base, pidTargetPid, request: request({ security: { ...request().security, pidMode } }) }) as Spec).linux.namespaces as { type: string; path?: string }[]).find((n) => n.type === "pid");
    expect(pidNs("TARGET", 777)).toEqual({ type: "pid", path: "/proc/777/ns/pid" });
    expect(pidNs("NODE")).toBeUndefined();
    expect(pidNs("CONTAINER")).toEqual({ type: "pid" });
  });

  it("maps mounts with propagation, resources, and clamps oom_score_adj", () => {
    const spec = buildContainerSpec({
      ...base,
      oomScoreAdjFloor: -500,
      request: request({
        mounts: [{ containerPath: "/data", hostPath: "/srv", readonly: true, propagation: "host-to-container" }],
        resources: { cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 1024, oomScoreAdj: -999 },
      }),
    }) as Spec;
    expect(spec.mounts.find((m) => m.destination === "/data")).toEqual({ destination: "/data", type: "bind", source: "/srv", options: ["rbind", "rslave", "ro"] });
    expect(spec.linux.resources).toMatchObject({ cpu: { quota: 50000, period: 100000 }, memory: { limit: 1024 } });
    expect(spec.process.oomScoreAdj).toBe(-500);
  });

  it("masks paths unless privileged, and honours CRI lists", () => {
    const plain = buildContainerSpec({ ...base, request: request() }) as Spec;
    expect(plain.linux.maskedPaths).toContain("/proc/kcore");
    const custom = buildContainerSpec({ ...base, request: request({ security: { ...request().security, maskedPaths: ["/x"], readonlyPaths: ["/y"] } }) }) as Spec;
    expect([custom.linux.maskedPaths, custom.linux.readonlyPaths]).toEqual([["/x"], ["/y"]]);
    const priv = buildContainerSpec({ ...base, request: request({ security: { ...request().security, privileged: true } }) }) as Spec;
    expect(priv.linux.maskedPaths).toEqual([]);
    expect(priv.mounts.find((m) => m.destination === "/dev")!.source).toBe("/dev");
  });
});

describe("users", () => {
  const passwd = parsePasswd("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n");
  const groups = parseGroup("root:x:0:\nalice:x:1000:\ndevs:x:2000:alice,bob\n");
  it.each([
    [{ imageUser: "" }, { uid: 0, gid: 0, additionalGids: [] }],
    [{ imageUser: "alice" }, { uid: 1000, gid: 1000, additionalGids: [2000] }],
    [{ imageUser: "1000:devs" }, { uid: 1000, gid: 2000, additionalGids: [] }],
    [{ imageUser: "alice", runAsUser: 5 }, { uid: 5, gid: 0, additionalGids: [] }],
    [{ imageUser: "", runAsUsername: "alice", runAsGroup: 7, supplementalGroups: [9] }, { uid: 1000, gid: 7, additionalGids: [2000, 9] }],
    // Strict (KEP-3619): the request's groups only, none from the image's /etc/group
    [{ imageUser: "alice", supplementalGroups: [9], supplementalGroupsPolicy: "strict" as const }, { uid: 1000, gid: 1000, additionalGids: [9] }],
    [{ imageUser: "alice", supplementalGroups: [9], supplementalGroupsPolicy: "merge" as const }, { uid: 1000, gid: 1000, additionalGids: [2000, 9] }],
  ])("resolves %j", (req, expected) => {
    expect(resolveUser({ supplementalGroups: [], ...req }, passwd, groups)).toEqual(expected);
  });
  it("reads a process's identity from /proc/<pid>/status, its primary group among its groups", () => {
    const status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t2000 1234 \n";
    expect(parseProcessIdentity(status)).toEqual({ uid: 1000, gid: 1000, groups: [1000, 1234, 2000] });
    expect(parseProcessIdentity("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n")).toEqual({ uid: 0, gid: 0, groups: [0] });
    // An empty Groups line followed by more fields, as /proc shows it.
    expect(parseProcessIdentity("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t \nNStgid:\t42\n")).toEqual({ uid: 0, gid: 0, groups: [0] });
    expect(parseProcessIdentity("Name:\tgone\n")).toBeUndefined();
  });
  it("refuses unknown names", () => {
    expect(() => resolveUser({ imageUser: "nobody-here", supplementalGroups: [] }, passwd, groups)).toThrow(/not in the image's \/etc\/passwd/);
  });
  it("reads files of a rootfs without following symlinks out of it", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "rootfs-"));
    const outside = await mkdtemp(path.join(os.tmpdir(), "outside-"));
    await writeFile(path.join(outside, "secret"), "host secret");
    await mkdir(path.join(root, "etc"));
    await writeFile(path.join(root, "etc", "real"), "inside");
    await symlink("/etc/real", path.join(root, "etc", "passwd"));
    await symlink(path.join(outside, "secret"), path.join(root, "etc", "group"));
    await symlink("../../../../..", path.join(root, "up"));
    expect(await readFileInRoot(root, "/etc/passwd")).toBe("inside");
    expect(await readFileInRoot(root, "/etc/group")).toBe("");
    expect(await readFileInRoot(root, `/up${outside}/secret`)).toBe("");
  });
});

describe("conmon sync messages", () => {
  it("reads the pid or the error", () => {
    expect(parseSyncMessage('{"data": 1234}')).toEqual({ pid: 1234 });
    expect(parseSyncMessage('{"pid": 77}')).toEqual({ pid: 77 });
    expect(parseSyncMessage('{"data": -1, "message": "runc create failed"}')).toEqual({ message: "runc create failed" });
  });
});

describe("seccomp", () => {
  const base = { id: "a", sandboxId: "s", rootfs: "/r", image: { config: { Cmd: ["sh"] } }, pod: { namespaces: {}, hostname: "h", filesDir: "/f", cgroupParent: "" }, user: { uid: 0, gid: 0, additionalGids: [] }, oomScoreAdjFloor: 0, availableCapabilities: DEFAULT_CAPABILITIES };
  const seccompOf = (sec: Partial<ContainerRequest["security"]>, localhostSeccomp?: object) =>
    (buildContainerSpec({ ...base, localhostSeccomp, request: request({ security: { ...request().security, ...sec } }) }) as { linux: { seccomp?: { syscalls: { names: string[] }[] } } }).linux.seccomp;
  it("blocks Docker's blocked syscalls with RuntimeDefault, nothing when unconfined or privileged", () => {
    const names = seccompOf({ seccomp: { kind: "runtime-default" } })!.syscalls[0]!.names;
    for (const s of ["unshare", "keyctl", "mount", "ptrace", "reboot", "setns"]) expect(names).toContain(s);
    expect(seccompOf({ seccomp: { kind: "unconfined" } })).toBeUndefined();
    expect(seccompOf({ seccomp: { kind: "runtime-default" }, privileged: true })).toBeUndefined();
    expect(seccompOf({ seccomp: { kind: "localhost", path: "/p.json" } }, { defaultAction: "SCMP_ACT_LOG" })).toEqual({ defaultAction: "SCMP_ACT_LOG" });
  });
  it("lets clone make no namespace and answers ENOSYS to clone3 without CAP_SYS_ADMIN; a capability gives back its syscalls", async () => {
    const { runtimeDefaultProfile } = await import("../../src/runtime/spec/seccomp.js");
    type Rule = { names: string[]; errnoRet?: number; args?: { index: number; value: number; valueTwo: number; op: string }[] };
    const plain = (runtimeDefaultProfile(DEFAULT_CAPABILITIES) as { syscalls: Rule[] }).syscalls;
    const clone = plain.filter((r) => r.names.includes("clone"));
    expect(clone).toHaveLength(7);
    expect(clone.reduce((mask, r) => mask | r.args![0]!.value, 0)).toBe(0x7e020000);
    for (const r of clone) expect(r.args).toEqual([{ index: 0, value: r.args![0]!.value, valueTwo: r.args![0]!.value, op: "SCMP_CMP_MASKED_EQ" }]);
    expect(plain.find((r) => r.names.includes("clone3"))!.errnoRet).toBe(38);
    const admin = (runtimeDefaultProfile([...DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]) as { syscalls: Rule[] }).syscalls;
    expect(admin).toHaveLength(1);
    for (const s of ["unshare", "mount", "setns", "ptrace"]) expect(admin[0]!.names).not.toContain(s);
    for (const s of ["keyctl", "reboot", "kexec_load"]) expect(admin[0]!.names).toContain(s);
    // The spec builder passes the container's own capabilities.
    const added = seccompOf({ seccomp: { kind: "runtime-default" }, capAdd: ["SYS_ADMIN"] })!.syscalls;
    expect(added[0]!.names).not.toContain("unshare");
  });
  it("validates localhost profiles", async () => {
    const { parseLocalhostProfile } = await import("../../src/runtime/spec/seccomp.js");
    expect(() => parseLocalhostProfile("{", "/p.json")).toThrow(/not valid JSON/);
    expect(() => parseLocalhostProfile("{}", "/p.json")).toThrow(/no defaultAction/);
  });
});

describe("resources and image volumes", () => {
  it("maps swap, hugepage limits and unified keys to the OCI spec", async () => {
    const { ociResources } = await import("../../src/runtime/spec/container-spec.js");
    expect(ociResources({ memoryLimit: 100, memorySwapLimit: 200, hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }], unified: { "memory.high": "50" } })).toEqual({
      memory: { limit: 100, swap: 200 },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      unified: { "memory.high": "50" },
    });
    expect(ociResources({ hugepageLimits: [], unified: {} })).toEqual({});
  });
  it("mounts image volumes before CRI mounts", () => {
    const spec = buildContainerSpec({
      id: "a", sandboxId: "s", rootfs: "/r", image: { config: { Cmd: ["sh"] } }, pod: { namespaces: {}, hostname: "h", filesDir: "/f", cgroupParent: "" },
      user: { uid: 0, gid: 0, additionalGids: [] }, oomScoreAdjFloor: 0, availableCapabilities: DEFAULT_CAPABILITIES,
      imageVolumes: [{ containerPath: "/data", hostPath: "/c/volumes/0" }],
      request: request({ mounts: [{ containerPath: "/data/sub", hostPath: "/srv", readonly: false, propagation: "private" }] }),
    }) as { mounts: { destination: string; source: string }[] };
    const dests = spec.mounts.map((m) => m.destination);
    expect(dests.indexOf("/data")).toBeLessThan(dests.indexOf("/data/sub"));
    expect(spec.mounts.find((m) => m.destination === "/data")!.source).toBe("/c/volumes/0");
  });
});

describe("device numbers", () => {
  it("splits dev_t as glibc does, including large majors and minors", async () => {
    const { splitDevice } = await import("../../src/runtime/containers.js");
    expect(splitDevice(0x103n)).toEqual({ major: 1, minor: 3 }); // /dev/null
    expect(splitDevice((0x1n << 44n) | (0xabcn << 8n) | 0x12n | (0x345n << 20n))).toEqual({ major: 0x1abc, minor: 0x34512 });
  });
});

describe("mount propagation", () => {
  it("makes the rootfs rslave or rshared when a mount needs it, and finds the mount a path is on", async () => {
    const { rootfsPropagation } = await import("../../src/runtime/spec/container-spec.js");
    const { mountOf, parseMountInfo } = await import("../../src/util/mounts.js");
    const m = (propagation: "private" | "host-to-container" | "bidirectional") => ({ containerPath: "/x", hostPath: "/y", readonly: false, propagation });
    expect(rootfsPropagation([])).toBe("rprivate");
    expect(rootfsPropagation([m("private"), m("host-to-container")])).toBe("rslave");
    expect(rootfsPropagation([m("host-to-container"), m("bidirectional")])).toBe("rshared");
    const table = parseMountInfo(
      [
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
        "90 27 254:0 /tmp/a /tmp/a rw,relatime shared:5 - ext4 /dev/vda rw",
        "91 90 0:50 / /tmp/a/sub\\040dir rw master:7 - tmpfs tmpfs rw",
      ].join("\n"),
    );
    expect(table.map((e) => [e.mountPoint, e.optional])).toEqual([
      ["/", []],
      ["/tmp/a", ["shared:5"]],
      ["/tmp/a/sub dir", ["master:7"]],
    ]);
    expect(mountOf(table, "/tmp/a/x")!.mountPoint).toBe("/tmp/a");
    expect(mountOf(table, "/tmp/ab")!.mountPoint).toBe("/");
    expect(mountOf(table, "/tmp/a/sub dir/f")!.optional).toEqual(["master:7"]);
  });
});

describe("stop signal names (ContainerStatus.stop_signal)", () => {
  it.each([
    ["SIGTERM", "SIGTERM"],
    ["SIGQUIT", "SIGQUIT"],
    ["quit", "SIGQUIT"],
    ["3", "SIGQUIT"],
    ["SIGRTMIN+2", "SIGRTMINPLUS2"],
    ["SIGRTMAX-1", "SIGRTMAXMINUS1"],
    ["SIGNOPE", "RUNTIME_DEFAULT"],
    ["999", "RUNTIME_DEFAULT"],
  ])("%s -> %s", (signal, name) => {
    expect(stopSignalName(signal)).toBe(name);
  });
});

describe("recursive read-only mounts", () => {
  it("are offered for runc and crun on Linux 5.12 and later only", () => {
    expect(supportsRecursiveReadOnly("runc", "6.18.44-fc")).toBe(true);
    expect(supportsRecursiveReadOnly("/usr/bin/crun", "5.12.0")).toBe(true);
    expect(supportsRecursiveReadOnly("crun", "5.11.9")).toBe(false);
    expect(supportsRecursiveReadOnly("/opt/kata/runtime", "6.1.0")).toBe(false);
  });
  it("are checked at the CRI edge: read-only and private only", () => {
    const config = (m: object) => ({ metadata: { name: "c", attempt: 0 }, image: { image: "i" }, mounts: [{ container_path: "/mnt", host_path: "/h", readonly: true, propagation: "PROPAGATION_PRIVATE", ...m }] });
    expect(toContainerRequest(config({ recursive_read_only: true }) as never).mounts[0]).toMatchObject({ readonly: true, recursiveReadOnly: true });
    expect(() => toContainerRequest(config({ recursive_read_only: true, readonly: false }) as never)).toThrow(/needs readonly/);
    expect(() => toContainerRequest(config({ recursive_read_only: true, propagation: "PROPAGATION_HOST_TO_CONTAINER" }) as never)).toThrow(/needs propagation PROPAGATION_PRIVATE/);
  });
});
