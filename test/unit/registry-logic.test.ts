import { describe, expect, it } from "vitest";
import { basicAuth, credentialsFromCri, parseChallenge } from "../../src/image-service/registry/auth.js";
import { endpointsFor, isLoopbackHost } from "../../src/image-service/registry/hosts.js";

describe("WWW-Authenticate", () => {
  it("parses bearer challenges with quoted and bare values", () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" },
    });
    expect(parseChallenge('basic realm="r"')).toEqual({ scheme: "basic", params: { realm: "r" } });
    expect(parseChallenge('Bearer realm=https://a/t, service="s\\"q"')?.params).toEqual({ realm: "https://a/t", service: 's"q' });
  });
  it("ignores unknown schemes and empty headers", () => {
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseChallenge("")).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe("CRI credentials", () => {
  it("decodes docker's base64 auth field and keeps tokens", () => {
    expect(credentialsFromCri({ auth: Buffer.from("u:p:with:colons").toString("base64") })).toEqual({ username: "u", password: "p:with:colons" });
    expect(credentialsFromCri({ username: "a", password: "b", auth: Buffer.from("x:y").toString("base64") })).toEqual({ username: "a", password: "b" });
    expect(credentialsFromCri({ identity_token: "id", registry_token: "rt" })).toEqual({ identityToken: "id", registryToken: "rt" });
    expect(credentialsFromCri({})).toBeUndefined();
    expect(credentialsFromCri(null)).toBeUndefined();
  });
  it("builds basic auth headers", () => {
    expect(basicAuth({ username: "u", password: "p" })).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    expect(basicAuth({ registryToken: "t" })).toBeUndefined();
  });
});

describe("registry endpoints", () => {
  it("speaks plain http to loopback registries only", () => {
    expect(isLoopbackHost("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("[::1]:5000")).toBe(true);
    expect(isLoopbackHost("10.0.0.1:5000")).toBe(false);
    expect(endpointsFor("127.0.0.1:5000", {})).toEqual([{ base: "http://127.0.0.1:5000", skipTlsVerify: false, mirror: false }]);
    expect(endpointsFor("quay.io", {})).toEqual([{ base: "https://quay.io", skipTlsVerify: false, mirror: false }]);
  });
  it("maps docker.io to its API host and tries mirrors first, in order", () => {
    expect(endpointsFor("docker.io", { "docker.io": { mirrors: ["mirror.local:5000", "http://other:80"], insecure: false } })).toEqual([
      { base: "https://mirror.local:5000", skipTlsVerify: false, mirror: true },
      { base: "http://other:80", skipTlsVerify: false, mirror: true },
      { base: "https://registry-1.docker.io", skipTlsVerify: false, mirror: false },
    ]);
  });
  it("tries insecure registries over unverified https, then http", () => {
    expect(endpointsFor("reg.lan:5000", { "reg.lan:5000": { mirrors: [], insecure: true } })).toEqual([
      { base: "https://reg.lan:5000", skipTlsVerify: true, mirror: false },
      { base: "http://reg.lan:5000", skipTlsVerify: false, mirror: false },
    ]);
  });
});
