// CIDR parsing for pod subnets: pure, shared by config validation and
// UpdateRuntimeConfig.

import { isIPv4, isIPv6 } from "node:net";

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Parses "a.b.c.d/n" or "x::y/n"; returns undefined when it is not a CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (isIPv4(address) && prefix <= 32) return { address, prefix, family: 4 };
  if (isIPv6(address) && prefix <= 128) return { address, prefix, family: 6 };
  return undefined;
}
