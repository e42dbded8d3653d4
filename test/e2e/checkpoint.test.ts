// CheckpointContainer and restore (CreateContainer with a checkpoint archive
// as its image) through the CRI socket, with runc and CRIU. Where no CRIU can
// run on this kernel, the refusal and the Status info that says why are what
// is checked; the checkpoint-and-resume test then needs a CRIU that works,
// named by SKIFF_TEST_CRIU (see the README).

import { execFileSync } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { waitFor } from "./harness/processes.js";
import { fixtureDir } from "./harness/run-dir.js";
import { criuProblem } from "../../src/runtime/checkpoint/criu-support.js";
import { packDirectoryTo, unpackInto } from "../../src/runtime/checkpoint/archive.js";
import { chown, lstat, mkdir, readlink, symlink, writeFile, link } from "node:fs/promises";

const CRI_LINE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/;
const criu = process.env.SKIFF_TEST_CRIU || "criu";
const problem = await criuProblem(criu);

describe("a writable layer in a checkpoint archive", () => {
  it("is written as an OCI layer (whiteouts, opaque directories) and read back in overlay form, owners, modes and links kept", async () => {
    const dir = await fixtureDir("diff");
    const upper = path.join(dir, "upper");
    await mkdir(path.join(upper, "etc", "opaque"), { recursive: true });
    await writeFile(path.join(upper, "etc", "conf"), "x=1\n", { mode: 0o640 });
    await chown(path.join(upper, "etc", "conf"), 1234, 2345);
    await link(path.join(upper, "etc", "conf"), path.join(upper, "etc", "conf-link"));
    await symlink("conf", path.join(upper, "etc", "alias"));
    execFileSync("mknod", [path.join(upper, "etc", "deleted"), "c", "0", "0"]);
    execFileSync("mkfifo", [path.join(upper, "pipe")]);
    execFileSync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", path.join(upper, "etc", "opaque")]);
    const tar = path.join(dir, "diff.tar");
    await packDirectoryTo(upper, tar, true);
    const names = execFileSync("tar", ["-tf", tar], { encoding: "utf8" }).trim().split("\n").sort();
    expect(names).toEqual(["etc/", "etc/.wh.deleted", "etc/alias", "etc/conf", "etc/conf-link", "etc/opaque/", "etc/opaque/.wh..wh..opq", "pipe"]);
    const back = path.join(dir, "back");
    await mkdir(back);
    await unpackInto(tar, back);
    const conf = await lstat(path.join(back, "etc", "conf"));
    expect([conf.uid, conf.gid, conf.mode & 0o7777, conf.nlink]).toEqual([1234, 2345, 0o640, 2]);
    expect((await lstat(path.join(back, "etc", "conf-link"))).ino).toBe(conf.ino);
    expect(await readlink(path.join(back, "etc", "alias"))).toBe("conf");
    const whiteout = await lstat(path.join(back, "etc", "deleted"));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect((await lstat(path.join(back, "pipe"))).isFIFO()).toBe(true);
    expect(execFileSync("getfattr", ["--only-values", "-n", "trusted.overlay.opaque", path.join(back, "etc", "opaque")], { encoding: "utf8" })).toBe("y");
  });
});

describe("checkpoint/restore refused where it cannot work", () => {
  const f = useContainerDaemon({ runtime: { default_handler: "runc" }, checkpoint: { criu: "/nonexistent/criu" } });

  it("answers FAILED_PRECONDITION naming why, for runc without CRIU and for crun, and says so in Status", async () => {
    const pod = await startPod(f.d, "nocriu");
    const id = await runContainer(f.d, pod, containerConfig("sleeper", f.image, { command: ["sleep", "3600"] }));
    const location = path.join(await fixtureDir("cp"), "out.tar");
    const err = await grpcError(f.d.client.runtime.CheckpointContainer({ container_id: id, location }));
    expect([err.code, err.details]).toEqual([grpc.status.FAILED_PRECONDITION, expect.stringMatching(/cannot be checkpointed: CRIU \(\/nonexistent\/criu\) is not installed/)]);
    await expect(stat(location)).rejects.toThrow(/ENOENT/);
    const crunPod = await startPod(f.d, "crun-pod");
    await f.d.client.runtime.StopPodSandbox({ pod_sandbox_id: crunPod.id });
    const info = JSON.parse((await f.d.client.runtime.Status({ verbose: true })).info.runtimeHandlers!) as { checkpointRestore: Record<string, string> };
    expect(info.checkpointRestore.runc).toMatch(/CRIU \(\/nonexistent\/criu\) is not installed/);
    expect(info.checkpointRestore.crun).toMatch(/cannot checkpoint containers here \(runc can\)/);
    // Bad requests, before anything else.
    const bad = async (req: object) => {
      const e = await grpcError(f.d.client.runtime.CheckpointContainer(req));
      return [e.code, e.details];
    };
    expect(await bad({ container_id: id, location: "" })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/location .* is required/)]);
    expect(await bad({ container_id: id, location: "relative.tar" })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/must be an absolute path/)]);
    expect(await bad({ container_id: id, location: "/nonexistent-dir/x.tar" })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/does not exist/)]);
    expect(await bad({ container_id: "0000", location })).toEqual([grpc.status.NOT_FOUND, expect.any(String)]);
    // A restore from a file that is no archive, or none at all.
    const restoreErr = async (image: string) => {
      const e = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("restored", image), sandbox_config: pod.config }));
      return [e.code, e.details];
    };
    expect(await restoreErr("/nonexistent/checkpoint.tar")).toEqual([grpc.status.NOT_FOUND, expect.stringMatching(/checkpoint archive \/nonexistent\/checkpoint.tar not found/)]);
  });
});

describe.skipIf(problem !== undefined)(`checkpoint and restore with ${criu}`, () => {
  // Skipped when no CRIU works here (Debian 12's cannot parse Linux 6.13+'s vDSO): ${problem}
  const f = useContainerDaemon({ runtime: { default_handler: "runc" }, checkpoint: { criu } });

  it("checkpoints a running counter, leaves it running, and resumes it from where it was in a new pod", async () => {
    const pod = await startPod(f.d, "cp-source");
    const script = "echo kept > /marker; rm /etc/group; i=0; while true; do i=$((i+1)); echo $i; echo $i > /count; sleep 0.1; done";
    const id = await runContainer(f.d, pod, containerConfig("counter", f.image, { command: ["sh", "-c", script], labels: { app: "counter" } }));
    await waitFor("the counter to pass 10", async () => {
      const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["cat", "/count"], timeout: "5" });
      return Number(Buffer.from(r.stdout).toString()) > 10 ? true : undefined;
    }, 10_000);
    const location = path.join(await fixtureDir("cp"), "counter.tar");
    await f.d.client.runtime.CheckpointContainer({ container_id: id, location, timeout: "60" });
    const members = execFileSync("tar", ["-tf", location], { encoding: "utf8" }).split("\n");
    expect(members).toEqual(expect.arrayContaining(["config.dump", "spec.dump", "rootfs-diff.tar", "checkpoint/"]));
    expect(execFileSync("tar", ["-xOf", location, "rootfs-diff.tar"]).includes(Buffer.from("etc/.wh.group"))).toBe(true);
    // Left running, and still counting.
    const after = (await f.d.client.runtime.ContainerStatus({ container_id: id })).status!;
    expect(after.state).toBe("CONTAINER_RUNNING");
    const atCheckpoint = Number(execFileSync("sh", ["-c", `tar -xOf ${location} rootfs-diff.tar | tar -xOf - count`], { encoding: "utf8" }));
    expect(atCheckpoint).toBeGreaterThan(10);
    await f.d.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id });

    const target = await startPod(f.d, "cp-target");
    const restored = await runContainer(f.d, target, containerConfig("counter-again", location));
    const s = (await f.d.client.runtime.ContainerStatus({ container_id: restored })).status!;
    expect([s.state, s.image!.image, s.labels]).toEqual(["CONTAINER_RUNNING", f.image, {}]);
    // The process goes on from its memory: the first number it logs here follows the checkpointed count.
    const first = await waitFor("the restored counter's first line", async () => {
      const line = (await readFile(s.log_path, "utf8").catch(() => "")).split("\n")[0];
      return line ? Number(CRI_LINE.exec(line)![4]) : undefined;
    }, 10_000);
    expect(first).toBe(atCheckpoint + 1);
    const files = await f.d.client.runtime.ExecSync({ container_id: restored, cmd: ["sh", "-c", "cat /marker; test -e /etc/group && echo group || echo no-group"], timeout: "5" });
    expect(Buffer.from(files.stdout).toString().split("\n")).toEqual(["kept", "no-group", ""]);
  });
});
