// The pure parts of checkpoint/restore: the archive's record, how a restore
// request combines it with the new request, and dev_t numbers.

import { describe, expect, it } from "vitest";
import { deviceNumbers } from "../../src/runtime/checkpoint/archive.js";
import { mergeRestoreRequest, namesArchive, parseCheckpointDump, type CheckpointDump } from "../../src/runtime/checkpoint/checkpoint-archive.js";
import { runtimeSupportsCheckpoint } from "../../src/runtime/checkpoint/criu-support.js";
import type { ContainerRequest } from "../../src/runtime/types.js";

const request = (over: Partial<ContainerRequest>): ContainerRequest =>
  ({
    metadata: { name: "old", attempt: 3 }, image: "reg/app:1", command: ["sh", "-c", "count"], args: [], workingDir: "/w", envs: [["A", "1"]], mounts: [], devices: [], labels: { old: "1" }, annotations: { a: "old" }, logPath: "old/3.log",
    stdin: false, stdinOnce: false, tty: false, security: { privileged: false, readonlyRootfs: false, supplementalGroups: [], capAdd: [], capDrop: [], noNewPrivs: false, pidMode: "CONTAINER", seccomp: { kind: "unconfined" } }, resources: { memoryLimit: 1 << 30 },
    ...over,
  }) as ContainerRequest;

describe("checkpoint archives", () => {
  const dump: CheckpointDump = { version: 1, id: "c1", name: "n", imageId: "sha256:abc", imageRef: "reg/app:1", request: request({}), runtimeHandler: "runc", checkpointedAt: "1" };
  it("reads config.dump, refusing what is not one", () => {
    expect(parseCheckpointDump(JSON.stringify(dump), "/a.tar")).toEqual(dump);
    expect(() => parseCheckpointDump("{", "/a.tar")).toThrow(/\/a.tar is not a skiff checkpoint archive: its config.dump is not JSON/);
    expect(() => parseCheckpointDump(JSON.stringify({ ...dump, version: 2 }), "/a.tar")).toThrow(/lacks version, imageId or request/);
    expect(() => parseCheckpointDump(JSON.stringify({ ...dump, request: { command: "x" } }), "/a.tar")).toThrow(/lacks/);
  });
  it("restores the checkpointed process where the new request puts it", () => {
    const asked = request({ metadata: { name: "new", attempt: 0 }, image: "/cp/a.tar", command: ["ignored"], labels: { new: "1" }, annotations: {}, logPath: "new/0.log" });
    const merged = mergeRestoreRequest(dump, asked);
    expect(merged).toMatchObject({ metadata: { name: "new", attempt: 0 }, image: "reg/app:1", command: ["sh", "-c", "count"], workingDir: "/w", labels: { new: "1" }, annotations: {}, logPath: "new/0.log", resources: { memoryLimit: 1 << 30 } });
    const mount = { containerPath: "/data", hostPath: "/h", readonly: false, propagation: "private" as const };
    expect(mergeRestoreRequest({ ...dump, request: request({ mounts: [mount] }) }, asked).mounts).toEqual([mount]);
    expect(mergeRestoreRequest({ ...dump, request: request({ mounts: [mount] }) }, { ...asked, mounts: [{ ...mount, hostPath: "/new" }] }).mounts[0]!.hostPath).toBe("/new");
  });
  it("tells an archive path from an image name, and which runtimes can checkpoint", () => {
    expect([namesArchive("/var/lib/kubelet/checkpoints/c.tar"), namesArchive("busybox:1"), namesArchive("127.0.0.1:5000/x")]).toEqual([true, false, false]);
    expect([runtimeSupportsCheckpoint("/usr/sbin/runc"), runtimeSupportsCheckpoint("runc"), runtimeSupportsCheckpoint("crun")]).toEqual([true, true, false]);
  });
  it("splits dev_t as glibc does", () => {
    expect(deviceNumbers(0)).toEqual({ major: 0, minor: 0 });
    expect(deviceNumbers((1 << 8) | 3)).toEqual({ major: 1, minor: 3 }); // /dev/null 1:3
    expect(deviceNumbers(0xabcfffff)).toEqual({ major: 0xfff, minor: 0xabcff }); // minor bits above 8 sit above the major's 12
  });
});
