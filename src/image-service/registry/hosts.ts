// Which URLs serve a registry: its mirrors in order, then the registry itself.
// localhost and 127.0.0.0/8 speak plain http; registries marked insecure are
// tried over https without certificate checks, then plain http. Pure.

export interface RegistryHostConfig {
  mirrors: string[];
  insecure: boolean;
}

export interface Endpoint {
  /** scheme://host[:port], no trailing slash. */
  base: string;
  /** Accept any TLS certificate. */
  skipTlsVerify: boolean;
  mirror: boolean;
}

export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith("[") ? domain.slice(1, domain.indexOf("]")) : domain.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function endpointsOfHost(host: string, insecure: boolean, mirror: boolean): Endpoint[] {
  if (isLoopbackHost(host)) return [{ base: `http://${host}`, skipTlsVerify: false, mirror }];
  if (insecure) return [{ base: `https://${host}`, skipTlsVerify: true, mirror }, { base: `http://${host}`, skipTlsVerify: false, mirror }];
  return [{ base: `https://${host}`, skipTlsVerify: false, mirror }];
}

export function endpointsFor(domain: string, registries: Record<string, RegistryHostConfig>): Endpoint[] {
  const conf = registries[domain];
  const out: Endpoint[] = [];
  for (const m of conf?.mirrors ?? []) {
    const match = /^(https?):\/\/([^/]+)\/?$/.exec(m);
    if (match) out.push({ base: `${match[1]}://${match[2]}`, skipTlsVerify: !!registries[match[2]!]?.insecure, mirror: true });
    else out.push(...endpointsOfHost(m.replace(/\/+$/, ""), !!registries[m]?.insecure, true));
  }
  const upstream = domain === "docker.io" ? "registry-1.docker.io" : domain;
  out.push(...endpointsOfHost(upstream, !!conf?.insecure, false));
  return out;
}
