import { describe, expect, it } from "vitest";
import { builtinNetwork, isCniConfigFileName, parseCniConfigFile, requiredPlugins } from "../../src/sandbox/cni/network-config.js";

describe("CNI network config", () => {
  it("recognises config file names as libcni does", () => {
    expect(isCniConfigFileName("10-bridge.conflist")).toBe(true);
    expect(isCniConfigFileName("99-loopback.conf")).toBe(true);
    expect(isCniConfigFileName("net.json")).toBe(true);
    expect(isCniConfigFileName("README.md")).toBe(false);
    expect(isCniConfigFileName(".hidden.conf")).toBe(false);
  });

  it("parses a conflist", () => {
    const net = parseCniConfigFile(
      "/etc/cni/net.d/10-a.conflist",
      JSON.stringify({ cniVersion: "1.0.0", name: "a", plugins: [{ type: "bridge", ipam: { type: "host-local" } }, { type: "portmap" }] }),
    );
    expect(net.name).toBe("a");
    expect(net.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(requiredPlugins(net).sort()).toEqual(["bridge", "host-local", "portmap"]);
  });

  it("wraps a single-plugin .conf into a list", () => {
    const net = parseCniConfigFile("/x/10-b.conf", JSON.stringify({ cniVersion: "0.4.0", name: "b", type: "ptp" }));
    expect(net.plugins).toHaveLength(1);
    expect(net.plugins[0]!.type).toBe("ptp");
  });

  it.each([
    ["not json", "{", "not valid JSON"],
    ["no name", JSON.stringify({ plugins: [{ type: "bridge" }] }), '"name" is missing'],
    ["empty plugins", JSON.stringify({ name: "x", plugins: [] }), "non-empty list"],
    ["plugin without type", JSON.stringify({ name: "x", plugins: [{}] }), 'needs a "type"'],
    ["path in type", JSON.stringify({ name: "x", plugins: [{ type: "../../bin/sh" }] }), 'needs a "type"'],
  ])("rejects %s with a reason naming the file", (_what, text, reason) => {
    expect(() => parseCniConfigFile("/x/1.conflist", text)).toThrow(new RegExp(`/x/1.conflist: .*${reason.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  });

  it("builds the built-in bridge network on the pod CIDR", () => {
    const net = builtinNetwork({ bridge: "skiff0", podCidr: "10.85.0.0/16", ipamDataDir: "/var/lib/skiff/network/ipam" });
    const bridge = net.plugins[0]!;
    expect(bridge.type).toBe("bridge");
    expect(bridge.bridge).toBe("skiff0");
    expect(bridge.ipam).toMatchObject({ type: "host-local", dataDir: "/var/lib/skiff/network/ipam", ranges: [[{ subnet: "10.85.0.0/16" }]] });
    expect(net.plugins[1]).toMatchObject({ type: "portmap", capabilities: { portMappings: true } });
    expect(requiredPlugins(net).sort()).toEqual(["bridge", "host-local", "portmap"]);
  });
});

describe("NAT leftovers of a vanished pod", () => {
  it("finds the rules and chains tagged with the pod's id, and nothing else", async () => {
    const { leftoversOf } = await import("../../src/sandbox/cni/nat-leftovers.js");
    const id = "a".repeat(64);
    const saved = [
      "*nat",
      ":CNI-b49721e0c130f44a3cb1ba38 - [0:0]",
      `-A POSTROUTING -s 10.231.9.2/32 -m comment --comment "name: \\"skiff\\" id: \\"${id}\\"" -j CNI-b49721e0c130f44a3cb1ba38`,
      `-A CNI-b49721e0c130f44a3cb1ba38 -d 10.231.9.0/24 -m comment --comment "name: \\"skiff\\" id: \\"${id}\\"" -j ACCEPT`,
      `-A POSTROUTING -s 10.231.9.3/32 -m comment --comment "name: \\"skiff\\" id: \\"${"b".repeat(64)}\\"" -j CNI-other`,
      "COMMIT",
    ].join("\n");
    const r = leftoversOf(saved, id);
    expect(r.chains).toEqual(["CNI-b49721e0c130f44a3cb1ba38"]);
    expect(r.rules).toHaveLength(2);
    expect(r.rules[0]).toEqual(["POSTROUTING", "-s", "10.231.9.2/32", "-m", "comment", "--comment", `name: "skiff" id: "${id}"`, "-j", "CNI-b49721e0c130f44a3cb1ba38"]);
  });
});
