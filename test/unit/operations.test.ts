import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildConfig, parseHostPort, parseTomlText } from "../../src/config/parse.js";
import { renderConfig } from "../../src/config/render.js";
import { restartOnlyChanges } from "../../src/daemon.js";

const parse = (toml: string) => buildConfig(parseTomlText(toml, "test.toml"));

describe("skiff config output", () => {
  it("reads back as the same configuration, defaults and custom values alike", () => {
    const custom = parse(`log_level = "warn"
conmon = "/usr/local/bin/conmon"
[runtime]
default_handler = "crun"
[runtime.handlers.kata]
path = "/opt/kata/bin/kata-runtime"
[registries."docker.io"]
mirrors = ["mirror.local:5000"]
[registries."reg.lan:5000"]
insecure = true
[streaming]
port = 10010
tls_cert_file = "/etc/skiff/s.crt"
tls_key_file = "/etc/skiff/s.key"
[metrics]
address = "127.0.0.1:9464"
`);
    for (const c of [parse(""), custom]) expect(buildConfig(parseTomlText(renderConfig(c), "rendered"))).toEqual(c);
  });
});

describe("metrics address", () => {
  it("is an IP and a port", () => {
    expect(parseHostPort("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseHostPort("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect([parseHostPort("localhost:1"), parseHostPort("127.0.0.1"), parseHostPort("1.2.3.4:70000")]).toEqual([undefined, undefined, undefined]);
    expect(parse(`[metrics]\naddress = "127.0.0.1:9464"`).metrics.address).toBe("127.0.0.1:9464");
    expect(() => parse(`[metrics]\naddress = "everywhere"`)).toThrow(/metrics\.address/);
  });
});

describe("SIGHUP reload", () => {
  it("names the changed keys it cannot apply without a restart", () => {
    const a = parse("");
    const b = parse(`log_level = "debug"\nshutdown_timeout = 3\n[registries."docker.io"]\nmirrors = ["m:5000"]\n[cni]\nbridge = "br9"`);
    expect(restartOnlyChanges(a, b)).toEqual(["shutdownTimeoutSeconds", "cni"]);
    expect(restartOnlyChanges(a, parse(""))).toEqual([]);
  });
});

describe("systemd unit", () => {
  it("waits for READY=1, reloads with SIGHUP and stops only the daemon, never the containers", () => {
    const unit = readFileSync(new URL("../../contrib/systemd/skiff.service", import.meta.url), "utf8");
    const settings = new Map(unit.split("\n").filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(settings.get("Type")).toBe("notify");
    expect(settings.get("ExecStart")).toMatch(/skiff daemon$/);
    expect(settings.get("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(settings.get("KillMode")).toBe("process");
    expect(settings.get("Delegate")).toBe("yes");
  });
});
