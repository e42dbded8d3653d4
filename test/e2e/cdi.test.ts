// CDI devices through the gRPC socket: spec files (YAML and JSON) in the
// daemon's CDI directories expose ordinary host device nodes (/dev/zero and
// /dev/null under other names), a file mount, environment, an extra group and
// a hook.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { containerConfig, runContainer, startPod, useContainerDaemon } from "./harness/containers.js";
import { grpc, grpcError } from "./harness/cri-client.js";
import { fixtureDir } from "./harness/run-dir.js";

let dirs: { etc: string; run: string; files: string };

async function writeSpecs(): Promise<Record<string, unknown>> {
  const root = await fixtureDir("cdi");
  dirs = { etc: path.join(root, "etc-cdi"), run: path.join(root, "run-cdi"), files: path.join(root, "files") };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  await writeFile(path.join(dirs.files, "vendor.conf"), "from-the-vendor\n");
  await writeFile(
    path.join(dirs.etc, "test-dev.yaml"),
    `cdiVersion: "0.6.0"
kind: "test.skiff.dev/dev"
containerEdits:
  env: ["VENDOR_LIB=/opt/vendor"]
devices:
  - name: zero
    containerEdits:
      deviceNodes:
        - path: /dev/skiff-zero
          hostPath: /dev/zero
      env: ["SKIFF_DEVICE=zero", "SHADOWED=from-cdi"]
      mounts:
        - hostPath: ${path.join(dirs.files, "vendor.conf")}
          containerPath: /etc/vendor.conf
          options: [ro, nosuid, nodev]
      additionalGids: [4321]
      hooks:
        - hookName: createRuntime
          path: /bin/sh
          args: ["sh", "-c", "echo $SKIFF_HOOK > ${path.join(dirs.files, "hook-ran")}"]
          env: ["SKIFF_HOOK=ran"]
`,
  );
  await writeFile(
    path.join(dirs.run, "other.json"),
    JSON.stringify({ cdiVersion: "0.8.0", kind: "test.skiff.dev/other", devices: [{ name: "null", containerEdits: { deviceNodes: [{ path: "/dev/skiff-null", hostPath: "/dev/null" }] } }] }),
  );
  // One vendor's broken file must not take the others down.
  await writeFile(path.join(dirs.etc, "broken.json"), "{ not json");
  return { cdi: { spec_dirs: [dirs.etc, dirs.run] } };
}

describe("CDI devices", () => {
  const f = useContainerDaemon({}, {}, writeSpecs);

  it("applies the named devices' nodes, mounts, env and groups; annotations name devices too", async () => {
    const pod = await startPod(f.d, "cdi");
    const id = await runContainer(
      f.d,
      pod,
      containerConfig("gpu", f.image, {
        command: ["sleep", "3600"],
        envs: [{ key: "SHADOWED", value: Buffer.from("from-pod") }],
        CDI_devices: [{ name: "test.skiff.dev/dev=zero" }],
        // what kubelets before the CDI_devices field sent
        annotations: { "cdi.k8s.io/other": "test.skiff.dev/other=null" },
      }),
    );
    const sh = async (script: string) => {
      const r = await f.d.client.runtime.ExecSync({ container_id: id, cmd: ["sh", "-c", script], timeout: "10" });
      expect(r.exit_code, Buffer.from(r.stderr).toString()).toBe(0);
      return Buffer.from(r.stdout).toString().trim();
    };
    expect(await sh("head -c 4 /dev/skiff-zero | od -An -tx1")).toBe("00 00 00 00");
    expect(await sh("echo gone > /dev/skiff-null && ls -l /dev/skiff-null | cut -c1")).toBe("c");
    expect(await sh("cat /etc/vendor.conf")).toBe("from-the-vendor");
    expect(await sh("echo $SKIFF_DEVICE $VENDOR_LIB $SHADOWED")).toBe("zero /opt/vendor from-cdi");
    expect((await sh("id -G")).split(" ")).toContain("4321");
    expect(await sh("touch /etc/vendor.conf 2>&1 || echo refused")).toMatch(/Read-only file system|refused/);
    // The spec's hook ran (createRuntime: in the runtime's namespaces, on the host).
    expect(await readFile(path.join(dirs.files, "hook-ran"), "utf8")).toBe("ran\n");
  });

  it("refuses a container that names a device no spec defines, naming it", async () => {
    const pod = await startPod(f.d, "cdi-missing");
    const missing = await grpcError(
      f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("nogpu", f.image, { CDI_devices: [{ name: "test.skiff.dev/dev=gpu7" }] }), sandbox_config: pod.config }),
    );
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toContain('unknown CDI device "test.skiff.dev/dev=gpu7"');
    expect(missing.details).toContain(dirs.etc);
    expect(missing.details).toContain("broken.json");
    const viaAnnotation = await grpcError(
      f.d.client.runtime.CreateContainer({ pod_sandbox_id: pod.id, config: containerConfig("nogpu2", f.image, { annotations: { "cdi.k8s.io/x": "nope" } }), sandbox_config: pod.config }),
    );
    expect(viaAnnotation.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(viaAnnotation.details).toContain('"nope" is not fully qualified');
    expect((await f.d.client.runtime.ListContainers({ filter: { pod_sandbox_id: pod.id } })).containers).toEqual([]);
  });
});
