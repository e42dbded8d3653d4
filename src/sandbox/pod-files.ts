// Contents of the per-pod /etc/hostname, /etc/hosts and /etc/resolv.conf. Pure.

import type { DnsConfig } from "./types.js";

export function hostsFile(hostname: string, ips: string[]): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return `${lines.join("\n")}\n`;
}

/** The pod's DNS config, or the host's resolv.conf when the pod gives none. */
export function resolvConf(dns: DnsConfig | undefined, hostResolvConf: string): string {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) return hostResolvConf;
  const lines: string[] = [];
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.searches.length) lines.push(`search ${dns.searches.join(" ")}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}
