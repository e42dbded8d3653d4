// Pods with a user namespace of their own (KEP-127, hostUsers: false) through
// the CRI socket, on runc and crun: the mappings kubelet sends, idmapped image
// layers and volumes, the pod's files owned by its root, namespaces owned by
// the user namespace, and the refusals critest's newer specs check.

import { spawnSync } from "node:child_process";
import { chown, mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grpc, grpcError } from "./harness/cri-client.js";
import { busyboxImage, containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { mountsUnder } from "./harness/mounts.js";
import { podConfig } from "./harness/pods.js";
import { fixtureDir } from "./harness/run-dir.js";
import type { NamespaceOption } from "../../src/cri/generated/runtime/v1/NamespaceOption.js";
import type { PodSandboxConfig } from "../../src/cri/generated/runtime/v1/PodSandboxConfig.js";

const HOST_ID = 200_000;
const mapping = [{ container_id: 0, host_id: HOST_ID, length: 65_536 }];
const podUserns = { mode: "POD" as const, uids: mapping, gids: mapping };
const withUserns = (ns: Partial<NamespaceOption> = {}): Partial<PodSandboxConfig> => ({
  linux: { security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD", userns_options: podUserns, ...ns } } },
});

for (const handler of ["runc", "crun"] as const) describe(`user namespaces (${handler})`, () => {
  const f = useContainerDaemon({ runtime: { default_handler: handler } });

  async function exec(id: string, script: string): Promise<{ code: number; out: string; err: string }> {
    const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", script], timeout: "10" });
    return { code: r.exit_code, out: Buffer.from(r.stdout).toString().trim(), err: Buffer.from(r.stderr).toString().trim() };
  }

  async function pidOf(id: string): Promise<{ pid: number; rootfs: string; runtimeSpec: { linux: { namespaces: { type: string }[] } } }> {
    const s = await f.d.client.runtime.ContainerStatus({ container_id: id, verbose: true });
    return JSON.parse(s.info.info!) as { pid: number; rootfs: string; runtimeSpec: { linux: { namespaces: { type: string }[] } } };
  }

  it("advertises user namespaces for every handler, and why in Status' verbose info", async () => {
    const status = await f.d.client.runtime.Status({ verbose: true });
    for (const h of status.runtime_handlers) expect([h.name, h.features!.user_namespaces]).toEqual([h.name, true]);
    expect(status.features!.user_namespaces_host_network).toBe(false);
    const info = JSON.parse(status.info.runtimeHandlers!) as { userNamespaces: Record<string, string> };
    expect(info.userNamespaces).toMatchObject({ runc: "supported", crun: "supported" });
  });

  it("runs a pod's containers in one user namespace with kubelet's mapping, idmapped layers and volumes, files owned by the pod's root", async () => {
    const dir = await fixtureDir("userns");
    // A volume kubelet idmaps (its files keep their owners inside) and a host directory it does not.
    const mapped = path.join(dir, "mapped");
    const plain = path.join(dir, "plain");
    await mkdir(mapped);
    await mkdir(plain);
    await writeFile(path.join(mapped, "by-root"), "r");
    await writeFile(path.join(mapped, "by-1234"), "u");
    await chown(path.join(mapped, "by-1234"), 1234, 1234);
    await writeFile(path.join(plain, "host-root-file"), "keep\n", { mode: 0o644 });
    const pod = await startPod(f.d, "userns", withUserns({ pid: "POD" }));
    const sandbox = (await f.d.client.runtime.PodSandboxStatus({ pod_sandbox_id: pod.id })).status!;
    expect(sandbox.linux!.namespaces!.options!.userns_options).toMatchObject({ mode: "POD", uids: [{ host_id: HOST_ID, container_id: 0, length: 65_536 }] });
    const volume = await busyboxImage(f.reg, f.d, { base: false, layers: [[{ type: "dir", path: "data" }, { type: "file", path: "data/hello.txt", content: "hi\n" }]] }, "test/userns-volume");
    const mounts = [
      { container_path: "/mapped", host_path: mapped, uidMappings: mapping, gidMappings: mapping },
      { container_path: "/plain", host_path: plain },
      { container_path: "/vol", image: { image: volume } },
    ];
    const id = await runContainer(f.d, pod, containerConfig("app", f.image, { command: ["sleep", "3600"], mounts, linux: { security_context: { namespace_options: { pid: "POD", userns_options: podUserns } } } }));
    const other = await runContainer(f.d, pod, containerConfig("other", f.image, { command: ["sleep", "3600"] }));

    // The mapping, seen inside; both containers in the same user namespace.
    expect((await exec(id, "cat /proc/self/uid_map")).out.split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
    expect((await exec(id, "cat /proc/self/gid_map")).out.split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
    expect((await exec(id, "readlink /proc/self/ns/user")).out).toBe((await exec(other, "readlink /proc/self/ns/user")).out);
    // Root inside, an unprivileged id on the host.
    expect((await exec(id, "id -u; id -g")).out.split("\n")).toEqual(["0", "0"]);
    const { pid, rootfs, runtimeSpec } = await pidOf(id);
    // The container's directory lets others search it (the runtime reaches the rootfs as the pod's root), whatever made it first.
    expect((await stat(path.dirname(rootfs))).mode & 0o777).toBe(0o711);
    expect(runtimeSpec.linux.namespaces[0]).toMatchObject({ type: "user" });
    expect(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))![1]).toBe(String(HOST_ID));
    expect((await f.d.client.runtime.ContainerStatus({ container_id: id })).status!.user!.linux).toEqual({ uid: "0", gid: "0", supplemental_groups: ["0"] });

    // The image's files are root's inside; what the container writes is the mapped ids' on the host.
    expect((await exec(id, "stat -c %u:%g /bin/busybox /etc/passwd")).out.split("\n")).toEqual(["0:0", "0:0"]);
    expect((await exec(id, "echo hi > /written && chown 1000:1000 /written && touch /root-file && echo ok")).out).toBe("ok");
    const upper = path.join(path.dirname(rootfs), "upper");
    expect([(await stat(path.join(upper, "root-file"))).uid, (await stat(path.join(upper, "written"))).uid]).toEqual([HOST_ID, HOST_ID + 1000]);

    // The pod's own files, shm and hostname belong to its root.
    expect((await exec(id, "stat -c %u /etc/hostname /etc/hosts /etc/resolv.conf /dev/shm")).out.split("\n")).toEqual(["0", "0", "0", "0"]);
    expect((await exec(id, "echo x > /dev/shm/f && echo 10.0.0.1 extra >> /etc/hosts && hostname")).out).toBe("userns");

    // An idmapped volume: files keep their owners, and what root writes is root's on disk.
    expect((await exec(id, "stat -c %u /mapped/by-root /mapped/by-1234")).out.split("\n")).toEqual(["0", "1234"]);
    expect((await exec(id, "echo new > /mapped/from-pod && echo ok")).out).toBe("ok");
    expect((await stat(path.join(mapped, "from-pod"))).uid).toBe(0);
    // An image volume's files are root's inside too (its layers are idmapped like the rootfs's), and read-only.
    expect((await exec(id, "stat -c %u:%g /vol/data/hello.txt; touch /vol/x 2>/dev/null || echo read-only")).out.split("\n")).toEqual(["0:0", "read-only"]);
    // A host directory without mappings: root inside is nobody there and cannot touch the host's root's file.
    expect((await exec(id, "stat -c %u /plain/host-root-file")).out).toBe("65534");
    const denied = await exec(id, "echo changed > /plain/host-root-file");
    expect(denied.code).not.toBe(0);
    expect(denied.err).toMatch(/Permission denied/);
    expect(await readFile(path.join(plain, "host-root-file"), "utf8")).toBe("keep\n");

    // The network namespace belongs to the user namespace: root inside may bind a low port.
    expect((await exec(id, "nc -l -p 80 & sleep 0.3; kill $! && echo bound")).out).toBe("bound");
    // The shared PID namespace's init (catatonit) runs in the pod's user namespace too.
    expect((await exec(id, "cat /proc/1/cmdline | tr '\\0' ' '; readlink /proc/1/ns/user")).out).toMatch(/catatonit.*\n?user:\[\d+\]/);
    expect((await exec(id, "readlink /proc/1/ns/user")).out).toBe((await exec(id, "readlink /proc/self/ns/user")).out);

    // The idmapped copies made for the runtime's create are gone; only the rootfs and the image volume stay mounted.
    expect((await mountsUnder(path.dirname(rootfs))).sort()).toEqual([path.join(path.dirname(rootfs), "image-volumes", "0"), rootfs]);
    expect(await readdir(path.dirname(rootfs))).not.toContain("idmapped");
  });

  it("keeps a user-namespace pod across a daemon restart and creates containers in it after", async () => {
    const pod = await startPod(f.d, "userns-restart", withUserns());
    const before = await runContainer(f.d, pod, containerConfig("before", f.image, { command: ["sleep", "3600"] }));
    const ns = (await exec(before, "readlink /proc/self/ns/user")).out;
    await f.d.restart();
    const after = await runContainer(f.d, pod, containerConfig("after", f.image, { command: ["sleep", "3600"] }));
    expect((await exec(after, "readlink /proc/self/ns/user")).out).toBe(ns);
    expect((await exec(before, "cat /proc/self/uid_map")).out.split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
  });

  it("uses the host's user namespace with mode NODE", async () => {
    const pod = await startPod(f.d, "userns-node", withUserns({ userns_options: { mode: "NODE", uids: [], gids: [] } }));
    const id = await runContainer(f.d, pod, containerConfig("host", f.image, { command: ["sleep", "3600"] }));
    expect((await exec(id, "cat /proc/self/uid_map")).out.split(/\s+/)).toEqual((await readFile("/proc/self/uid_map", "utf8")).trim().split(/\s+/));
  });

  it("refuses what a pod's user namespace cannot be, with INVALID_ARGUMENT", async () => {
    const refused = async (ns: object) => {
      const err = await grpcError(f.d.client.runtime.RunPodSandbox({ config: podConfig("bad-userns", withUserns(ns)) }));
      return [err.code, err.details];
    };
    const two = [...mapping, { container_id: 0, host_id: 400_000, length: 65_536 }];
    expect(await refused({ userns_options: { mode: "POD", uids: two, gids: two } })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/exactly one uids mapping, got 2/)]);
    const notZero = [{ container_id: 1, host_id: HOST_ID, length: 65_536 }];
    expect(await refused({ userns_options: { mode: "POD", uids: notZero, gids: notZero } })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/must map container id 0/)]);
    for (const mode of ["CONTAINER", "TARGET"]) {
      expect(await refused({ userns_options: { mode, uids: [], gids: [] } })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(new RegExp(`mode ${mode} is not valid`))]);
    }
    expect(await refused({ network: "NODE" })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/cannot use the host's network namespace/)]);
    expect((await f.d.client.runtime.ListPodSandbox({})).items.filter((p) => p.metadata!.name === "bad-userns")).toEqual([]);

    const plainPod = await startPod(f.d, "no-userns");
    const usernsPod = await startPod(f.d, "with-userns", withUserns());
    const host = await fixtureDir("userns-bad");
    const createErr = async (pod: typeof plainPod, extra: Parameters<typeof containerConfig>[2]) => {
      const err = await grpcError(f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("bad", f.image, extra), sandbox_config: pod.config }));
      return [err.code, err.details];
    };
    expect(await createErr(plainPod, { mounts: [{ container_path: "/m", host_path: host, uidMappings: mapping, gidMappings: mapping }] })).toEqual([
      grpc.status.INVALID_ARGUMENT,
      expect.stringMatching(/is idmapped, but pod .* has no user namespace/),
    ]);
    const otherMapping = [{ container_id: 0, host_id: 300_000, length: 65_536 }];
    expect(await createErr(usernsPod, { mounts: [{ container_path: "/m", host_path: host, uidMappings: otherMapping, gidMappings: otherMapping }] })).toEqual([
      grpc.status.INVALID_ARGUMENT,
      expect.stringMatching(/other idmappings than pod/),
    ]);
    expect(await createErr(usernsPod, { linux: { security_context: { privileged: true } } })).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/privileged container cannot run in its pod's user namespace/)]);
    expect(await createErr(plainPod, { linux: { security_context: { namespace_options: { userns_options: podUserns } } } })).toEqual([
      grpc.status.INVALID_ARGUMENT,
      expect.stringMatching(/asks for its pod's user namespace, but pod .* has none/),
    ]);
    // Nothing was left mounted by the refused creations.
    expect(spawnSync("sh", ["-c", `grep -c idmapped /proc/self/mountinfo`]).stdout.toString().trim()).toBe("0");
  });
});
