// Containers through the CRI socket: real conmon, runc and crun, overlay
// rootfs from pulled images, CRI log files, exit codes.

import { spawnSync } from "node:child_process";
import { existsSync, readlinkSync } from "node:fs";
import { mkdir, readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { busyboxImage, containerConfig, runContainer, startPod, useContainerDaemon, waitExited } from "./harness/containers.js";
import { TestDaemon } from "./harness/daemon.js";
import { mountsUnder } from "./harness/mounts.js";
import { podConfig, removeAllPods } from "./harness/pods.js";
import { editRecords } from "./harness/records.js";
import { waitFor } from "./harness/processes.js";
import { TestRegistry } from "./harness/registry.js";
import { fixtureDir } from "./harness/run-dir.js";
import { execCommand } from "../../src/util/exec.js";
import type { StoredRecord } from "../../src/store/record-store.js";

const CRI_LINE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/;

/** Pids of conmon processes whose container name (-n) starts with `prefix`. */
async function conmonsNamed(prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of (await readdir("/proc")).filter((e) => /^\d+$/.test(e))) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    const n = argv.indexOf("-n");
    if (argv[0]?.endsWith("conmon") && n > 0 && argv[n + 1]?.startsWith(prefix)) out.push(Number(pid));
  }
  return out;
}

for (const handler of ["runc", "crun"] as const) {
  describe(`containers (${handler})`, () => {
    const f = useContainerDaemon({ runtime: { default_handler: handler } });

    it("writes stdout and stderr to the CRI log file, tagging partial lines", async () => {
      const pod = await startPod(f.d, "logs");
      const long = "x".repeat(20_000);
      const id = await runContainer(f.d, pod, containerConfig("echo", f.image, { command: ["sh", "-c", `echo hello; echo oops >&2; printf 'no-newline'; echo; echo ${long}`] }));
      const s = await waitExited(f.d, id);
      expect(s).toMatchObject({ exit_code: 0, reason: "Completed", log_path: path.join(pod.logDir, "echo/0.log") });
      const lines = (await readFile(s.log_path, "utf8")).split("\n").filter(Boolean).map((l) => CRI_LINE.exec(l)!);
      expect(lines.every(Boolean)).toBe(true);
      for (const l of lines) expect(Number.isNaN(Date.parse(l[1]!))).toBe(false);
      const out = lines.filter((l) => l[2] === "stdout");
      expect(out[0]!.slice(3)).toEqual(["F", "hello"]);
      expect(lines.find((l) => l[2] === "stderr")!.slice(3)).toEqual(["F", "oops"]);
      // the long line arrives as partial (P) pieces followed by one full (F) piece
      const longParts = out.filter((l) => l[4]!.startsWith("x"));
      expect(longParts.length).toBeGreaterThan(1);
      expect(longParts.slice(0, -1).every((l) => l[3] === "P")).toBe(true);
      expect(longParts.at(-1)![3]).toBe("F");
      expect(longParts.map((l) => l[4]).join("")).toBe(long);
    });

    it("reports exit codes and reasons, and timestamps in order", async () => {
      const pod = await startPod(f.d, "codes");
      const failed = await waitExited(f.d, await runContainer(f.d, pod, containerConfig("three", f.image, { command: ["sh", "-c", "exit 3"] })));
      expect(failed).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 3, reason: "Error" });
      // A command that ends at once, a few times: its exit must never seem to come before its start.
      for (const n of [1, 2, 3]) {
        const ok = await waitExited(f.d, await runContainer(f.d, pod, containerConfig(`true${n}`, f.image, { command: ["true"] })));
        expect(ok).toMatchObject({ exit_code: 0, reason: "Completed" });
        expect(BigInt(ok.created_at)).toBeGreaterThan(0n);
        expect(BigInt(ok.started_at)).toBeGreaterThanOrEqual(BigInt(ok.created_at));
        expect(BigInt(ok.finished_at)).toBeGreaterThanOrEqual(BigInt(ok.started_at));
        expect(ok.image_id).toMatch(/^sha256:/);
      }
    });

    it("stops a SIGTERM-ignoring process with SIGKILL after the timeout", async () => {
      const pod = await startPod(f.d, "stubborn");
      const id = await runContainer(f.d, pod, containerConfig("ignore", f.image, { command: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"] }));
      const t0 = Date.now();
      await f.d.client.runtime.StopContainer({ container_id: id, timeout: "2" });
      const elapsed = Date.now() - t0;
      const s = (await f.d.client.runtime.ContainerStatus({ container_id: id })).status!;
      expect(s).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 137 });
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(10_000);
      // stopping again is fine
      await f.d.client.runtime.StopContainer({ container_id: id, timeout: "2" });
    });

    it("stops a process that handles SIGTERM at once, lists containers and removes them", async () => {
      const pod = await startPod(f.d, "polite");
      // PID 1 of a PID namespace only gets signals it handles, so this one handles TERM.
      const id = await runContainer(f.d, pod, containerConfig("sleeper", f.image, { command: ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"], labels: { role: "sleeper" } }));
      const created = (await f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("later", f.image, { command: ["true"] }), sandbox_config: pod.config })).container_id;
      const ids = async (filter: object) => (await f.d.client.runtime.ListContainers({ filter })).containers.map((c) => c.id).sort();
      expect(await ids({ pod_sandbox_id: pod.id.slice(0, 10) })).toEqual([id, created].sort());
      expect(await ids({ state: { state: "CONTAINER_RUNNING" } })).toEqual([id]);
      expect(await ids({ state: { state: "CONTAINER_CREATED" } })).toEqual([created]);
      expect(await ids({ label_selector: { role: "sleeper" } })).toEqual([id]);
      expect(await ids({ id: id.slice(0, 12) })).toEqual([id]);

      const t0 = Date.now();
      await f.d.client.runtime.StopContainer({ container_id: id, timeout: "10" });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status).toMatchObject({ exit_code: 7, reason: "Error" });
      expect(await ids({ state: { state: "CONTAINER_EXITED" } })).toEqual([id]);

      await f.d.client.runtime.RemoveContainer({ container_id: id });
      await f.d.client.runtime.RemoveContainer({ container_id: id });
      await f.d.client.runtime.RemoveContainer({ container_id: created });
      expect(await ids({})).toEqual([]);
      const err = await grpcError(f.d.client.runtime.ContainerStatus({ container_id: id }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      // What is left of a removed container goes right after the call, off its path.
      await waitFor("the removed containers' directories to go", async () => ((await readdir(path.join(f.d.root, "containers"))).join() === "records" ? true : undefined), 5000);
    });

    it("deletes an exited container's runtime state soon after its exit, or right after a RemoveContainer that comes first", async () => {
      const pod = await startPod(f.d, "released");
      const known = (id: string) => spawnSync(handler, ["--root", path.join(f.d.state, handler), "state", id]).status === 0;
      // Exited on its own and not removed: its runtime state (and cgroup) goes a moment after the exit.
      const ended = await waitExited(f.d, await runContainer(f.d, pod, containerConfig("ended", f.image, { command: ["true"] })));
      await waitFor("the exited container's runtime state to go", async () => (known(ended.id) ? undefined : true), 10_000);
      expect((await f.d.client.runtime.ContainerStatus({ container_id: ended.id })).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 0 });
      // Removed right after its stop: the removal deletes it.
      const stopped = await runContainer(f.d, pod, containerConfig("stopped", f.image, { command: ["sleep", "100"] }));
      expect(known(stopped)).toBe(true);
      await f.d.client.runtime.StopContainer({ container_id: stopped, timeout: "0" });
      await f.d.client.runtime.RemoveContainer({ container_id: stopped });
      await waitFor("the removed container's runtime state to go", async () => (known(stopped) ? undefined : true), 10_000);
      expect(await readFile(f.d.logFile, "utf8")).not.toContain("cannot delete an exited container's runtime state");
    });

    it("stops with the config's stop_signal and reports the signal in the status (KEP-4960)", async () => {
      const pod = await startPod(f.d, "stopsig");
      // Handles only USR1: a TERM would be ignored by PID 1 and the stop would need the 10 s timeout and SIGKILL.
      const custom = await runContainer(f.d, pod, containerConfig("usr1", f.image, { command: ["sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done"], stop_signal: "SIGUSR1" }));
      const plain = await runContainer(f.d, pod, containerConfig("plain", f.image, { command: ["sleep", "100"] }));
      expect((await f.d.client.runtime.ContainerStatus({ container_id: custom })).status!.stop_signal).toBe("SIGUSR1");
      expect((await f.d.client.runtime.ContainerStatus({ container_id: plain })).status!.stop_signal).toBe("SIGTERM");
      const t0 = Date.now();
      await f.d.client.runtime.StopContainer({ container_id: custom, timeout: "10" });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await f.d.client.runtime.ContainerStatus({ container_id: custom })).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 42 });
    });

    it("starts runc's cgroup attach early from the daemon's own cgroup, leaving the daemon where it was", async () => {
      const before = await readFile(`/proc/${f.d.pid}/cgroup`, "utf8");
      const pod = await startPod(f.d, "primed");
      for (const n of [1, 2]) await waitExited(f.d, await runContainer(f.d, pod, containerConfig(`primed${n}`, f.image, { command: ["true"] })));
      expect(await readFile(`/proc/${f.d.pid}/cgroup`, "utf8")).toBe(before);
      expect(await readFile(f.d.logFile, "utf8")).not.toContain("cgroup attach priming turned off");
    });

    it("refuses containers with a duplicate name, an unknown f.image, or in a stopped pod", async () => {
      const pod = await startPod(f.d, "refuse");
      const config = containerConfig("dup", f.image, { command: ["sleep", "100"] });
      const first = (await f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config })).container_id;
      let err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
      expect(err.details).toContain(first);
      err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("noimg", "nowhere/nothing:1"), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toContain('image "nowhere/nothing:1" not found');
      for (const logPath of ["../escaped.log", "a/../../../escaped.log"]) {
        err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("escape", f.image, { log_path: logPath }), sandbox_config: pod.config }));
        expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err.details).toContain(`log_path "${logPath}" leaves the pod's log_directory`);
      }
      expect(existsSync(path.join(path.dirname(pod.logDir), "escaped.log"))).toBe(false);
      // Fails after conmon has started (it starts while the rootfs is mounted): nothing stays.
      const before = await readdir(path.join(f.d.root, "containers"));
      err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("nouser", f.image, { linux: { security_context: { run_as_username: "nobody-here" } } }), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain('user "nobody-here" is not in the image\'s /etc/passwd');
      expect(existsSync(path.join(pod.logDir, "nouser", "0.log"))).toBe(false);
      expect(await conmonsNamed("nouser_")).toEqual([]);
      expect(await readdir(path.join(f.d.root, "containers"))).toEqual(before);
      await f.d.client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id });
      // stopping the pod stopped its container
      expect((await f.d.client.runtime.ContainerStatus({ container_id: first })).status!.state).toBe("CONTAINER_EXITED");
      err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("late", f.image), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: "f".repeat(64), config: containerConfig("x", f.image), sandbox_config: pod.config }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    });
  });
}

for (const handler of ["runc", "crun"] as const) describe(`containers: security, resources and pods (${handler})`, () => {
  const f = useContainerDaemon({ runtime: { default_handler: handler } });

  /** Runs `script` to completion and returns its exit code and stdout lines. */
  async function runScript(pod: Awaited<ReturnType<typeof startPod>>, name: string, script: string, extra: Parameters<typeof containerConfig>[2] = {}) {
    const id = await runContainer(f.d, pod, containerConfig(name, f.image, { command: ["sh", "-c", script], ...extra }));
    const s = await waitExited(f.d, id);
    const out = (await readFile(s.log_path, "utf8")).split("\n").filter(Boolean).map((l) => CRI_LINE.exec(l)!).filter((m) => m[2] === "stdout").map((m) => m[4]);
    return { code: s.exit_code, out, id };
  }

  it("runs as run_as_user, run_as_username and groups from the image", async () => {
    const pod = await startPod(f.d, "users");
    expect((await runScript(pod, "byuid", "id -u; id -g", { linux: { security_context: { run_as_user: { value: "1001" } } } })).out).toEqual(["1001", "1001"]);
    const alice = await runScript(pod, "byname", "id -u; id -G", { linux: { security_context: { run_as_username: "alice", supplemental_groups: ["3000"] } } });
    expect(alice.out[0]).toBe("1000");
    expect(alice.out[1]!.split(" ").sort()).toEqual(["1000", "2000", "3000"]);
    expect((await runScript(pod, "group", "id -g", { linux: { security_context: { run_as_user: { value: "1000" }, run_as_group: { value: "4242" } } } })).out).toEqual(["4242"]);
  });

  it("adds the image's groups of the user with supplemental_groups_policy Merge, not with Strict, and reports the identity (KEP-3619)", async () => {
    expect((await f.d.client.runtime.Status({})).features!.supplemental_groups_policy).toBe(true);
    const pod = await startPod(f.d, "groups-policy");
    // alice (1000) is a member of devs (2000) in the image's /etc/group.
    for (const [policy, groups] of [["Merge", ["1000", "1234", "2000"]], ["Strict", ["1000", "1234"]]] as const) {
      const security = { run_as_user: { value: "1000" }, supplemental_groups: ["1234"], supplemental_groups_policy: policy };
      const id = await runContainer(f.d, pod, containerConfig(`g-${policy.toLowerCase()}`, f.image, { command: ["sh", "-c", "id -G; sleep 100"], linux: { security_context: security } }));
      const status = (await f.d.client.runtime.ContainerStatus({ container_id: id })).status!;
      expect(status.user!.linux).toEqual({ uid: "1000", gid: "1000", supplemental_groups: [...groups] });
      const exec = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["id", "-G"], timeout: "10" });
      expect(Buffer.from(exec.stdout).toString().trim().split(" ").sort()).toEqual([...groups]);
      await waitFor(`${policy}: the first process's id -G in the log`, async () => ((await readFile(status.log_path, "utf8").catch(() => "")).includes("stdout F") ? true : undefined), 5000);
      const logged = CRI_LINE.exec((await readFile(status.log_path, "utf8")).split("\n")[0]!)![4]!;
      expect(logged.split(" ").sort()).toEqual([...groups]);
      // After the exit, the identity it was given.
      await f.d.client.runtime.StopContainer({ container_id: id, timeout: "0" });
      expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status!.user!.linux!.supplemental_groups).toEqual([...groups]);
    }
  });

  it("enforces readonly_rootfs and dropped capabilities, and lets privileged containers see host devices", async () => {
    const pod = await startPod(f.d, "sec");
    expect((await runScript(pod, "ro", "touch /newfile", { linux: { security_context: { readonly_rootfs: true } } })).code).not.toBe(0);
    expect((await runScript(pod, "rw", "touch /newfile")).code).toBe(0);
    expect((await runScript(pod, "chown", "chown 1000 /tmp", { linux: { security_context: { capabilities: { drop_capabilities: ["CHOWN"] } } } })).code).not.toBe(0);
    expect((await runScript(pod, "chownok", "chown 1000 /tmp")).code).toBe(0);
    expect((await runScript(pod, "dropall", "chown 1000 /tmp", { linux: { security_context: { capabilities: { drop_capabilities: ["ALL"] } } } })).code).not.toBe(0);
    const hostDevices = await readdir("/dev");
    const priv = await runScript(pod, "priv", "ls /dev", { linux: { security_context: { privileged: true } } });
    expect(priv.out).toContain(hostDevices.includes("vda") ? "vda" : "null");
    const plain = await runScript(pod, "plain", "ls /dev");
    expect(plain.out).not.toContain("vda");
  });

  it("blocks unshare with RuntimeDefault seccomp, allows it unconfined, and loads Localhost profiles", async () => {
    const pod = await startPod(f.d, "seccomp");
    const runtimeDefault = await runScript(pod, "default", "unshare -U true && echo allowed || echo blocked", { linux: { security_context: { seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" } } } });
    expect(runtimeDefault.out).toEqual(["blocked"]);
    const unconfined = await runScript(pod, "unconfined", "unshare -U true && echo allowed || echo blocked", { linux: { security_context: { seccomp: { profile_type: "Unconfined", localhost_ref: "" } } } });
    expect(unconfined.out).toEqual(["allowed"]);
    const profile = path.join(await fixtureDir("seccomp"), "deny-mkdir.json");
    await writeFile(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));
    const local = await runScript(pod, "local", "mkdir /tmp/x && echo allowed || echo blocked", { linux: { security_context: { seccomp: { profile_type: "Localhost", localhost_ref: profile } } } });
    expect(local.out).toEqual(["blocked"]);
    const err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("nofile", f.image, { command: ["true"], linux: { security_context: { seccomp: { profile_type: "Localhost", localhost_ref: "/nonexistent.json" } } } }), sandbox_config: pod.config }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("cannot read seccomp profile /nonexistent.json");
  });

  it("lets RuntimeDefault containers fork but not clone namespaces without CAP_SYS_ADMIN; clone3 says ENOSYS", async () => {
    // busybox cannot call clone(2) with flags: a tiny static program, built here, does.
    const dir = await fixtureDir("clone");
    await writeFile(
      path.join(dir, "clonetest.c"),
      `#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void try(const char *what, unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid < 0) { printf("%s: %s\\n", what, strerror(errno)); return; }
  waitpid((pid_t)pid, 0, 0);
  printf("%s: ok\\n", what);
}
int main(void) {
  try("fork", 0);
  try("newuser", CLONE_NEWUSER);
  try("newnet", CLONE_NEWNET);
  long r = syscall(435 /* clone3 */, 0, 0);
  printf("clone3: %s\\n", r < 0 ? strerror(errno) : "ok");
  return 0;
}
`,
    );
    const built = spawnSync("gcc", ["-static", "-O2", "-o", path.join(dir, "clonetest"), path.join(dir, "clonetest.c")]);
    expect(built.status, built.stderr?.toString()).toBe(0);
    const pod = await startPod(f.d, "clone");
    const mounts = [{ container_path: "/clonetest", host_path: path.join(dir, "clonetest"), readonly: true }];
    const sec = (profile: "RuntimeDefault" | "Unconfined", add: string[]) => ({ mounts, linux: { security_context: { seccomp: { profile_type: profile, localhost_ref: "" }, capabilities: { add_capabilities: add } } } });
    // A user namespace needs no capability: only seccomp stands between a container and one.
    const confined = await runScript(pod, "confined", "/clonetest", sec("RuntimeDefault", []));
    expect(confined.out).toEqual(["fork: ok", "newuser: Operation not permitted", "newnet: Operation not permitted", "clone3: Function not implemented"]);
    const unconfined = await runScript(pod, "unconfined", "/clonetest", sec("Unconfined", []));
    expect(unconfined.out.slice(0, 2)).toEqual(["fork: ok", "newuser: ok"]);
    // RuntimeDefault gives CAP_SYS_ADMIN's syscalls back to a container granted it, as Docker's profile does.
    const admin = await runScript(pod, "admin", "/clonetest", sec("RuntimeDefault", ["SYS_ADMIN"]));
    expect(admin.out.slice(0, 3)).toEqual(["fork: ok", "newuser: ok", "newnet: ok"]);
  });

  it("propagates mounts: private, host-to-container and bidirectional, and refuses what the host side cannot do", async () => {
    const sh = (cmd: string[]) => {
      const r = spawnSync(cmd[0]!, cmd.slice(1));
      if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
    };
    const shared = await fixtureDir("propagation");
    const plain = await fixtureDir("no-propagation");
    const mounted: string[] = [];
    try {
      // This host's / is private: make the fixture its own shared mount.
      sh(["mount", "--bind", shared, shared]);
      mounted.push(shared);
      sh(["mount", "--make-shared", shared]);
      for (const d of ["from-host", "from-container"]) await mkdir(path.join(shared, d));
      const pod = await startPod(f.d, "propagation");
      const mountWith = (propagation: "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL") => ({
        command: ["sleep", "3600"],
        mounts: [{ container_path: "/mnt", host_path: shared, propagation }],
        linux: { security_context: { privileged: true } },
      });
      const priv = await runContainer(f.d, pod, containerConfig("private", f.image, mountWith("PROPAGATION_PRIVATE")));
      const slave = await runContainer(f.d, pod, containerConfig("slave", f.image, mountWith("PROPAGATION_HOST_TO_CONTAINER")));
      const both = await runContainer(f.d, pod, containerConfig("shared", f.image, mountWith("PROPAGATION_BIDIRECTIONAL")));
      const ls = async (id: string, dir: string) => (await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["ls", dir], timeout: 10 })).stdout.toString().trim();

      // A mount the host makes after the containers started.
      sh(["mount", "-t", "tmpfs", "tmpfs", path.join(shared, "from-host")]);
      mounted.push(path.join(shared, "from-host"));
      await writeFile(path.join(shared, "from-host", "marker"), "x");
      expect(await ls(priv, "/mnt/from-host")).toBe("");
      expect(await ls(slave, "/mnt/from-host")).toBe("marker");
      expect(await ls(both, "/mnt/from-host")).toBe("marker");

      // A mount the bidirectional container makes reaches the host.
      const r = await f.d.client.runtime.ExecSync({ container_id: both, cmd: ["sh", "-c", "mount -t tmpfs tmpfs /mnt/from-container && touch /mnt/from-container/inside"], timeout: 10 });
      expect(r.exit_code, r.stderr.toString()).toBe(0);
      mounted.push(path.join(shared, "from-container"));
      expect(await readdir(path.join(shared, "from-container"))).toEqual(["inside"]);

      const err = await grpcError(
        f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("refused", f.image, { mounts: [{ container_path: "/mnt", host_path: plain, propagation: "PROPAGATION_BIDIRECTIONAL" }] }), sandbox_config: pod.config }),
      );
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toMatch(/not shared/);
    } finally {
      await removeAllPods(f.d);
      for (const m of mounted.reverse()) spawnSync("umount", ["-l", m]);
    }
  });

  it("makes a read-only mount read-only in its submounts with recursive_read_only, and refuses it where the CRI says to", async () => {
    const host = await fixtureDir("rro");
    await mkdir(path.join(host, "tmpfs"));
    spawnSync("mount", ["-t", "tmpfs", "tmpfs", path.join(host, "tmpfs")]);
    try {
      const handlers = (await f.d.client.runtime.Status({})).runtime_handlers;
      expect(handlers.find((h) => h.name === "")!.features!.recursive_read_only_mounts).toBe(true);
      const pod = await startPod(f.d, "rro");
      const mount = (extra: object) => ({ command: ["sleep", "3600"], mounts: [{ container_path: "/mnt", host_path: host, readonly: true, ...extra }] });
      const plainRo = await runContainer(f.d, pod, containerConfig("ro", f.image, mount({})));
      const rro = await runContainer(f.d, pod, containerConfig("rro", f.image, mount({ recursive_read_only: true })));
      const touch = async (id: string, file: string) => {
        const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["touch", file], timeout: 10 });
        return r.exit_code === 0 ? "ok" : Buffer.from(r.stderr).toString();
      };
      // read-only at the top either way; the submount only with recursive_read_only
      expect(await touch(plainRo, "/mnt/top")).toMatch(/Read-only file system/);
      expect(await touch(plainRo, "/mnt/tmpfs/file")).toBe("ok");
      expect(await touch(rro, "/mnt/tmpfs/other")).toMatch(/Read-only file system/);
      expect(await readdir(path.join(host, "tmpfs"))).toEqual(["file"]);
      const refused = async (extra: object) => {
        const err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("bad-rro", f.image, mount(extra)), sandbox_config: pod.config }));
        return [err.code, err.details];
      };
      expect(await refused({ recursive_read_only: true, readonly: false })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/recursive_read_only needs readonly/)]);
      for (const propagation of ["PROPAGATION_HOST_TO_CONTAINER", "PROPAGATION_BIDIRECTIONAL"]) {
        expect(await refused({ recursive_read_only: true, propagation })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/needs propagation PROPAGATION_PRIVATE/)]);
      }
    } finally {
      await removeAllPods(f.d);
      spawnSync("umount", ["-l", path.join(host, "tmpfs")]);
    }
  });

  it("mounts images as read-only volumes (CRI Mount.image), whole or one directory, and cleans them up", async () => {
    const volume = await busyboxImage(
      f.reg,
      f.d,
      { base: false, layers: [[{ type: "dir", path: "data" }, { type: "file", path: "data/hello.txt", content: "from the volume image\n" }], [{ type: "file", path: "data/second.txt", content: "second layer\n" }]] },
      "test/volume-image",
    );
    const pod = await startPod(f.d, "image-volume");
    const id = await runContainer(
      f.d,
      pod,
      containerConfig("reader", f.image, {
        command: ["sh", "-c", "cat /vol/data/hello.txt /vol/data/second.txt /sub/hello.txt; touch /vol/x 2>/dev/null && echo writable || echo read-only"],
        mounts: [
          { container_path: "/vol", image: { image: volume } },
          { container_path: "/sub", image: { image: volume }, image_sub_path: "data" },
        ],
      }),
    );
    const s = await waitExited(f.d, id);
    const lines = (await readFile(s.log_path, "utf8")).split("\n").filter(Boolean).map((l) => CRI_LINE.exec(l)![4]);
    expect(lines).toEqual(["from the volume image", "second layer", "from the volume image", "read-only"]);
    expect(s.mounts.map((m) => [m.container_path, m.image?.image, m.image_sub_path])).toEqual([
      ["/vol", volume, ""],
      ["/sub", volume, "data"],
    ]);
    const bad = [
      [{ container_path: "/v", image: { image: "nowhere/none:1" } }, grpc.status.NOT_FOUND, /nowhere\/none:1.*pull it first/],
      [{ container_path: "/v", image: { image: volume }, image_sub_path: "missing" }, grpc.status.INVALID_ARGUMENT, /image_sub_path "missing" does not exist/],
      [{ container_path: "/v", image: { image: volume }, image_sub_path: "../etc" }, grpc.status.INVALID_ARGUMENT, /inside the image/],
    ] as const;
    for (const [mount, code, message] of bad) {
      const err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("bad", f.image, { mounts: [mount] }), sandbox_config: pod.config }));
      expect(err.code).toBe(code);
      expect(err.details).toMatch(message);
    }
    // The volume image's two layers stay while the container exists, even with the image removed, and go with it.
    const before = await readdir(path.join(f.d.root, "snapshots"));
    await f.d.client.image.RemoveImage({ image: { image: volume } });
    await f.d.client.image.ImageFsInfo({}); // answers once the removal's collection has ended
    expect(await readdir(path.join(f.d.root, "snapshots"))).toEqual(before);
    await f.d.client.runtime.RemoveContainer({ container_id: id });
    await waitFor("the volume image's layers to go with the container", async () => ((await readdir(path.join(f.d.root, "snapshots"))).length === before.length - 2 ? true : undefined), 5000);
  });

  it("shares the host's PID, IPC and network namespaces when asked, and a target container's PID namespace", async () => {
    const nsOf = async (id: string, kind: string) => (await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["readlink", `/proc/self/ns/${kind}`], timeout: 10 })).stdout.toString().trim();
    const host = (kind: string) => readlinkSync(`/proc/self/ns/${kind}`);
    const hostPod = await startPod(f.d, "host-ns", { linux: { security_context: { namespace_options: { network: "NODE", ipc: "NODE", pid: "NODE" } } } });
    const hostNs = { linux: { security_context: { namespace_options: { network: "NODE" as const, ipc: "NODE" as const, pid: "NODE" as const } } } };
    const onHost = await runContainer(f.d, hostPod, containerConfig("on-host", f.image, { command: ["sleep", "3600"], ...hostNs }));
    for (const kind of ["pid", "ipc", "net"]) expect(await nsOf(onHost, kind), kind).toBe(host(kind));
    expect((await f.d.client.runtime.ExecSync({ container_id: onHost, cmd: ["test", "-d", `/proc/${process.pid}`], timeout: 10 })).exit_code).toBe(0);

    const pod = await startPod(f.d, "target-ns");
    const target = await runContainer(f.d, pod, containerConfig("target", f.image, { command: ["sleep", "3600"] }));
    const debug = await runContainer(
      f.d,
      pod,
      containerConfig("debug", f.image, { command: ["sleep", "3600"], linux: { security_context: { namespace_options: { pid: "TARGET", target_id: target } } } }),
    );
    expect(await nsOf(debug, "pid")).toBe(await nsOf(target, "pid"));
    expect(await nsOf(debug, "pid")).not.toBe(host("pid"));
    const ps = (await f.d.client.runtime.ExecSync({ container_id: debug, cmd: ["ps", "-o", "args"], timeout: 10 })).stdout.toString();
    expect(ps.match(/sleep 3600/g)).toHaveLength(2);
    const err = await grpcError(
      f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("lost", f.image, { linux: { security_context: { namespace_options: { pid: "TARGET", target_id: "f".repeat(64) } } } }), sandbox_config: pod.config }),
    );
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it("mounts host paths (read-only and read-write) and passes devices", async () => {
    const pod = await startPod(f.d, "volumes");
    const vol = await fixtureDir("vol");
    await writeFile(path.join(vol, "from-host"), "host data\n");
    const r = await runScript(pod, "vol", "cat /data/from-host; echo written > /rw/out; touch /data/nope 2>/dev/null && echo ro-broken || echo ro-ok; head -c 4 /dev/skiff-null | wc -c", {
      mounts: [
        { container_path: "/data", host_path: vol, readonly: true },
        { container_path: "/rw", host_path: vol, readonly: false },
      ],
      devices: [{ container_path: "/dev/skiff-null", host_path: "/dev/null", permissions: "rw" }],
    });
    expect(r.out).toEqual(["host data", "ro-ok", "0"]);
    expect(await readFile(path.join(vol, "out"), "utf8")).toBe("written\n");
    const status = (await f.d.client.runtime.ContainerStatus({ container_id: r.id })).status!;
    expect(status.mounts.map((m) => [m.container_path, m.readonly])).toEqual([["/data", true], ["/rw", false]]);
  });

  it("keeps an image's snapshots while a container uses it, and frees them with the container", async () => {
    const own = await busyboxImage(f.reg, f.d, { layers: [[{ type: "file", path: "/own", content: "mine" }]] }, "test/gc");
    const pod = await startPod(f.d, "gc");
    const id = await runContainer(f.d, pod, containerConfig("user", own, { command: ["sleep", "100"] }));
    const before = await readdir(path.join(f.d.root, "snapshots"));
    await f.d.client.image.RemoveImage({ image: { image: own } });
    await f.d.client.image.ImageFsInfo({}); // answers once the removal's collection has ended
    expect(await readdir(path.join(f.d.root, "snapshots"))).toEqual(before);
    const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["cat", "/own"], timeout: "10" });
    expect(Buffer.from(r.stdout).toString()).toBe("mine");
    await f.d.client.runtime.RemoveContainer({ container_id: id });
    // the layer only this image had goes (right after the call); the busybox layer other images share stays
    await waitFor("the image's own layer to go with the container", async () => ((await readdir(path.join(f.d.root, "snapshots"))).length <= before.length - 1 ? true : undefined), 5000);
    expect((await readdir(path.join(f.d.root, "snapshots"))).length).toBe(before.length - 1);
  });

  it("applies hugepage and memory+swap limits, and refuses cgroup v2 keys on this v1 host", async () => {
    const pod = await startPod(f.d, "huge");
    const id = await runContainer(f.d, pod, containerConfig("huge", f.image, {
      command: ["sleep", "1000"],
      linux: { resources: { memory_limit_in_bytes: String(64 * 1024 * 1024), memory_swap_limit_in_bytes: String(96 * 1024 * 1024), hugepage_limits: [{ page_size: "2MB", limit: String(4 * 1024 * 1024) }] } },
    }));
    expect((await readFile(`/sys/fs/cgroup/hugetlb/skiff/${id}/hugetlb.2MB.limit_in_bytes`, "utf8")).trim()).toBe(String(4 * 1024 * 1024));
    expect((await readFile(`/sys/fs/cgroup/memory/skiff/${id}/memory.memsw.limit_in_bytes`, "utf8")).trim()).toBe(String(96 * 1024 * 1024));
    await f.d.client.runtime.StopContainer({ container_id: id, timeout: "0" });
    const err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("v2", f.image, { command: ["true"], linux: { resources: { unified: { "memory.high": "1000000" } } } }), sandbox_config: pod.config }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("needs cgroup v2");
  });

  it("gives image Volumes their own directories, seeded from the image without leaving the rootfs", async () => {
    const volImage = await busyboxImage(f.reg, f.d, {
      layers: [[
        { type: "file", path: "/data/seed", content: "seeded\n" },
        { type: "symlink", path: "/evil", target: "/etc" },
      ]],
      config: { Volumes: { "/data": {}, "/evil": {}, "/fresh": {} } },
    }, "test/volumes");
    const pod = await startPod(f.d, "imgvol");
    const id = await runContainer(f.d, pod, containerConfig("vol", volImage, {
      command: ["sh", "-c", "cat /data/seed; echo new > /data/new; ls /fresh | wc -l; test -e /evil/debian_version && echo host-leak || echo contained"],
      linux: { security_context: { apparmor: { profile_type: "RuntimeDefault", localhost_ref: "" } } },
    }));
    const s = await waitExited(f.d, id);
    const out = (await readFile(s.log_path, "utf8")).split("\n").filter(Boolean).map((l) => CRI_LINE.exec(l)!).filter((m) => m[2] === "stdout" && m[3] === "F").map((m) => m[4]);
    expect(out).toEqual(["seeded", "0", "contained"]);
    // the write went to the volume, not to the container's writable layer
    const vols = path.join(f.d.root, "containers", id, "volumes");
    const written = await Promise.all((await readdir(vols)).map((v) => readFile(path.join(vols, v, "new"), "utf8").catch(() => "")));
    expect(written).toContain("new\n");
    await expect(readFile(path.join(f.d.root, "containers", id, "upper", "data", "new"), "utf8")).rejects.toThrow();
  });

  it("applies cpu and memory limits to the container's cgroup", async () => {
    const pod = await startPod(f.d, "limits");
    const id = await runContainer(f.d, pod, containerConfig("limited", f.image, {
      command: ["sleep", "1000"],
      linux: { resources: { cpu_period: "100000", cpu_quota: "50000", cpu_shares: "512", memory_limit_in_bytes: String(64 * 1024 * 1024) } },
    }));
    const cg = (c: string, f: string) => readFile(`/sys/fs/cgroup/${c}/skiff/${id}/${f}`, "utf8").then((t) => t.trim());
    expect(await cg("cpu", "cpu.cfs_quota_us")).toBe("50000");
    expect(await cg("cpu", "cpu.cfs_period_us")).toBe("100000");
    expect(await cg("cpu", "cpu.shares")).toBe("512");
    expect(await cg("memory", "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    await f.d.client.runtime.StopContainer({ container_id: id, timeout: "0" });
  });

  it("reports OOMKilled with exit code 137 for a memory hog over its limit", async () => {
    const pod = await startPod(f.d, "oom");
    const id = await runContainer(f.d, pod, containerConfig("hog", f.image, {
      command: ["sh", "-c", "x=aaaaaaaa; while true; do x=$x$x; done"],
      linux: { resources: { memory_limit_in_bytes: String(20 * 1024 * 1024) } },
    }));
    const s = await waitExited(f.d, id, 30_000);
    expect(s).toMatchObject({ exit_code: 137, reason: "OOMKilled" });
  });

  it("lets two containers of a pod talk over localhost, and share processes with pid: POD", async () => {
    const pod = await startPod(f.d, "shared", { linux: { security_context: { namespace_options: { pid: "POD" } } } });
    const podPid = { linux: { security_context: { namespace_options: { pid: "POD" as const } } } };
    const server = await runContainer(f.d, pod, containerConfig("server", f.image, { command: ["sh", "-c", "echo pong > /tmp/index.html; httpd -f -p 8080 -h /tmp"], ...podPid }));
    const client = await runScript(pod, "client", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/index.html && break; sleep 0.3; done; ps -o comm", podPid);
    expect(client.out).toContain("pong");
    expect(client.out).toContain("httpd");
    await f.d.client.runtime.StopContainer({ container_id: server, timeout: "0" });
  });
});

for (const handler of ["runc", "crun"] as const) describe(`ExecSync, UpdateContainerResources and ReopenContainerLog (${handler})`, () => {
  let reg: TestRegistry;
  let d: TestDaemon;
  let image: string;
  let pod: Awaited<ReturnType<typeof startPod>>;
  let id: string;
  beforeAll(async () => {
    reg = await TestRegistry.start();
    d = await TestDaemon.start({ config: { runtime: { default_handler: handler } } });
    image = await busyboxImage(reg, d, { config: { Env: ["FROM_IMAGE=yes"] } });
    pod = await startPod(d, "exec");
    id = await runContainer(d, pod, containerConfig("target", image, {
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"],
      envs: [{ key: "FROM_CRI", value: Buffer.from("also") }],
      linux: { resources: { cpu_period: "100000", cpu_quota: "20000", memory_limit_in_bytes: String(64 * 1024 * 1024) } },
    }));
  });
  afterAll(async () => {
    await d?.cleanup();
    await reg?.stop();
  });

  it("returns output and exit codes, in the container's environment", async () => {
    const r = await d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", "echo $FROM_IMAGE $FROM_CRI; echo err >&2; exit 5"], timeout: "10" });
    expect(r.exit_code).toBe(5);
    expect(Buffer.from(r.stdout).toString()).toBe("yes also\n");
    expect(Buffer.from(r.stderr).toString()).toBe("err\n");
    const ok = await d.client.runtime.ExecSync({ container_id: id.slice(0, 12), cmd: ["hostname"], timeout: "10" });
    expect(ok.exit_code).toBe(0);
    expect(Buffer.from(ok.stdout).toString()).toBe("exec\n");
  });

  it("kills a command that outlives its timeout and answers DEADLINE_EXCEEDED", async () => {
    const t0 = Date.now();
    const err = await grpcError(d.client.runtime.ExecSync({ container_id: id, cmd: ["sleep", "60"], timeout: "1" }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(5000);
    // the command is gone from the container
    const ps = await d.client.runtime.ExecSync({ container_id: id, cmd: ["ps", "-o", "args"], timeout: "10" });
    expect(Buffer.from(ps.stdout).toString()).not.toContain("sleep 60");
  });

  it("caps each output stream at 16 MiB", async () => {
    const r = await d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", "head -c 17000000 /dev/zero"], timeout: "30" });
    expect(r.exit_code).toBe(0);
    expect(Buffer.from(r.stdout).length).toBe(16 * 1024 * 1024);
  });

  it("applies new limits to the running container and shows them in its status", async () => {
    const cg = (c: string, f: string) => readFile(`/sys/fs/cgroup/${c}/skiff/${id}/${f}`, "utf8").then((t) => t.trim());
    expect(await cg("cpu", "cpu.cfs_quota_us")).toBe("20000");
    await d.client.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_period: "100000", cpu_quota: "70000", memory_limit_in_bytes: String(128 * 1024 * 1024) } });
    expect(await cg("cpu", "cpu.cfs_quota_us")).toBe("70000");
    expect(await cg("memory", "memory.limit_in_bytes")).toBe(String(128 * 1024 * 1024));
    const s = (await d.client.runtime.ContainerStatus({ container_id: id })).status!;
    expect(s.resources?.linux).toMatchObject({ cpu_quota: "70000", memory_limit_in_bytes: String(128 * 1024 * 1024) });
  });

  it("reopens the log file after it was rotated", async () => {
    const logPath = path.join(pod.logDir, "target/0.log");
    const rotated = `${logPath}.1`;
    await rename(logPath, rotated);
    await d.client.runtime.ReopenContainerLog({ container_id: id });
    // The file is back when the call returns (critest checks right away).
    expect((await stat(logPath)).isFile()).toBe(true);
    const fresh = await waitFor("lines in the new log file", async () => {
      const text = await readFile(logPath, "utf8").catch(() => "");
      return text.includes("tick") ? text : undefined;
    });
    expect(fresh.split("\n").filter(Boolean).every((l) => CRI_LINE.test(l))).toBe(true);
    expect(await readFile(rotated, "utf8")).toContain("tick 0");
  });
});

for (const handler of ["runc", "crun"] as const) describe(`containers across daemon restarts (${handler})`, () => {
  it("keep running through kill -9, record exits that happened while the daemon was down, and leave nothing behind", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start({ config: { runtime: { default_handler: handler } } });
    try {
      const image = await busyboxImage(reg, d);
      const pod = await startPod(d, "durable");
      const long = await runContainer(d, pod, containerConfig("long", image, { command: ["sleep", "1000"] }));
      const short = await runContainer(d, pod, containerConfig("short", image, { command: ["sh", "-c", "sleep 2; exit 42"] }));
      const pidOf = async (id: string) => JSON.parse((await d.client.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).pid as number;
      const longPid = await pidOf(long);
      expect(longPid).toBeGreaterThan(0);
      // The verbose spec: kept from creation by this daemon, read from the bundle by the next.
      const specOf = async (id: string) => JSON.parse((await d.client.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).runtimeSpec as { process: { args: string[] } };
      const spec = await specOf(long);
      expect(spec.process.args).toEqual(["sleep", "1000"]);
      await d.kill();
      await new Promise((r) => setTimeout(r, 3000)); // "short" exits while no daemon runs
      await d.start();
      expect((await d.client.runtime.ContainerStatus({ container_id: long })).status!.state).toBe("CONTAINER_RUNNING");
      expect(await specOf(long)).toEqual(spec);
      expect(await readFile(`/proc/${longPid}/cmdline`, "utf8")).toBe("sleep\u00001000\u0000");
      expect((await d.client.runtime.ContainerStatus({ container_id: short })).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 42, reason: "Error" });
      // a clean shutdown (SIGTERM) leaves containers running too
      const stopped = await d.stop();
      expect(stopped.code).toBe(0);
      expect(await readFile(`/proc/${longPid}/cmdline`, "utf8")).toBe("sleep\u00001000\u0000");
      await d.start();
      expect((await d.client.runtime.ContainerStatus({ container_id: long })).status!.state).toBe("CONTAINER_RUNNING");
      // and exits after the restart are still noticed
      await d.client.runtime.StopContainer({ container_id: long, timeout: "0" });
      expect((await d.client.runtime.ContainerStatus({ container_id: long })).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 137 });
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
      expect((await d.client.runtime.ListContainers({})).containers).toEqual([]);
      expect(await mountsUnder(d.dir)).toEqual([]);
      expect(await readdir(path.join(d.state, "runc")).catch(() => [])).toEqual([]);
      // conmon's attach-socket links go with their containers.
      expect(await readdir(path.join(d.state, "attach")).catch(() => [])).toEqual([]);
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });
});

for (const handler of ["runc", "crun"] as const) describe(`an acknowledged container and a crash during StartContainer (${handler})`, () => {
  it("keeps a container whose CreateContainer returned OK, even if it started and ended while the daemon was down", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start({ config: { runtime: { default_handler: handler } } });
    try {
      const image = await busyboxImage(reg, d);
      const pod = await startPod(d, "acked");
      const { container_id: quick } = await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("quick", image, { command: ["sh", "-c", "exit 3"] }), sandbox_config: pod.config });
      const { container_id: idle } = await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("idle", image, { command: ["sleep", "1000"] }), sandbox_config: pod.config });
      // The daemon dies as StartContainer began: the runtime's start went through, skiff's record of it did not.
      await d.kill();
      const start = await execCommand(handler, ["--root", path.join(d.state, handler), "start", quick]);
      expect(start.code, start.stderr).toBe(0);
      await waitFor("the quick container's monitor to record its exit and leave", async () => ((await readFile(path.join(d.state, "exits", quick), "utf8").catch(() => "")) ? true : undefined));
      await d.start();
      expect((await d.client.runtime.ContainerStatus({ container_id: quick })).status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 3 });
      expect((await d.client.runtime.ContainerStatus({ container_id: idle })).status!.state).toBe("CONTAINER_CREATED");
      await d.client.runtime.StartContainer({ container_id: idle });
      expect((await d.client.runtime.ContainerStatus({ container_id: idle })).status!.state).toBe("CONTAINER_RUNNING");
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });
});

describe("restart with recovery still running", () => {
  it("answers Version at once, and calls about containers only once they are recovered", async () => {
    // A runtime whose `state` and `list` take 3 s makes the recovery slow enough to watch.
    const dir = await fixtureDir("slowstate");
    const slow = path.join(dir, "slow-state-runtime");
    await writeFile(slow, '#!/bin/sh\nfor a in "$@"; do case "$a" in state|list) sleep 3 ;; esac; done\nexec runc "$@"\n', { mode: 0o755 });
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start({ config: { runtime: { handlers: { slowstate: { path: slow } } } } });
    try {
      const image = await busyboxImage(reg, d);
      const config = podConfig("recovering");
      const { pod_sandbox_id: pod } = await d.client.runtime.RunPodSandbox({ config, runtime_handler: "slowstate" });
      const id = await runContainer(d, { id: pod, config }, containerConfig("c", image, { command: ["sleep", "1000"] }));
      await d.kill();
      await d.start(); // waits for Version
      const log = async () => readFile(d.logFile, "utf8");
      const restarts = (await log()).split("skiff daemon started").length - 1;
      const lastStart = async () => (await log()).split("skiff daemon started").at(-1)!;
      expect(restarts).toBe(2);
      expect(await lastStart()).not.toContain("recovery done");
      const listed = (await d.client.runtime.ListContainers({})).containers;
      expect(await lastStart()).toContain("recovery done");
      expect(listed.map((c) => [c.id, c.state])).toEqual([[id, "CONTAINER_RUNNING"]]);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });
});

describe("creations cut short by a daemon crash", () => {
  it("a restart removes what they left before their records were written, and nothing else", async () => {
    const d = await TestDaemon.start();
    const ours: string[] = []; // mounts made here, undone in finally if the daemon did not
    try {
      await d.stop();
      // What a kill between the first effects and the durable record leaves:
      // a container dir with its rootfs mounted, a sandbox's pinned netns, its shm and files.
      const cid = "c0".repeat(32);
      const sid = "5a".repeat(32);
      const cdir = path.join(d.root, "containers", cid);
      await mkdir(path.join(cdir, "rootfs"), { recursive: true });
      await mkdir(path.join(cdir, "bundle"));
      const sdir = path.join(d.state, "sandboxes", sid);
      await mkdir(path.join(sdir, "shm"), { recursive: true });
      // Its namespaces pinned in its state dir; another's in the ns/ subdirectory earlier versions used.
      const earlier = path.join(d.state, "sandboxes", "e1".repeat(32));
      await mkdir(path.join(earlier, "ns"), { recursive: true });
      const pins = [path.join(sdir, "net"), path.join(sdir, "uts"), path.join(earlier, "ns", "net")];
      for (const pin of pins) await writeFile(pin, "");
      const files = path.join(d.root, "sandbox-files", sid);
      await mkdir(files, { recursive: true });
      await writeFile(path.join(files, "hostname"), "cut\n");
      for (const target of [path.join(cdir, "rootfs"), path.join(sdir, "shm")]) {
        expect(spawnSync("mount", ["-t", "tmpfs", "tmpfs", target]).status).toBe(0);
        ours.push(target);
      }
      for (const pin of pins) {
        expect(spawnSync("unshare", [pin.endsWith("uts") ? `--uts=${pin}` : `--net=${pin}`, "true"]).status).toBe(0);
        ours.push(pin);
      }
      // Not named like an id: not the daemon's to remove.
      const other = path.join(d.root, "containers", "not-a-container");
      await mkdir(other);
      expect((await mountsUnder(d.dir)).length).toBe(5);

      await d.start();
      expect(await mountsUnder(d.dir)).toEqual([]);
      expect(existsSync(cdir)).toBe(false);
      expect(existsSync(sdir)).toBe(false);
      expect(existsSync(earlier)).toBe(false);
      expect(existsSync(files)).toBe(false);
      expect(existsSync(other)).toBe(true);
      const log = await readFile(d.logFile, "utf8");
      expect(log).toContain("removed what an interrupted container creation left behind");
      expect(log).toContain("removed what an interrupted sandbox creation left behind");
    } finally {
      for (const m of ours.reverse()) if ((await mountsUnder(m)).length) spawnSync("umount", ["-l", m]);
      await d.cleanup();
    }
  });

  it("recover a container recorded as created before its pid was known, and undo one the runtime never made", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start();
    try {
      const image = await busyboxImage(reg, d);
      const pod = await startPod(d, "pidless");
      const create = async (name: string) =>
        (await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig(name, image, { command: ["sleep", "1000"] }), sandbox_config: pod.config })).container_id;
      const made = await create("made");
      const lost = await create("lost");
      const orphan = await create("orphan");
      const pidOf = async (id: string) => JSON.parse((await d.client.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).pid as number;
      const madePid = await pidOf(made);
      await d.stop();
      // What a crash during `runc create` leaves: records that say created without a pid; "lost" never got
      // made; "orphan" was made but its conmon exited, unable to report the pid to the killed daemon.
      const orphanConmon = Number(await readFile(path.join(d.root, "containers", orphan, "bundle", "conmon.pid"), "utf8"));
      process.kill(orphanConmon, "SIGKILL");
      await editRecords<StoredRecord & { pid?: number }>(path.join(d.root, "containers", "records"), async (store) => {
        for (const id of [made, lost, orphan]) {
          const { pid: _pid, ...rec } = store.get(id)!;
          await store.put(rec);
        }
      });
      expect(spawnSync("runc", ["--root", path.join(d.state, "runc"), "delete", "--force", lost]).status).toBe(0);
      await d.start();
      expect((await d.client.runtime.ContainerStatus({ container_id: made })).status!.state).toBe("CONTAINER_CREATED");
      expect(await pidOf(made)).toBe(madePid);
      await d.client.runtime.StartContainer({ container_id: made });
      expect((await d.client.runtime.ContainerStatus({ container_id: made })).status!.state).toBe("CONTAINER_RUNNING");
      for (const id of [lost, orphan]) {
        expect((await grpcError(d.client.runtime.ContainerStatus({ container_id: id }))).code).toBe(grpc.status.NOT_FOUND);
        expect(existsSync(path.join(d.root, "containers", id))).toBe(false);
        expect(await mountsUnder(path.join(d.root, "containers", id))).toEqual([]);
      }
      expect(spawnSync("runc", ["--root", path.join(d.state, "runc"), "state", orphan]).status).not.toBe(0);
      await waitFor("the lost container's conmon to end", async () => ((await conmonsNamed("lost_")).length === 0 ? true : undefined), 10_000);
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });

  it("remove on restart what a container removed just before a crash left: runtime state, mounts, files, exit file", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start();
    try {
      const image = await busyboxImage(reg, d);
      const pod = await startPod(d, "removed-crash");
      const kept = await runContainer(d, pod, containerConfig("kept", image, { command: ["sleep", "1000"] }));
      // Created, never started: its runtime state and its conmon exist until the runtime deletes it.
      const { container_id: gone } = await d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("gone", image, { command: ["sleep", "1000"] }), sandbox_config: pod.config });
      // Ended: its conmon wrote an exit file.
      const ended = (await waitExited(d, await runContainer(d, pod, containerConfig("ended", image, { command: ["true"] })))).id;
      const exitFile = path.join(d.state, "exits", ended);
      expect(existsSync(exitFile)).toBe(true);
      await d.stop();
      // What RemoveContainer leaves when the daemon dies right after the record went: everything else.
      await editRecords(path.join(d.root, "containers", "records"), async (store) => {
        for (const id of [gone, ended]) await store.delete(id);
      });
      expect(spawnSync("runc", ["--root", path.join(d.state, "runc"), "state", gone]).status).toBe(0);
      await d.start();
      expect((await d.client.runtime.ListContainers({})).containers.map((c) => [c.id, c.state])).toEqual([[kept, "CONTAINER_RUNNING"]]);
      expect(spawnSync("runc", ["--root", path.join(d.state, "runc"), "state", gone]).status).not.toBe(0);
      expect(existsSync(path.join(d.root, "containers", gone))).toBe(false);
      expect(existsSync(path.join(d.root, "containers", ended))).toBe(false);
      expect(existsSync(exitFile)).toBe(false);
      expect(await mountsUnder(path.join(d.root, "containers", gone))).toEqual([]);
      expect(await readFile(d.logFile, "utf8")).toContain("deleted runtime state that no container record knows");
      await waitFor("the removed container's conmon to end", async () => ((await conmonsNamed("gone_")).length === 0 ? true : undefined), 10_000);
      await d.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });

  it("leave nothing behind, whatever point of RunPodSandbox or CreateContainer the kill -9 hit", async () => {
    const reg = await TestRegistry.start();
    const d = await TestDaemon.start();
    try {
      const image = await busyboxImage(reg, d);
      const pod = await startPod(d, "crashes");
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      // Delays spread over a call of ~30-60 ms: each kill lands somewhere else in it.
      for (const delayMs of [0, 2, 5, 9, 14, 20, 28, 40]) {
        const created = d.client.runtime
          .CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig(`cut${delayMs}`, image, { command: ["sleep", "1000"] }), sandbox_config: pod.config })
          .catch(() => undefined);
        await sleep(delayMs);
        await d.kill();
        await created;
        await d.start();
        const ran = d.client.runtime.RunPodSandbox({ config: podConfig(`cut${delayMs}`) }).catch(() => undefined);
        await sleep(delayMs);
        await d.kill();
        await ran;
        await d.start();
      }
      // Each call got somewhere or nowhere: what the daemon shows is whole, and what it does not show is gone.
      for (const c of (await d.client.runtime.ListContainers({})).containers) expect(c.state).toBe("CONTAINER_CREATED");
      await removeAllPods(d);
      expect((await d.client.runtime.ListContainers({})).containers).toEqual([]);
      expect(await mountsUnder(d.dir)).toEqual([]);
      // A conmon left waiting by a kill runs into a bundle without a config and ends on its own.
      await waitFor("every conmon of the cut-short containers to end", async () => ((await conmonsNamed("cut")).length === 0 ? true : undefined), 10_000);
      expect(await readdir(path.join(d.root, "containers"))).toEqual(["records"]);
      expect(await readdir(path.join(d.state, "sandboxes"))).toEqual([]);
      expect(await readdir(path.join(d.root, "sandbox-files")).catch(() => [])).toEqual([]);
      expect(await readdir(path.join(d.state, "runc")).catch(() => [])).toEqual([]);
      const leases = (await readdir(path.join(d.root, "network/ipam/skiff"))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      expect(leases).toEqual([]);
    } finally {
      await d.cleanup();
      await reg.stop();
    }
  });
});
