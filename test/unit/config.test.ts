import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError, parseTomlText } from "../../src/config/parse.js";

const parse = (toml: string, flags = {}) => buildConfig(parseTomlText(toml, "test.toml"), flags);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("fills every default from an empty file", () => {
    const c = parse("");
    expect(c.listen).toBe("/run/skiff/skiff.sock");
    expect(c.root).toBe("/var/lib/skiff");
    expect(c.containerRoot).toBe("/var/lib/skiff/containers");
    expect(parse(`container_root = "/srv/containers"`).containerRoot).toBe("/srv/containers");
    expect(c.state).toBe("/run/skiff");
    expect(c.logLevel).toBe("info");
    expect(c.grpcMaxMessageBytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(c.defaultRuntimeHandler).toBe("crun");
    expect(c.runtimeTimeoutSeconds).toBe(60);
    expect(c.runtimeSealedCopy).toBe(true);
    expect(parse(`[runtime]\nsealed_copy = false`).runtimeSealedCopy).toBe(false);
    expect(c.runtimeHandlers.runc).toEqual({ path: "runc", root: "/run/skiff/runc" });
    expect(c.runtimeHandlers.crun).toEqual({ path: "crun", root: "/run/skiff/crun" });
    expect(c.cni).toEqual({
      confDir: "/etc/cni/net.d",
      binDirs: ["/usr/lib/cni", "/opt/cni/bin"],
      builtinNetwork: true,
      bridge: "skiff0",
      podCidr: "10.85.0.0/16",
      timeoutSeconds: 60,
    });
  });

  it("reads the file and lets flags override it", () => {
    const c = parse(
      `listen = "/a/s.sock"\nroot = "/a/root"\nstate = "/a/state"\nlog_level = "warn"\n[cni]\npod_cidr = "10.99.0.0/24"\n`,
      { root: "/b/root", logLevel: "debug" },
    );
    expect(c.listen).toBe("/a/s.sock");
    expect(c.root).toBe("/b/root");
    expect(c.state).toBe("/a/state");
    expect(c.logLevel).toBe("debug");
    expect(c.cni.podCidr).toBe("10.99.0.0/24");
    // handler roots follow the state dir unless set
    expect(c.runtimeHandlers.runc!.root).toBe("/a/state/runc");
  });

  it("defaults to crun, not pinned (so that a host where crun cannot run falls back to runc)", () => {
    const c = parse("");
    expect([c.defaultRuntimeHandler, c.defaultRuntimeHandlerPinned]).toEqual(["crun", false]);
    expect(parse(`[runtime]\ndefault_handler = "crun"\n`).defaultRuntimeHandlerPinned).toBe(true);
  });

  it("accepts extra runtime handlers and a default handler among them", () => {
    const c = parse(`[runtime]\ndefault_handler = "kata"\n[runtime.handlers.kata]\npath = "/opt/kata/runtime"\n`);
    expect(c.defaultRuntimeHandler).toBe("kata");
    expect(c.defaultRuntimeHandlerPinned).toBe(true);
    expect(c.runtimeHandlers.kata).toEqual({ path: "/opt/kata/runtime", root: "/run/skiff/kata" });
  });

  it.each([
    [`listn = "/x"`, "listen typo", "listn"],
    [`[cni]\nconf_dirr = "/x"`, "nested typo", "cni.conf_dirr"],
    [`[runtime.handlers.runc]\npaht = "x"`, "handler typo", "runtime.handlers.runc.paht"],
    [`log_level = "loud"`, "bad level", "log_level"],
    [`root = "relative/dir"`, "relative path", "root"],
    [`shutdown_timeout = "10"`, "wrong type", "shutdown_timeout"],
    [`shutdown_timeout = -1`, "out of range", "shutdown_timeout"],
    [`grpc_max_message_size = 1024`, "below kubelet's 16 MiB", "grpc_max_message_size"],
    [`[cni]\npod_cidr = "10.0.0.0"`, "not a CIDR", "cni.pod_cidr"],
    [`[cni]\nbridge = "a-bridge-name-too-long"`, "bad ifname", "cni.bridge"],
    [`[cni]\nbin_dirs = "/usr/lib/cni"`, "not a list", "cni.bin_dirs"],
    [`[runtime]\ndefault_handler = "nope"`, "unknown handler", "runtime.default_handler"],
    [`[runtime]\ntimeout = 0`, "runtime deadline below 1 s", "runtime.timeout"],
    [`[runtime]\nsealed_copy = "yes"`, "not a boolean", "runtime.sealed_copy"],
    [`[cni]\ntimeout = 99999`, "CNI deadline over an hour", "cni.timeout"],
    [`cni = 3`, "scalar for a table", "cni"],
  ])("rejects %j (%s) naming the key", (toml, _why, key) => {
    const err = configError(() => parse(toml));
    expect(err.key).toBe(key);
    expect(err.message).toContain(key);
  });

  it("rejects a bad flag value naming the key and its origin", () => {
    const err = configError(() => parse("", { logLevel: "chatty" }));
    expect(err.key).toBe("log_level");
    expect(err.message).toContain("command line");
  });

  it("reports TOML syntax errors with the file name", () => {
    const err = configError(() => parse("listen = "));
    expect(err.message).toContain("test.toml is not valid TOML");
  });
});

describe("registry and image config", () => {
  it("reads per-registry mirrors and insecure flags, and image pull settings", () => {
    const c = parse(`[registries."docker.io"]\nmirrors = ["mirror.local:5000", "https://m2.example"]\n[registries."reg.lan:5000"]\ninsecure = true\n[image]\nstall_timeout = 5\nmax_concurrent_downloads = 8\n`);
    expect(c.registries).toEqual({
      "docker.io": { mirrors: ["mirror.local:5000", "https://m2.example"], insecure: false },
      "reg.lan:5000": { mirrors: [], insecure: true },
    });
    expect(c.image).toEqual({ requestTimeoutSeconds: 30, stallTimeoutSeconds: 5, maxConcurrentDownloads: 8, maxConcurrentUnpacks: 4 });
  });
  it("still takes unpack_workers, max_concurrent_unpacks' older name", () => {
    expect(parse(`[image]\nunpack_workers = 2\n`).image.maxConcurrentUnpacks).toBe(2);
    expect(parse(`[image]\nunpack_workers = 2\nmax_concurrent_unpacks = 6\n`).image.maxConcurrentUnpacks).toBe(6);
    expect(configError(() => parse(`[image]\nunpack_workers = 0\n`)).key).toBe("image.unpack_workers");
  });
  it.each([
    [`[registries."docker.io"]\nmirror = ["x"]`, 'registries.docker.io.mirror'],
    [`[registries."docker.io"]\nmirrors = ["ftp://x"]`, 'registries.docker.io.mirrors'],
    [`[image]\nstall_timeout = 0`, "image.stall_timeout"],
  ])("rejects %j naming the key", (toml, key) => {
    expect(configError(() => parse(toml)).key).toBe(key);
  });
});

describe("streaming config", () => {
  it("defaults to a free port on 127.0.0.1 with one-minute tokens, and reads TLS files in pairs", () => {
    expect(parse("").streaming).toEqual({ host: "127.0.0.1", port: 0, tlsCertFile: undefined, tlsKeyFile: undefined, tokenTtlSeconds: 60 });
    const c = parse(`[streaming]\nhost = "::1"\nport = 10010\ntls_cert_file = "/etc/skiff/tls.crt"\ntls_key_file = "/etc/skiff/tls.key"\ntoken_ttl = 30\n`);
    expect(c.streaming).toEqual({ host: "::1", port: 10010, tlsCertFile: "/etc/skiff/tls.crt", tlsKeyFile: "/etc/skiff/tls.key", tokenTtlSeconds: 30 });
  });
  it.each([
    [`[streaming]\nhost = "localhost"`, "streaming.host"],
    [`[streaming]\nport = 70000`, "streaming.port"],
    [`[streaming]\ntls_cert_file = "/etc/skiff/tls.crt"`, "streaming"],
    [`[streaming]\ntoken_ttl = 0`, "streaming.token_ttl"],
  ])("rejects %j naming the key", (toml, key) => {
    expect(configError(() => parse(toml)).key).toBe(key);
  });
});
