// Reading CNI results (spec 0.3.x to 1.x, and 0.1/0.2's ip4/ip6). Pure.

export interface CniResultIps {
  /** IPv4 first (the pod's primary IP), then IPv6, without prefix lengths. */
  ips: string[];
}

export function ipsOfResult(result: unknown): string[] {
  const r = result as { ips?: { address?: string }[]; ip4?: { ip?: string }; ip6?: { ip?: string } } | null;
  const found: string[] = [];
  for (const entry of r?.ips ?? []) if (entry?.address) found.push(entry.address.split("/")[0]!);
  if (r?.ip4?.ip) found.push(r.ip4.ip.split("/")[0]!);
  if (r?.ip6?.ip) found.push(r.ip6.ip.split("/")[0]!);
  const v4 = found.filter((ip) => !ip.includes(":"));
  const v6 = found.filter((ip) => ip.includes(":"));
  return [...new Set([...v4, ...v6])];
}
