import { describe, expect, it } from "vitest";
import { parseCdiSpec, resolveCdiDevices } from "../../src/runtime/cdi.js";

const yamlSpec = `cdiVersion: "0.6.0"
kind: "vendor.example/gpu"
containerEdits:
  env: ["GPU_DRIVER=1"]
devices:
  - name: "0"
    containerEdits:
      deviceNodes:
        - path: /dev/gpu0
          hostPath: /dev/zero
      env: ["GPU=0"]
      additionalGids: [44]
  - name: "1"
    containerEdits:
      deviceNodes: [{ path: /dev/gpu1, type: c, major: 1, minor: 5 }]
      mounts: [{ hostPath: /opt/lib, containerPath: /usr/lib/gpu, options: [ro, nosuid] }]
      hooks: [{ hookName: createContainer, path: /usr/bin/gpu-hook, args: [gpu-hook, setup] }]
`;

describe("CDI specs", () => {
  it("parse from YAML and JSON alike", () => {
    const y = parseCdiSpec(yamlSpec, "/etc/cdi/gpu.yaml");
    expect(y.kind).toBe("vendor.example/gpu");
    expect(y.devices.map((d) => d.name)).toEqual(["0", "1"]);
    expect(y.devices[1]!.containerEdits.hooks).toEqual([{ hookName: "createContainer", path: "/usr/bin/gpu-hook", args: ["gpu-hook", "setup"] }]);
    const j = parseCdiSpec(JSON.stringify({ cdiVersion: "0.8.0", kind: "vendor.example/net", devices: [{ name: "eth", containerEdits: { env: ["A=1"] } }] }), "/var/run/cdi/net.json");
    expect(j.devices[0]!.containerEdits).toEqual({ env: ["A=1"], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] });
  });

  it.each([
    [`cdiVersion: "0.6.0"\nkind: nokind\ndevices: []`, /kind "nokind" is not vendor.com\/class/],
    [`kind: a.b/c\ndevices: []`, /cdiVersion is missing/],
    [`cdiVersion: "0.6.0"\nkind: a.b/c\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: relative}]}}]`, /deviceNodes\[0\].path must be an absolute path/],
    [`cdiVersion: "0.6.0"\nkind: a.b/c\ndevices: [{name: x, containerEdits: {hooks: [{hookName: whenever, path: /x}]}}]`, /hookName "whenever"/],
    [`cdiVersion: "0.6.0"\nkind: a.b/c\ndevices: [{name: x, containerEdits: {env: [NOEQUALS]}}]`, /env\[0\] must be KEY=VALUE/],
    ["{ not yaml", /CDI spec \/etc\/cdi\/bad.yaml/],
  ])("refuse a bad spec, naming the file and field: %#", (text, message) => {
    expect(() => parseCdiSpec(text, "/etc/cdi/bad.yaml")).toThrow(message);
  });

  it("resolve devices to their edits, each spec's own edits once, a later directory's device winning", () => {
    const etc = parseCdiSpec(yamlSpec, "/etc/cdi/gpu.yaml");
    const run = parseCdiSpec(`cdiVersion: "0.6.0"\nkind: vendor.example/gpu\ndevices: [{name: "1", containerEdits: {env: [OVERRIDDEN=1]}}]`, "/var/run/cdi/gpu.yaml");
    const e = resolveCdiDevices([etc, run], ["vendor.example/gpu=0", "vendor.example/gpu=1", "vendor.example/gpu=0"], ["/etc/cdi", "/var/run/cdi"]);
    expect(e.env).toEqual(["GPU_DRIVER=1", "GPU=0", "OVERRIDDEN=1"]);
    expect(e.deviceNodes).toEqual([{ path: "/dev/gpu0", hostPath: "/dev/zero" }]);
    expect(e.additionalGids).toEqual([44]);
    expect(e.mounts).toEqual([]);
  });

  it("refuse an unknown or unqualified device, naming it and where they looked", () => {
    const spec = parseCdiSpec(yamlSpec, "/etc/cdi/gpu.yaml");
    expect(() => resolveCdiDevices([spec], ["vendor.example/gpu=7"], ["/etc/cdi"], ["CDI spec /etc/cdi/x.json: kind missing"])).toThrow(
      /unknown CDI device "vendor.example\/gpu=7": no spec in \/etc\/cdi defines it \(spec files left out: CDI spec \/etc\/cdi\/x.json: kind missing\)/,
    );
    expect(() => resolveCdiDevices([spec], ["gpu0"], ["/etc/cdi"])).toThrow(/"gpu0" is not fully qualified/);
  });
});
